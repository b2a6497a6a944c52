package hub_test

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/vmihailenco/msgpack/v5"
)

// frame builds [version, type, body] by hand, body as raw msgpack bytes.
func frame(version uint64, typ string, body []byte) []byte {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	_ = enc.EncodeArrayLen(3)
	_ = enc.EncodeUint(version)
	_ = enc.EncodeString(typ)
	b.Write(body)
	return b.Bytes()
}

// binBody wraps z as a msgpack bin, the form of a compressed body.
func binBody(z []byte) []byte {
	var b bytes.Buffer
	_ = msgpack.NewEncoder(&b).EncodeBytes(z)
	return b.Bytes()
}

func deflate(p []byte) []byte {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = w.Write(p)
	_ = w.Close()
	return z.Bytes()
}

// TestMalformedFrames sends frames no client should send, each on its own
// connection after hello: the server says bad_frame (or too_large) and
// closes that connection, and two other users keep syncing throughout.
func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	mallory, mtok := e.user("Mallory")
	bob, btok := e.user("Bob")
	carol, ctok := e.user("Carol")
	sp := e.space("Shared", server.KindGeneral, mallory, bob, carol)
	b := e.connect("bob", btok)
	c := e.connect("carol", ctok)
	checkSync(t, b, c, sp.ID)

	// A valid push frame to truncate.
	push := protocol.MustEncode(&protocol.Push{Batch: 1, Ops: []record.Op{b.op(sp.ID, "notes", map[string]any{"text": "hello there"})}})

	// A push whose ops array claims 2^31-1 elements in a few bytes.
	lying := frame(1, "push", []byte{0x82, 0xa1, 'b', 0x01, 0xa1, 'o', 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0})
	// A string header claiming 4 GiB.
	lyingStr := frame(1, "hello", []byte{0x81, 0xa1, 't', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'})

	cases := []struct {
		name string
		mt   int
		b    []byte
		code protocol.Code
	}{
		{"garbage", websocket.BinaryMessage, []byte("\xc1\xc1 this is not msgpack"), protocol.CodeBadFrame},
		{"empty", websocket.BinaryMessage, nil, protocol.CodeBadFrame},
		{"text frame", websocket.TextMessage, []byte(`{"type":"ping"}`), protocol.CodeBadFrame},
		{"text frame holding msgpack", websocket.TextMessage, protocol.MustEncode(&protocol.Ping{Time: 1}), protocol.CodeBadFrame},
		{"truncated", websocket.BinaryMessage, push[:len(push)/2], protocol.CodeBadFrame},
		{"trailing bytes", websocket.BinaryMessage, append(protocol.MustEncode(&protocol.Ping{Time: 1}), 0x01), protocol.CodeBadFrame},
		{"array length lies", websocket.BinaryMessage, lying, protocol.CodeBadFrame},
		{"string length lies", websocket.BinaryMessage, lyingStr, protocol.CodeBadFrame},
		{"not a 3-array", websocket.BinaryMessage, []byte{0x92, 0x01, 0xa4, 'p', 'i', 'n', 'g'}, protocol.CodeBadFrame},
		{"body of wrong shape", websocket.BinaryMessage, frame(1, "push", []byte{0xa3, 'a', 'b', 'c'}), protocol.CodeBadFrame},
		{"corrupt compressed body", websocket.BinaryMessage, frame(1, "push", binBody([]byte("\xff\xfe not deflate at all"))), protocol.CodeBadFrame},
		{"compression bomb", websocket.BinaryMessage, frame(1, "push", binBody(deflate(make([]byte, protocol.MaxInflatedBytes+1024)))), protocol.CodeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := e.connect("mallory", mtok)
			m.sendRaw(tc.mt, tc.b)
			m.expectFatal(tc.code)
			checkSync(t, b, c, sp.ID)
		})
	}

	t.Run("oversized frame", func(t *testing.T) {
		m := e.connect("mallory", mtok)
		big := frame(1, "ping", binBody(make([]byte, protocol.MaxFrameBytes)))
		if len(big) <= protocol.MaxFrameBytes {
			t.Fatalf("frame of %d bytes is not oversized", len(big))
		}
		// The server stops reading at the header, so the write may fail
		// halfway: write in the background and read the close meanwhile.
		go func() { _ = m.sendRawErr(websocket.BinaryMessage, big) }()
		msgs, code := m.readUntilClosed()
		if code != protocol.StatusOf(protocol.CodeTooLarge).Close {
			t.Errorf("close code %d, want %d (message too big)", code, protocol.StatusOf(protocol.CodeTooLarge).Close)
		}
		for _, msg := range msgs {
			if er, ok := msg.(*protocol.Error); ok && er.Code != protocol.CodeTooLarge {
				t.Errorf("error %s, want too_large", describe(er))
			}
		}
		checkSync(t, b, c, sp.ID)
	})

	t.Run("unknown type keeps the connection", func(t *testing.T) {
		m := e.connect("mallory", mtok)
		m.sendRaw(websocket.BinaryMessage, frame(1, "frobnicate", []byte{0x80}))
		msgs := m.until("an error", func(msg protocol.Message) bool { _, ok := msg.(*protocol.Error); return ok })
		er := msgs[len(msgs)-1].(*protocol.Error)
		if er.Code != protocol.CodeUnknownType || !strings.Contains(er.Message, "frobnicate") {
			t.Errorf("got %s, want unknown_type naming the type", describe(er))
		}
		m.ping() // still usable
		// A server-only message from a client is refused but not fatal.
		m.send(&protocol.Ack{Batch: 9})
		msgs = m.until("an error", func(msg protocol.Message) bool { _, ok := msg.(*protocol.Error); return ok })
		if er := msgs[len(msgs)-1].(*protocol.Error); er.Code != protocol.CodeBadRequest {
			t.Errorf("a client ack got %s, want bad_request", describe(er))
		}
		checkSync(t, m, b, sp.ID)
		checkSync(t, b, c, sp.ID)
	})
}

// TestCompressedHelloOfAnOlderClient: builds before the first-frame rule
// deflated a hello of 512 bytes or more (a user in about 15 plans); such a
// hello is still welcomed, so that no family on last month's app is locked
// out by the server's upgrade.
func TestCompressedHelloOfAnOlderClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	u, tok := e.user("Ana")
	sp := e.space("Plan", server.KindGeneral, u)
	c := e.dial("ana", nil)
	cursors := []protocol.Cursor{{Space: sp.ID, Seq: 0}}
	for range 30 { // spaces she no longer belongs to: ignored
		cursors = append(cursors, protocol.Cursor{Space: e.space("Gone", server.KindGeneral).ID, Seq: 3})
	}
	body, err := msgpack.Marshal(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: tok, Cursors: cursors})
	if err != nil {
		t.Fatal(err)
	}
	if len(body) < protocol.CompressAbove {
		t.Fatalf("hello body of %d bytes would not have been compressed", len(body))
	}
	c.sendRaw(websocket.BinaryMessage, frame(1, "hello", binBody(deflate(body))))
	if w, ok := c.next().(*protocol.Welcome); !ok || len(w.Spaces) != 1 {
		t.Fatalf("compressed hello not welcomed: %+v", w)
	}
}
