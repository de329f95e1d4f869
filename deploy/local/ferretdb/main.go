// Command ferretdb runs an embedded FerretDB 1.x (SQLite backend) for local development.
//
//	ferretdb -listen 127.0.0.1:27017 -data .local/ferretdb/data   # serve until SIGINT/SIGTERM
//	ferretdb -listen 127.0.0.1:27017 -ping                       # exit 0 if the server answers a MongoDB ping
package main

import (
	"context"
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
	"github.com/FerretDB/wire/wireclient"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (or to ping with -ping)")
	data := flag.String("data", ".local/ferretdb/data", "SQLite data directory (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	ping := flag.Bool("ping", false, "do not serve: send one MongoDB ping to -listen and exit 0 on success")
	timeout := flag.Duration("timeout", 2*time.Second, "timeout for -ping")
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

	fatal(serve(*listen, *data, logger))
}

func serve(listen, data string, logger *slog.Logger) error {
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
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: dir + "/"}).String(),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// In FerretDB 1.24, New already opened its listener, so clients may be accepted now.
	go (&atomicWrites{backend: socket, logger: logger}).serve(front)
	logger.Info("FerretDB listening", slog.String("address", listen), slog.String("data", dir))

	err = f.Run(ctx) // returns after ctx is cancelled and all connections are closed
	logger.Info("FerretDB stopped")
	return err
}

func pingServer(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	conn, err := wireclient.Connect(ctx, "mongodb://"+addr+"/", slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer conn.Close()

	return conn.Ping(ctx)
}

func fatal(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}
