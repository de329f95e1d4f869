package main

// FerretDB 1.24 authenticates (SCRAM, its experimental "new auth") but does not authorize: any
// authenticated user may read and write every database (FerretDB issue #174). A login of the
// local store must have rights on its own database only, as in compose, where each service's
// user has readWrite on poles_<service>. The proxy (atomic.go), which reads every request
// anyway, enforces it per connection:
//
//   - a connection is anonymous until FerretDB ends a SCRAM conversation with done and ok; it
//     is then the user named by the conversation's first message (n=<user>), with rights on the
//     database it authenticated against (saslStart's $db; speculativeAuthenticate's db);
//   - the user authenticated against "admin" (the scripts' and the tests' login) may do all;
//   - any other user may run commands whose $db is its own database, and the handshake;
//   - an anonymous connection may run the handshake only (hello, ping, saslStart, ...);
//   - a refused command gets MongoDB's answer: ok 0, code 13 (Unauthorized), and is not
//     forwarded; the connection stays open. A message the rule cannot read closes it.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/FerretDB/wire"
	"github.com/FerretDB/wire/wirebson"
)

const (
	opQuery    = 2004
	opReply    = 1
	adminDB    = "admin"
	codeUnauth = 13
)

// handshake are the commands any connection may run, whatever their $db: what a driver needs
// to connect, authenticate and close, and nothing that reads or writes data.
var handshake = map[string]bool{
	"hello": true, "isMaster": true, "ismaster": true, "ping": true, "buildInfo": true,
	"buildinfo": true, "saslStart": true, "saslContinue": true, "endSessions": true,
	"logout": true, "whatsmyuri": true, "connectionStatus": true,
}

// login is a user and the database it authenticated against (its rights).
type login struct {
	user, db string
}

// session is what the proxy knows of one client connection.
type session struct {
	current *login // nil while anonymous
	pending login  // the SCRAM conversation in progress
	inSASL  bool   // the request being answered is a step of that conversation
}

// command is what the rule reads of a request.
type command struct {
	name, db string
	doc      *wirebson.Document
}

// check reads a request and says whether it may be forwarded. A refusal is the reply to send
// instead (nil with an error: the message cannot be read, close the connection).
func (s *session) check(request []byte) (refusal []byte, err error) {
	cmd, err := readCommand(request)
	if err != nil {
		return nil, err
	}
	s.inSASL = cmd.name == "saslContinue"
	switch cmd.name {
	case "saslStart":
		s.inSASL = true
		s.current, s.pending = nil, login{user: scramUser(cmd.doc.Get("payload")), db: cmd.db}
	case "logout":
		s.current = nil
	case "hello", "isMaster", "ismaster":
		if spec, ok := cmd.doc.Get("speculativeAuthenticate").(wirebson.RawDocument); ok {
			if doc, err := spec.Decode(); err == nil {
				db, _ := doc.Get("db").(string)
				s.current, s.pending = nil, login{user: scramUser(doc.Get("payload")), db: db}
				s.inSASL = true
			}
		}
	}
	if s.allows(cmd) {
		return nil, nil
	}
	if binary.LittleEndian.Uint32(request[12:16]) != opMsg {
		return nil, fmt.Errorf("legacy %s refused", cmd.name)
	}
	who := "an anonymous connection"
	if s.current != nil {
		who = fmt.Sprintf("user %s@%s", s.current.user, s.current.db)
	}
	return unauthorized(request, fmt.Sprintf("not authorized on %s to execute command %s (%s)",
		cmd.db, cmd.name, who))
}

// allows is the rule itself.
func (s *session) allows(cmd command) bool {
	if handshake[cmd.name] {
		return true
	}
	return s.current != nil && (s.current.db == adminDB || s.current.db == cmd.db)
}

// observe reads a reply: a SCRAM conversation that FerretDB ends with done and ok
// authenticates the connection as the conversation's user.
func (s *session) observe(reply []byte) {
	if !s.inSASL || s.pending.user == "" {
		return
	}
	doc, err := replyDocument(reply)
	if err != nil || doc == nil {
		return
	}
	if done, _ := doc.Get("done").(bool); done && isOK(doc) {
		pending := s.pending
		s.current, s.pending = &pending, login{}
	}
}

func isOK(doc *wirebson.Document) bool {
	switch ok := doc.Get("ok").(type) {
	case float64:
		return ok == 1
	case int32:
		return ok == 1
	case int64:
		return ok == 1
	}
	return false
}

// scramUser is the user a SCRAM client-first message names: "n,,n=<user>,r=<nonce>", with
// "," and "=" in the name written =2C and =3D.
func scramUser(payload any) string {
	var b []byte
	switch p := payload.(type) {
	case wirebson.Binary:
		b = p.B
	case string:
		b = []byte(p)
	}
	for _, field := range bytes.Split(b, []byte(",")) {
		if name, ok := bytes.CutPrefix(field, []byte("n=")); ok {
			return strings.NewReplacer("=2C", ",", "=3D", "=").Replace(string(name))
		}
	}
	return ""
}

// readCommand reads a request's command name and database: an OP_MSG's body ($db), or a
// legacy OP_QUERY on <db>.$cmd (drivers open with one: hello, maybe with speculative auth).
func readCommand(msg []byte) (command, error) {
	body := msg[headerSize:]
	var raw wirebson.RawDocument
	var db string
	switch binary.LittleEndian.Uint32(msg[12:16]) {
	case opMsg:
		var m wire.OpMsg
		if err := m.UnmarshalBinaryNocopy(body); err != nil {
			return command{}, err
		}
		raw = m.RawSection0()
	case opQuery: // flags, "<db>.$cmd", skip, limit, the command's document
		if len(body) < 4 {
			return command{}, errors.New("short legacy query")
		}
		name, rest, _ := bytes.Cut(body[4:], []byte{0})
		var found bool
		if db, found = strings.CutSuffix(string(name), ".$cmd"); !found || len(rest) < 8+5 {
			return command{}, errors.New("legacy query refused")
		}
		size := int(binary.LittleEndian.Uint32(rest[8:12]))
		if size < 5 || 8+size > len(rest) {
			return command{}, errors.New("invalid legacy query")
		}
		raw = wirebson.RawDocument(rest[8 : 8+size])
	default:
		return command{}, fmt.Errorf("opcode %d refused", binary.LittleEndian.Uint32(msg[12:16]))
	}
	doc, err := raw.Decode()
	if err != nil {
		return command{}, err
	}
	if d, ok := doc.Get("$db").(string); ok {
		db = d
	}
	return command{name: doc.Command(), db: db, doc: doc}, nil
}

// replyDocument is a reply's document (OP_MSG body or OP_REPLY's first document).
func replyDocument(msg []byte) (*wirebson.Document, error) {
	var raw wirebson.RawDocument
	switch binary.LittleEndian.Uint32(msg[12:16]) {
	case opMsg:
		var m wire.OpMsg
		if err := m.UnmarshalBinaryNocopy(msg[headerSize:]); err != nil {
			return nil, err
		}
		raw = m.RawSection0()
	case opReply:
		var r wire.OpReply
		if err := r.UnmarshalBinaryNocopy(msg[headerSize:]); err != nil {
			return nil, err
		}
		raw = r.RawDocument()
	default:
		return nil, nil
	}
	if raw == nil {
		return nil, nil
	}
	doc, err := raw.Decode()
	if err != nil {
		return nil, err
	}
	// A speculative authentication answers inside hello's reply.
	if spec, ok := doc.Get("speculativeAuthenticate").(wirebson.RawDocument); ok {
		return spec.Decode()
	}
	return doc, nil
}

// unauthorized is MongoDB's refusal, as the reply to request.
func unauthorized(request []byte, errmsg string) ([]byte, error) {
	body, err := wire.MustOpMsg(
		"ok", float64(0), "errmsg", errmsg, "code", int32(codeUnauth), "codeName", "Unauthorized",
	).MarshalBinary()
	if err != nil {
		return nil, err
	}
	reply := make([]byte, headerSize, headerSize+len(body))
	binary.LittleEndian.PutUint32(reply[0:4], uint32(headerSize+len(body)))
	binary.LittleEndian.PutUint32(reply[8:12], binary.LittleEndian.Uint32(request[4:8]))
	binary.LittleEndian.PutUint32(reply[12:16], opMsg)
	return append(reply, body...), nil
}
