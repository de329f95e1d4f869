//go:build !poles_patched

package main

import (
	"errors"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// enableLogins needs embedded-auth.patch (see auth_patched.go).
func enableLogins(*ferretdb.Config, string, string, string) error {
	return errors.New("-logins needs a build with the patches (deploy/local/ferretdb.sh install)")
}
