package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/vmihailenco/msgpack/v5"
)

// wait bounds every read and close the hostile tests wait for.
const wait = 15 * time.Second

// raw is a hostile client: a bare socket that sends whatever the test
// says. (server/hub's tests have a fuller raw client that checks the
// Changes chain; this one only needs acks, errors and the close.)
type raw struct {
	t     testing.TB
	name  string
	ws    *websocket.Conn
	id    uuid.UUID
	user  uuid.UUID
	clock *hlc.Clock
	batch uint64
}

func dialRaw(t testing.TB, w *World, name, token string) *raw {
	t.Helper()
	ws, _, err := (&websocket.Dialer{HandshakeTimeout: wait}).Dial(w.URL(), nil)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	r := &raw{t: t, name: name, ws: ws, id: uuid.Must(uuid.NewV7()), clock: hlc.NewClock(nil, 0)}
	r.send(&protocol.Hello{Protocol: protocol.Version, Client: r.id, Token: token})
	m, err := r.read()
	if err != nil {
		t.Fatalf("%s: hello: %v", name, err)
	}
	wl, ok := m.(*protocol.Welcome)
	if !ok {
		t.Fatalf("%s: hello answered with %s", name, m.Type())
	}
	r.user = wl.User
	return r
}

func (r *raw) sendErr(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	return r.sendBytes(b)
}

func (r *raw) sendBytes(b []byte) error {
	_ = r.ws.SetWriteDeadline(time.Now().Add(wait))
	return r.ws.WriteMessage(websocket.BinaryMessage, b)
}

func (r *raw) send(m protocol.Message) {
	r.t.Helper()
	if err := r.sendErr(m); err != nil {
		r.t.Fatalf("%s: send %s: %v", r.name, m.Type(), err)
	}
}

func (r *raw) read() (protocol.Message, error) {
	_ = r.ws.SetReadDeadline(time.Now().Add(wait))
	_, b, err := r.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	return protocol.Decode(b)
}

// op builds an op creating a record with fields.
func (r *raw) op(space uuid.UUID, coll string, fields map[string]any) record.Op {
	op := record.Op{Space: space, Collection: coll, ID: uuid.Must(uuid.NewV7()), HLC: r.clock.Now()}
	for _, n := range keysOf(fields) {
		op.Writes = append(op.Writes, record.Write{Name: n, Value: fields[n]})
	}
	return op
}

// push sends ops and returns the ack, skipping the Changes on the way; a
// fatal error fails the test.
func (r *raw) push(ops ...record.Op) *protocol.Ack {
	r.t.Helper()
	r.batch++
	r.send(&protocol.Push{Batch: r.batch, Ops: ops})
	for {
		m, err := r.read()
		if err != nil {
			r.t.Fatalf("%s: waiting for ack %d: %v", r.name, r.batch, err)
		}
		switch m := m.(type) {
		case *protocol.Ack:
			if m.Batch == r.batch {
				return m
			}
		case *protocol.Error:
			if m.Batch == 0 {
				r.t.Fatalf("%s: error while waiting for ack: %s", r.name, m)
			}
		}
	}
}

// alive proves the connection still works: a ping comes back.
func (r *raw) alive() {
	r.t.Helper()
	tm := time.Now().UnixNano()
	r.send(&protocol.Ping{Time: tm})
	for {
		m, err := r.read()
		if err != nil {
			r.t.Fatalf("%s: connection lost after a per-op refusal: %v", r.name, err)
		}
		if p, ok := m.(*protocol.Pong); ok && p.Time == tm {
			return
		}
	}
}

// closed reads until the connection ends and returns the error frames read
// and the close code (1006 when it closed without a close frame).
func (r *raw) closed() ([]*protocol.Error, int) {
	r.t.Helper()
	var errs []*protocol.Error
	deadline := time.Now().Add(wait)
	for {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: connection still open after %v", r.name, wait)
		}
		m, err := r.read()
		if err == nil {
			if e, ok := m.(*protocol.Error); ok {
				errs = append(errs, e)
			}
			continue
		}
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce):
			return errs, ce.Code
		case errors.As(err, &ne) && ne.Timeout():
			r.t.Fatalf("%s: connection still open after %v", r.name, wait)
		case errors.As(err, new(*protocol.Error)):
			continue // a frame that does not decode; keep reading
		}
		return errs, websocket.CloseAbnormalClosure
	}
}

// expectFatal reads until the close and checks it says code.
func (r *raw) expectFatal(code protocol.Code) {
	r.t.Helper()
	errs, cc := r.closed()
	if len(errs) == 0 || errs[len(errs)-1].Code != code {
		r.t.Errorf("%s: closed (%d) with errors %v, want %s", r.name, cc, errs, code)
	}
	if want := protocol.StatusOf(code).Close; cc != want && cc != websocket.CloseAbnormalClosure {
		r.t.Errorf("%s: close code %d, want %d", r.name, cc, want)
	}
}

// result checks one op's result: refused with code and a message naming
// what, or committed when code is "".
func result(t testing.TB, what string, r protocol.Result, code protocol.Code, mention string) {
	t.Helper()
	switch {
	case code == "" && (r.Code != "" || r.Seq == 0):
		t.Errorf("%s: %+v, want committed", what, r)
	case code != "" && (r.Code != code || r.Seq != 0 || !strings.Contains(r.Message, mention)):
		t.Errorf("%s: %+v, want %s naming %q", what, r, code, mention)
	}
}

// hostileWorld is a server with engine users 0..2, Mallory (user 3) and
// Max (user 4) in the shared space, a space Mallory does not belong to, and
// a space where Max and the engines write heavily.
type hostileWorld struct {
	*World
	engines []*Client
	private *server.Space
	heavy   *server.Space
	stop    chan struct{}
	wg      sync.WaitGroup
	ctx     context.Context
}

func newHostileWorld(t *testing.T, opts hub.Options) *hostileWorld {
	t.Helper()
	ctx := context.Background()
	rng := seeded(t)
	w, err := NewWorld(ctx, t.TempDir(), Config{Users: 5, Hub: opts, Rand: rng})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	hw := &hostileWorld{World: w, stop: make(chan struct{}), ctx: ctx}
	hw.private, err = app.AddSpace(ctx, w.App.Store, "private", server.KindGeneral)
	if err == nil {
		err = app.AddMember(ctx, w.App.Store, hw.private.ID, w.Users[0], server.RoleTeacher)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The slow reader's space: the engines and Max (user 4), not Mallory,
	// whose other sockets would be cut as slow too while they write.
	hw.heavy, err = app.AddSpace(ctx, w.App.Store, "heavy", server.KindGeneral)
	for _, u := range []int{0, 1, 2, 4} {
		if err == nil {
			err = app.AddMember(ctx, w.App.Store, hw.heavy.ID, w.Users[u], server.RoleTeacher)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c, err := w.NewClient(ctx, fmt.Sprintf("engine%d", i), ClientOptions{User: i})
		if err != nil {
			t.Fatal(err)
		}
		hw.engines = append(hw.engines, c)
	}
	// The engines edit every 20 ms (fifty edits a second each, far faster
	// than people type) until the test is done with Mallory, at most 500
	// edits each so that a slow run stays bounded.
	for _, c := range hw.engines {
		r := fork(rng)
		hw.wg.Go(func() {
			for i := range 500 {
				select {
				case <-hw.stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := c.Create(ctx, "notes", map[string]any{"title": fmt.Sprintf("%s %d", c.Name, i), "text": text(r, 300)}); err != nil {
					t.Errorf("%s: %v", c.Name, err)
					return
				}
			}
		})
	}
	return hw
}

// converge stops the engines' editing and proves they kept syncing: every
// record they made is on the server and in every engine's view.
func (hw *hostileWorld) converge(t *testing.T) {
	t.Helper()
	close(hw.stop)
	hw.wg.Wait()
	ctx, cancel := context.WithTimeout(hw.ctx, converged)
	defer cancel()
	if err := hw.Converge(ctx, hw.engines...); err != nil {
		t.Fatal(err)
	}
	var dials int64
	for _, c := range hw.engines {
		dials += c.Dials()
	}
	if dials != int64(len(hw.engines)) {
		t.Errorf("the engines dialed %d times, want once each: the attacks cut them off (slow_consumer cuts %v, rate_limited %v)",
			dials, counter(hw.World, string(protocol.CodeSlowConsumer)), counter(hw.World, string(protocol.CodeRateLimited)))
	}
	t.Logf("%d records made by %d engines during the attacks, all converged", hw.Written(), len(hw.engines))
}

// TestHostileClientsWhileEnginesSync: Mallory, a member of the space,
// attacks the server on many sockets at once while three real engines edit
// the same space without pause. Each attack gets a clear per-op error or a
// disconnect with a named reason, and the engines never notice: they are
// never disconnected and converge with nothing lost.
//
// Covered elsewhere and not repeated here: malformed frames of every kind
// and the exact close code of an oversized frame (hub TestMalformedFrames),
// a flood at tiny rate limits (hub TestRateLimit), ops for a foreign space
// in detail (hub TestMembership), invalid UTF-8 in values and bad names
// (hub TestInvalidOps), the slow consumer among raw clients (hub
// TestSlowConsumer). Here each is run against live engines, with the cases
// those tests lack.
func TestHostileClientsWhileEnginesSync(t *testing.T) {
	// A write may block far longer than the test runs: only the queue's
	// bound can cut the slow reader, and no other cut is mistaken for it.
	hw := newHostileWorld(t, hub.Options{WriteWait: time.Minute})
	mtok := hw.Token(3)
	sp := hw.Space

	t.Run("group", func(t *testing.T) {
		t.Run("forged author and device", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			op := m.op(sp, "notes", map[string]any{"text": "written by Ana, honest"})
			op.Author, op.Node = hw.Users[0], hw.engines[0].Device()
			ack := m.push(op)
			result(t, "forged op", ack.Results[0], "", "")
			rec, err := hw.App.Store.Record(hw.ctx, op.Key())
			if err != nil {
				t.Fatal(err)
			}
			f := rec.Fields["text"]
			if f.Author != m.user || f.Node != m.id {
				t.Errorf("stored author %s device %s, want the sender %s on %s", f.Author, f.Node, m.user, m.id)
			}
			for _, n := range rec.Clock {
				if n.Node == op.Node {
					t.Errorf("the record's clock credits the forged device")
				}
			}
		})

		t.Run("foreign space", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			intrude := m.op(hw.private.ID, "notes", map[string]any{"text": "let me in"})
			nowhere := m.op(uuid.Must(uuid.NewV7()), "notes", map[string]any{"text": "no such space"})
			ack := m.push(intrude, nowhere)
			result(t, "op to a space she is not in", ack.Results[0], protocol.CodeForbidden, "not a member")
			result(t, "op to a space that does not exist", ack.Results[1], protocol.CodeForbidden, "not a member")
			if r, err := hw.App.Store.Record(hw.ctx, intrude.Key()); err == nil || r != nil {
				t.Error("the foreign op was stored")
			}
			m.alive()
		})

		t.Run("huge values", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			big := strings.Repeat("x", record.MaxValueBytes+1)
			quarter := strings.Repeat("y", record.MaxValueBytes-100)
			fields := map[string]any{}
			for i := range 5 {
				fields[fmt.Sprintf("f%d", i)] = quarter
			}
			list := make([]any, record.MaxValueItems+1)
			for i := range list {
				list[i] = int64(i)
			}
			ack := m.push(
				m.op(sp, "notes", map[string]any{"text": big}),
				m.op(sp, "notes", fields),
				m.op(sp, "notes", map[string]any{"items": list}),
				m.op(sp, "notes", map[string]any{"text": "a normal note in the same push"}),
			)
			result(t, "value over MaxValueBytes", ack.Results[0], protocol.CodeInvalid, "limit")
			result(t, "op over MaxOpValueBytes", ack.Results[1], protocol.CodeInvalid, "exceed")
			result(t, "list over MaxValueItems", ack.Results[2], protocol.CodeInvalid, "limit")
			result(t, "the normal op beside them", ack.Results[3], "", "")
			m.alive()

			// A record grown field by field past the store's record limit:
			// each op is valid, the one that would overflow is refused.
			id := uuid.Must(uuid.NewV7())
			var refused bool
			for i := 0; i < 30 && !refused; i++ {
				op := m.op(sp, "notes", map[string]any{fmt.Sprintf("a%d", i): quarter, fmt.Sprintf("b%d", i): quarter, fmt.Sprintf("c%d", i): quarter})
				op.ID = id
				r := m.push(op).Results[0]
				if r.Code != "" {
					result(t, fmt.Sprintf("op %d growing the record past %d bytes", i, 1<<20), r, protocol.CodeTooLarge, "too large")
					refused = true
				}
			}
			if !refused {
				t.Error("a record grew past the store's limit")
			}
			m.alive()
			if r := m.push(m.op(sp, "notes", map[string]any{"text": "still fine"})).Results[0]; r.Code != "" {
				t.Errorf("a normal op after the refusals: %+v", r)
			}
		})

		t.Run("deep nesting", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			var v any = "bottom"
			for range record.MaxValueDepth + 1 {
				v = []any{v}
			}
			ack := m.push(m.op(sp, "notes", map[string]any{"items": v}))
			result(t, "value nested past MaxValueDepth", ack.Results[0], protocol.CodeInvalid, "nested")
			m.alive()

			// A frame nested a hundred thousand levels deep in a value: the
			// shape check refuses it before the decoder recurses.
			deep := dialRaw(t, hw.World, "mallory deep", mtok)
			op := deep.op(sp, "notes", map[string]any{"items": "PLACEHOLDER"})
			b := protocol.MustEncode(&protocol.Push{Batch: 1, Ops: []record.Op{op}})
			ph, _ := msgpack.Marshal("PLACEHOLDER")
			nest := append(bytes.Repeat([]byte{0x91}, 100_000), 0xc0)
			if i := bytes.Index(b, ph); i < 0 {
				t.Skip("push bodies are compressed: cannot splice a value in")
			} else {
				b = append(append(append([]byte{}, b[:i]...), nest...), b[i+len(ph):]...)
			}
			if err := deep.sendBytes(b); err != nil {
				t.Fatal(err)
			}
			deep.expectFatal(protocol.CodeBadFrame)
		})

		t.Run("invalid UTF-8", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			badKey := m.op(sp, "notes", map[string]any{"meta": map[string]any{"caf\xe9": "x"}})
			badList := m.op(sp, "notes", map[string]any{"items": []any{"ok", "\xff\xfe"}})
			badColl := m.op(sp, "not\xe9s", map[string]any{"text": "x"})
			ack := m.push(badKey, badList, badColl)
			result(t, "invalid UTF-8 map key", ack.Results[0], protocol.CodeInvalid, "UTF-8")
			result(t, "invalid UTF-8 in a list", ack.Results[1], protocol.CodeInvalid, "UTF-8")
			result(t, "invalid UTF-8 collection", ack.Results[2], protocol.CodeInvalid, "collection")
			m.alive()

			// A token that is not UTF-8 is just a wrong token.
			ws, _, err := (&websocket.Dialer{HandshakeTimeout: wait}).Dial(hw.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			bad := &raw{t: t, name: "mallory bad token", ws: ws}
			t.Cleanup(func() { _ = ws.Close() })
			bad.send(&protocol.Hello{Protocol: protocol.Version, Client: uuid.Must(uuid.NewV7()), Token: mtok[:8] + "\xff\xfe" + mtok[10:]})
			bad.expectFatal(protocol.CodeUnauthorized)
		})

		t.Run("oversized frame", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			big := make([]byte, protocol.MaxFrameBytes+1)
			// The server stops reading at the header; the write may fail.
			go func() { _ = m.sendBytes(big) }()
			errs, cc := m.closed()
			if cc != protocol.StatusOf(protocol.CodeTooLarge).Close || (len(errs) > 0 && errs[0].Code != protocol.CodeTooLarge) {
				t.Errorf("oversized frame: close %d errors %v, want too_large", cc, errs)
			}
		})

		t.Run("flood at the default rate limit", func(t *testing.T) {
			t.Parallel()
			m := dialRaw(t, hw.World, "mallory", mtok)
			// Tiny pushes sent as fast as the socket takes them. Past the
			// burst the rate limit holds them back and, once they have
			// been held for MaxRateDelay, cuts the connection. On a busy
			// machine the store's commits may hold the reader back first
			// (TCP back-pressure), which keeps the flood under the rate
			// without a word; either way it never passes the rate.
			const n = hub.DefaultPushBurst + 4*hub.DefaultPushRate
			frames := make([][]byte, n)
			for i := range frames {
				op := m.op(sp, "flood", map[string]any{"n": int64(i)})
				frames[i] = protocol.MustEncode(&protocol.Push{Batch: uint64(i + 1), Ops: []record.Op{op}})
			}
			start := time.Now()
			go func() {
				for _, f := range frames {
					if m.sendBytes(f) != nil {
						return
					}
				}
			}()
			acks := 0
			deadline := time.Now().Add(2 * wait)
			for acks < n && time.Now().Before(deadline) {
				msg, err := m.read()
				if err != nil {
					break
				}
				switch msg := msg.(type) {
				case *protocol.Ack:
					acks++
				case *protocol.Error:
					if msg.Code != protocol.CodeRateLimited {
						t.Fatalf("flood: %s, want rate_limited", msg)
					}
					t.Logf("flood cut as rate_limited after %d pushes acked in %v", acks, time.Since(start).Round(time.Millisecond))
					m.closed()
					return
				}
			}
			took := time.Since(start)
			floor := time.Duration(float64(acks-hub.DefaultPushBurst) / hub.DefaultPushRate * float64(time.Second))
			t.Logf("flood not cut: %d pushes acked in %v, the rate allows them in no less than %v", acks, took.Round(time.Millisecond), floor)
			if acks != n || took < floor*9/10 {
				t.Errorf("a flood of %d pushes was neither cut nor held to the rate (%d acked in %v)", n, acks, took)
			}
		})

		t.Run("slow reader", func(t *testing.T) {
			t.Parallel()
			// Max says hello and never reads again while a writer of his
			// own pushes large records that the engines receive too: his
			// queue passes its bound and he is cut as a slow consumer,
			// while the engines read on. (Max's writer reads its acks.)
			slow := dialRaw(t, hw.World, "max (slow)", hw.Token(4))
			w := dialRaw(t, hw.World, "max's writer", hw.Token(4))
			rng := seeded(t)
			cut := false
			i := 0
			for ; i < 400 && !cut; i++ {
				w.push(w.op(hw.heavy.ID, "blobs", map[string]any{"a": text(rng, 60<<10), "b": text(rng, 60<<10), "c": text(rng, 60<<10)}))
				cut = counter(hw.World, string(protocol.CodeSlowConsumer)) > 0
			}
			if !cut {
				t.Fatal("the slow reader was never cut")
			}
			// It reads what reached its socket buffers, undecoded (that is
			// megabytes, slow to decode under the race detector), then
			// finds the connection closed.
			deadline := time.Now().Add(2 * wait)
			n := 0
			for ; time.Now().Before(deadline); n++ {
				_ = slow.ws.SetReadDeadline(deadline)
				if _, _, err := slow.ws.ReadMessage(); err != nil {
					t.Logf("slow reader cut as slow_consumer after %d pushes; it then read %d frames and %v", i, n, err)
					return
				}
			}
			t.Fatalf("the slow reader's connection is still open %v after it was cut", 2*wait)
		})
	})
	hw.converge(t)
}
