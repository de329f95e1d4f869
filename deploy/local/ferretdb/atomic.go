package main

// FerretDB 1.24 on SQLite runs an update as "find the matching documents, then write them back
// by _id" without holding a lock in between. Two concurrent conditional updates
// ({"_id": x, "version": 3} -> version 4) can therefore both match and both write: the second
// silently overwrites the first, which breaks the single-document atomicity that MongoDB gives
// and that the platform's optimistic concurrency and outbox rely on (measured: 25 concurrent
// guarded increments left the counter at 7).
//
// atomicWrites restores it in front of FerretDB: clients connect here; every write command is
// forwarded only when no other write is in flight and the lock is released when FerretDB has
// answered it. Reads pass through concurrently. The wire protocol is otherwise untouched.
// (An earlier version forwarded replies on a second goroutine and released the lock there; a
// connection whose two sides ended in the wrong order could keep the lock for ever, which froze
// every write during the chaos run.)

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

const (
	headerSize = 16
	opMsg      = 2013
	maxMessage = 48 << 20
	// replyTimeout bounds how long a request may wait for FerretDB's reply (and a write hold
	// the lock); a connection that exceeds it is closed.
	replyTimeout = 2 * time.Minute
)

// writeCommands are the commands that change data or metadata.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true,
	"create": true, "drop": true, "dropDatabase": true, "createIndexes": true,
	"dropIndexes": true, "renameCollection": true, "collMod": true,
}

type atomicWrites struct {
	backend string // FerretDB's own listener (a Unix socket)
	logins  bool   // enforce each login's rights (logins.go)
	lock    sync.Mutex
	logger  *slog.Logger
}

func (a *atomicWrites) serve(front net.Listener) {
	for {
		client, err := front.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				a.logger.Error("accept", slog.Any("error", err))
			}
			return
		}
		go a.relay(client)
	}
}

// relay forwards one client connection. Drivers send one request on a connection and wait for
// its reply before the next, so a single loop forwards the request, then the replies up to the
// one that answers it; a write holds the lock for exactly that span, released on every path.
func (a *atomicWrites) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("unix", a.backend)
	if err != nil {
		a.logger.Error("backend", slog.Any("error", err))
		return
	}
	defer server.Close()

	var login *session
	if a.logins {
		login = &session{}
	}
	for {
		request, err := readMessage(client)
		if err != nil {
			return
		}
		if err = a.exchange(client, server, request, login); err != nil {
			return
		}
	}
}

// exchange forwards one request and every reply to it (several while the server sets
// moreToCome), holding the write lock around a write command. With logins, a request the
// connection's login may not run is answered here and never reaches FerretDB.
func (a *atomicWrites) exchange(client, server net.Conn, request []byte, login *session) error {
	if login != nil {
		refusal, err := login.check(request)
		if err != nil {
			return err
		}
		if refusal != nil {
			if moreToCome(request) {
				return nil
			}
			_, err = client.Write(refusal)
			return err
		}
	}
	if isWrite(request) {
		a.lock.Lock()
		defer a.lock.Unlock()
	}
	if _, err := server.Write(request); err != nil {
		return err
	}
	if moreToCome(request) { // the client expects no reply
		return nil
	}
	id := binary.LittleEndian.Uint32(request[4:8])
	for {
		if err := server.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
			return err
		}
		reply, err := readMessage(server)
		if err != nil {
			return err
		}
		if login != nil {
			login.observe(reply)
		}
		if _, err = client.Write(reply); err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(reply[8:12]) == id && !moreToCome(reply) {
			return nil
		}
	}
}

// moreToCome tells whether an OP_MSG has the moreToCome flag (bit 1 of its flag bits).
func moreToCome(msg []byte) bool {
	return binary.LittleEndian.Uint32(msg[12:16]) == opMsg && len(msg) >= headerSize+4 &&
		binary.LittleEndian.Uint32(msg[headerSize:headerSize+4])&2 != 0
}

// readMessage reads one whole wire-protocol message (header included).
func readMessage(r io.Reader) ([]byte, error) {
	header := make([]byte, headerSize)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, err
	}
	length := int(binary.LittleEndian.Uint32(header[0:4]))
	if length < headerSize || length > maxMessage {
		return nil, errors.New("invalid message length")
	}
	msg := make([]byte, length)
	copy(msg, header)
	_, err := io.ReadFull(r, msg[headerSize:])
	return msg, err
}

// isWrite tells whether an OP_MSG carries a write command: the command's name is the first
// element of the body section (kind 0) that follows the flag bits.
func isWrite(msg []byte) bool {
	if binary.LittleEndian.Uint32(msg[12:16]) != opMsg || len(msg) < headerSize+4+1+4+2 {
		return false
	}
	section := msg[headerSize+4:]
	if section[0] != 0 {
		return false
	}
	name := section[1+4+1:] // kind, document length, element type
	end := 0
	for end < len(name) && name[end] != 0 {
		end++
	}
	return writeCommands[string(name[:end])]
}
