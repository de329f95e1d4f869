package main

import (
	"encoding/binary"
	"testing"

	"github.com/FerretDB/wire"
	"github.com/FerretDB/wire/wirebson"
)

// message frames a body as a wire message with the given opcode.
func message(t *testing.T, opcode uint32, body []byte) []byte {
	t.Helper()
	msg := make([]byte, headerSize, headerSize+len(body))
	binary.LittleEndian.PutUint32(msg[0:4], uint32(headerSize+len(body)))
	binary.LittleEndian.PutUint32(msg[4:8], 42)
	binary.LittleEndian.PutUint32(msg[12:16], opcode)
	return append(msg, body...)
}

func request(t *testing.T, pairs ...any) []byte {
	t.Helper()
	body, err := wire.MustOpMsg(pairs...).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return message(t, opMsg, body)
}

// legacyHello is a driver's first message: OP_QUERY hello on admin.$cmd, with a speculative
// SCRAM start for user on db.
func legacyHello(t *testing.T, user, db string) []byte {
	t.Helper()
	spec := wirebson.MustDocument("saslStart", int32(1), "mechanism", "SCRAM-SHA-256",
		"payload", wirebson.Binary{B: []byte("n,,n=" + user + ",r=abc")}, "db", db)
	query, err := wirebson.MustDocument("isMaster", int32(1), "speculativeAuthenticate", spec).Encode()
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{0, 0, 0, 0}, []byte("admin.$cmd\x00")...)
	body = append(body, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)
	return message(t, opQuery, append(body, query...))
}

func legacyReply(t *testing.T, pairs ...any) []byte {
	t.Helper()
	doc, err := wirebson.MustDocument(pairs...).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return message(t, opReply, append(make([]byte, 20), doc...))
}

func payload(s string) wirebson.Binary { return wirebson.Binary{B: []byte(s)} }

// authenticate runs a whole SCRAM conversation for user on db, FerretDB ending it with ok.
func authenticate(t *testing.T, s *session, user, db string) {
	t.Helper()
	mustPass(t, s, request(t, "saslStart", int32(1), "mechanism", "SCRAM-SHA-256",
		"payload", payload("n,,n="+user+",r=abc"), "$db", db))
	s.observe(request(t, "conversationId", int32(1), "done", false, "payload", payload("r=x"), "ok", 1.0))
	mustPass(t, s, request(t, "saslContinue", int32(1), "payload", payload("c=biws"), "$db", db))
	s.observe(request(t, "conversationId", int32(1), "done", true, "payload", payload("v=x"), "ok", 1.0))
}

func mustPass(t *testing.T, s *session, request []byte) {
	t.Helper()
	refusal, err := s.check(request)
	if err != nil || refusal != nil {
		t.Fatalf("refused (%v): %x", err, refusal)
	}
}

func mustRefuse(t *testing.T, s *session, request []byte) {
	t.Helper()
	refusal, err := s.check(request)
	if err != nil {
		t.Fatal(err)
	}
	if refusal == nil {
		t.Fatal("forwarded, want refused")
	}
	if to := binary.LittleEndian.Uint32(refusal[8:12]); to != 42 {
		t.Fatalf("responseTo %d, want 42", to)
	}
	var reply wire.OpMsg
	if err = reply.UnmarshalBinaryNocopy(refusal[headerSize:]); err != nil {
		t.Fatal(err)
	}
	doc, err := reply.RawSection0().Decode()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Get("ok") != 0.0 || doc.Get("code") != int32(13) || doc.Get("codeName") != "Unauthorized" {
		t.Fatalf("refusal %v", doc)
	}
}

func find(t *testing.T, db string) []byte {
	return request(t, "find", "dossiers", "filter", wirebson.MustDocument(), "$db", db)
}

func TestAnonymousGetsTheHandshakeOnly(t *testing.T) {
	s := &session{}
	mustPass(t, s, request(t, "hello", int32(1), "$db", "admin"))
	mustPass(t, s, request(t, "ping", int32(1), "$db", "test"))
	mustRefuse(t, s, find(t, "poles_calls"))
	mustRefuse(t, s, request(t, "listDatabases", int32(1), "$db", "admin"))
	mustRefuse(t, s, request(t, "insert", "x", "$db", "admin"))
}

func TestServiceLoginHasItsOwnDatabaseOnly(t *testing.T) {
	s := &session{}
	authenticate(t, s, "calls", "poles_calls")
	mustPass(t, s, find(t, "poles_calls"))
	mustPass(t, s, request(t, "insert", "dossiers", "$db", "poles_calls"))
	mustPass(t, s, request(t, "endSessions", wirebson.MakeArray(0), "$db", "admin"))
	mustRefuse(t, s, find(t, "poles_funding"))
	mustRefuse(t, s, request(t, "listDatabases", int32(1), "$db", "admin"))
	mustRefuse(t, s, request(t, "createUser", "x", "pwd", "x", "roles", wirebson.MakeArray(0), "$db", "admin"))
}

func TestAdminLoginMayDoAll(t *testing.T) {
	s := &session{}
	authenticate(t, s, "root", "admin")
	mustPass(t, s, find(t, "poles_funding"))
	mustPass(t, s, request(t, "dropDatabase", int32(1), "$db", "poles_notify"))
}

func TestFailedOrUnfinishedConversationStaysAnonymous(t *testing.T) {
	s := &session{}
	mustPass(t, s, request(t, "saslStart", int32(1), "payload", payload("n,,n=root,r=abc"), "$db", "admin"))
	s.observe(request(t, "ok", 0.0, "errmsg", "Authentication failed", "code", int32(18)))
	mustRefuse(t, s, find(t, "poles_calls"))

	// a "done" in any reply but a SASL step's authenticates nobody
	mustPass(t, s, request(t, "saslStart", int32(1), "payload", payload("n,,n=root,r=abc"), "$db", "admin"))
	s.observe(request(t, "conversationId", int32(1), "done", false, "ok", 1.0))
	mustRefuse(t, s, find(t, "admin"))
	s.observe(request(t, "done", true, "ok", 1.0))
	mustRefuse(t, s, find(t, "poles_calls"))
}

func TestNewConversationDropsThePreviousLogin(t *testing.T) {
	s := &session{}
	authenticate(t, s, "root", "admin")
	mustPass(t, s, request(t, "saslStart", int32(1), "payload", payload("n,,n=calls,r=abc"), "$db", "poles_calls"))
	mustRefuse(t, s, find(t, "poles_funding"))
	mustPass(t, s, request(t, "logout", int32(1), "$db", "admin"))
	mustRefuse(t, s, find(t, "poles_calls"))
}

func TestSpeculativeAuthenticationInTheLegacyHandshake(t *testing.T) {
	s := &session{}
	mustPass(t, s, legacyHello(t, "funding", "poles_funding"))
	s.observe(legacyReply(t, "ismaster", true, "speculativeAuthenticate",
		wirebson.MustDocument("conversationId", int32(1), "done", false, "payload", payload("r=x")), "ok", 1.0))
	mustRefuse(t, s, find(t, "poles_funding"))
	mustPass(t, s, request(t, "saslContinue", int32(1), "payload", payload("c=biws"), "$db", "poles_funding"))
	s.observe(request(t, "conversationId", int32(1), "done", true, "ok", 1.0))
	mustPass(t, s, find(t, "poles_funding"))
	mustRefuse(t, s, find(t, "poles_calls"))
}

func TestUnreadableOrLegacyRequestsCloseTheConnection(t *testing.T) {
	s := &session{}
	if _, err := s.check(message(t, 2012, []byte{1, 2, 3, 4})); err == nil { // OP_COMPRESSED
		t.Fatal("compressed message forwarded")
	}
	authenticate(t, s, "calls", "poles_calls")
	query := append([]byte{0, 0, 0, 0}, []byte("poles_funding.dossiers\x00")...)
	if _, err := s.check(message(t, opQuery, append(query, make([]byte, 13)...))); err == nil {
		t.Fatal("legacy find forwarded")
	}
}

func TestSCRAMUserName(t *testing.T) {
	if got := scramUser(payload("n,,n=a=2Cb=3Dc,r=xyz")); got != "a,b=c" {
		t.Fatalf("got %q", got)
	}
}
