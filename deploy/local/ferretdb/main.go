// Command ferretdb runs an embedded FerretDB 1.x (SQLite backend) for local development.
//
//	ferretdb -listen 127.0.0.1:27017 -data .local/ferretdb/data   # serve until SIGINT/SIGTERM
//	ferretdb -listen 127.0.0.1:27017 -ping                       # exit 0 if the server answers a MongoDB ping
//	ferretdb ... -logins                                         # SCRAM logins, each with rights on its database
//	ferretdb -listen 127.0.0.1:27017 -ensure-logins calls@poles_calls,...  # create or update them
//
// With -logins, the admin login is root (database admin; password: $MONGO_ROOT_PASSWORD), made
// on first start; -ensure-logins logs in as root and gives each user@database the password
// $MONGO_<USER>_PASSWORD (created if missing, updated otherwise). See logins.go for the rights.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/FerretDB/wire"
	"github.com/FerretDB/wire/wirebson"
	"github.com/FerretDB/wire/wireclient"
)

const (
	rootUser             = "root" // as compose's MONGO_INITDB_ROOT_USERNAME
	rootPasswordVariable = "MONGO_ROOT_PASSWORD"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (or to ping with -ping)")
	data := flag.String("data", ".local/ferretdb/data", "SQLite data directory (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	ping := flag.Bool("ping", false, "do not serve: send one MongoDB ping to -listen and exit 0 on success")
	timeout := flag.Duration("timeout", 2*time.Second, "timeout for -ping and -ensure-logins")
	logins := flag.Bool("logins", false, "require SCRAM logins and enforce each one's database")
	ensure := flag.String("ensure-logins", "", "do not serve: create or update user@db,... and exit")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if *ping {
		fatal(pingServer(*listen, *timeout))
		return
	}

	if *ensure != "" {
		fatal(ensureLogins(*listen, strings.Split(*ensure, ","), *timeout))
		return
	}

	fatal(serve(*listen, *data, *logins, logger))
}

func serve(listen, data string, logins bool, logger *slog.Logger) error {
	dir, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// Clients reach FerretDB through atomicWrites (atomic.go), which serializes write commands.
	// A short path: a Unix socket's path is limited to about 100 bytes, and a clone's may be long.
	socket := filepath.Join(os.TempDir(), "poles-ferretdb-"+strings.ReplaceAll(listen, ":", "-")+".sock")
	_ = os.Remove(socket)
	front, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	defer front.Close()

	// The embedded package never starts the telemetry reporter and marks telemetry as disabled.
	config := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: dir + "/"}).String(),
	}
	if logins {
		password := os.Getenv(rootPasswordVariable)
		if password == "" {
			return errors.New("-logins needs $" + rootPasswordVariable)
		}
		if err = enableLogins(config, rootUser, adminDB, password); err != nil {
			return err
		}
	}
	f, err := ferretdb.New(config)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// In FerretDB 1.24, New already opened its listener, so clients may be accepted now.
	go (&atomicWrites{backend: socket, logins: logins, logger: logger}).serve(front)
	logger.Info("FerretDB listening", slog.String("address", listen), slog.String("data", dir),
		slog.Bool("logins", logins))

	err = f.Run(ctx) // returns after ctx is cancelled and all connections are closed
	logger.Info("FerretDB stopped")
	return err
}

func pingServer(addr string, timeout time.Duration) error {
	return withConn(addr, timeout, func(ctx context.Context, conn *wireclient.Conn) error {
		return conn.Ping(ctx)
	})
}

// withConn runs f on a new connection to addr, both bounded by timeout.
func withConn(addr string, timeout time.Duration, f func(context.Context, *wireclient.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	conn, err := wireclient.Connect(ctx, "mongodb://"+addr+"/", slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer conn.Close()

	return f(ctx, conn)
}

// ensureLogins logs in as root and gives each user@database its password from the environment.
func ensureLogins(addr string, logins []string, timeout time.Duration) error {
	return withConn(addr, timeout, func(ctx context.Context, conn *wireclient.Conn) error {
		return setLogins(ctx, conn, logins)
	})
}

func setLogins(ctx context.Context, conn *wireclient.Conn, logins []string) error {
	if err := conn.Login(ctx, rootUser, os.Getenv(rootPasswordVariable), adminDB); err != nil {
		return fmt.Errorf("root login: %w", err)
	}
	for _, pair := range logins {
		user, db, ok := strings.Cut(pair, "@")
		variable := "MONGO_" + strings.ToUpper(user) + "_PASSWORD"
		password := os.Getenv(variable)
		if !ok || password == "" {
			return fmt.Errorf("%q: want user@database and $%s", pair, variable)
		}
		users, err := run(ctx, conn, "usersInfo", user, "$db", db)
		if err != nil {
			return err
		}
		if exists(users.Get("users")) {
			_, err = run(ctx, conn, "updateUser", user, "pwd", password, "$db", db)
		} else {
			_, err = run(ctx, conn, "createUser", user, "pwd", password, "roles", wirebson.MakeArray(0), "$db", db)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// exists tells whether usersInfo's "users" lists someone.
func exists(users any) bool {
	raw, _ := users.(wirebson.RawArray)
	list, err := raw.Decode()
	return err == nil && list.Len() > 0
}

// run sends one command and fails unless its answer is ok.
func run(ctx context.Context, conn *wireclient.Conn, pairs ...any) (*wirebson.Document, error) {
	_, body, err := conn.Request(ctx, wire.MustOpMsg(pairs...))
	if err != nil {
		return nil, err
	}
	raw, err := body.(*wire.OpMsg).RawDocument()
	if err != nil {
		return nil, err
	}
	doc, err := raw.Decode()
	if err != nil {
		return nil, err
	}
	if !isOK(doc) {
		return nil, fmt.Errorf("%s on %v: %v", pairs[0], doc.Get("$db"), doc.Get("errmsg"))
	}
	return doc, nil
}

func fatal(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}
