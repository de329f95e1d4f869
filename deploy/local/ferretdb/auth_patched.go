//go:build poles_patched

package main

import "github.com/FerretDB/FerretDB/ferretdb"

// enableLogins turns on FerretDB's SCRAM authentication, with user@db made on first start.
// Config.Auth comes from embedded-auth.patch: deploy/local/ferretdb.sh builds with the patches
// applied and the tag poles_patched; a plain `go test` builds against the unpatched module.
func enableLogins(config *ferretdb.Config, user, db, password string) error {
	config.Auth = ferretdb.Auth{Enabled: true, SetupDatabase: db, SetupUsername: user, SetupPassword: password}
	return nil
}
