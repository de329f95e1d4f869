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

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
)

const (
	headerSize = 16
	opMsg      = 2013
	maxMessage = 48 << 20
)

// writeCommands are the commands that change data or metadata.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true,
	"create": true, "drop": true, "dropDatabase": true, "createIndexes": true,
	"dropIndexes": true, "renameCollection": true, "collMod": true,
}

type atomicWrites struct {
	backend string // FerretDB's own listener (a Unix socket)
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

// relay forwards one client connection; a write request holds the lock until its reply passes.
func (a *atomicWrites) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("unix", a.backend)
	if err != nil {
		a.logger.Error("backend", slog.Any("error", err))
		return
	}
	defer server.Close()

	pending := make(chan int32, 1) // request id of the write awaiting its reply
	done := make(chan struct{})
	go func() { // replies: server -> client
		defer close(done)
		defer client.Close()
		for {
			msg, err := readMessage(server)
			if err != nil {
				a.releaseIfPending(pending)
				return
			}
			if _, err = client.Write(msg); err != nil {
				a.releaseIfPending(pending)
				return
			}
			select {
			case id := <-pending:
				if int32(binary.LittleEndian.Uint32(msg[8:12])) == id {
					a.lock.Unlock()
				} else {
					pending <- id
				}
			default:
			}
		}
	}()

	for { // requests: client -> server
		msg, err := readMessage(client)
		if err != nil {
			break
		}
		if isWrite(msg) {
			a.lock.Lock()
			pending <- int32(binary.LittleEndian.Uint32(msg[4:8]))
		}
		if _, err = server.Write(msg); err != nil {
			break
		}
	}
	server.Close()
	<-done
}

func (a *atomicWrites) releaseIfPending(pending chan int32) {
	select {
	case <-pending:
		a.lock.Unlock()
	default:
	}
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
