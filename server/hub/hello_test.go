package hub_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

func TestHelloWelcomesWithSpacesRolesAndHeads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	ana, tok := e.user("Ana")
	other, _ := e.user("Other")
	s1 := e.space("Ana's room", server.KindGeneral)
	s2 := e.space("Family space", server.KindGeneral)
	s3 := e.space("Not Ana's", server.KindGeneral, other)
	e.member(s1.ID, ana, server.RoleTeacher)
	e.member(s2.ID, ana, server.RoleFamily)

	seed := newSeeder()
	e.commit(seed.op(s1.ID, 1), seed.op(s1.ID, 2), seed.op(s1.ID, 3))
	e.commit(seed.op(s3.ID, 4))

	c := e.dial("ana", nil)
	w := c.hello(tok)
	if w.User != ana || w.Name != "Ana" {
		t.Errorf("welcome for %s %q, want %s Ana", w.User, w.Name, ana)
	}
	if w.Heartbeat <= 0 {
		t.Errorf("welcome announces heartbeat %d ms", w.Heartbeat)
	}
	if d := time.Since(time.UnixMilli(w.ServerTime)); d < -time.Minute || d > time.Minute {
		t.Errorf("welcome server time off by %v", d)
	}
	got := map[uuid.UUID]protocol.SpaceInfo{}
	for _, s := range w.Spaces {
		got[s.ID] = s
	}
	want := []protocol.SpaceInfo{
		{ID: s1.ID, Name: s1.Name, Kind: "general", Role: "teacher", Head: 3},
		{ID: s2.ID, Name: s2.Name, Kind: "general", Role: "family", Head: 0},
	}
	if len(got) != len(want) || len(w.Spaces) != len(want) {
		t.Errorf("welcome lists %d spaces, want %d: %+v", len(w.Spaces), len(want), w.Spaces)
	}
	for _, ws := range want {
		if !reflect.DeepEqual(got[ws.ID], ws) {
			t.Errorf("welcome space %+v, want %+v", got[ws.ID], ws)
		}
	}
	if _, ok := got[s3.ID]; ok {
		t.Errorf("welcome lists space %s Ana is not a member of", s3.ID)
	}
	// The backlog of s1 follows.
	c.syncTo(s1.ID, 3)
	if n := len(c.recs); n != 3 {
		t.Errorf("caught up %d records, want 3", n)
	}
}

func TestHelloRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	u, tok := e.user("Ana")
	sp := e.space("Room", server.KindGeneral, u)

	t.Run("bad token", func(t *testing.T) {
		c := e.dial("bad token", nil)
		c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: "pst_not-a-token"})
		er := c.expectFatal(protocol.CodeUnauthorized)
		if er != nil && strings.Contains(er.Message, "pst_") {
			t.Errorf("error echoes the token: %q", er.Message)
		}
	})
	t.Run("no token", func(t *testing.T) {
		c := e.dial("no token", nil)
		c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id})
		c.expectFatal(protocol.CodeUnauthorized)
	})
	t.Run("protocol version 2", func(t *testing.T) {
		c := e.dial("v2", nil)
		c.send(&protocol.Hello{Protocol: 2, Client: c.id, Token: tok})
		er := c.expectFatal(protocol.CodeUpgradeRequired)
		if er != nil && (!strings.Contains(er.Message, "upgrade required") || !strings.Contains(er.Message, "2")) {
			t.Errorf("upgrade message is not clear: %q", er.Message)
		}
	})
	t.Run("frame version 2", func(t *testing.T) {
		c := e.dial("frame v2", nil)
		b := protocol.MustEncode(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: tok})
		if b[0] != 0x93 || b[1] != protocol.FrameVersion {
			t.Fatalf("frame does not start [3-array, version 1]: % x", b[:2])
		}
		b[1] = 2
		c.sendRaw(websocket.BinaryMessage, b)
		er := c.expectFatal(protocol.CodeUpgradeRequired)
		if er != nil && !strings.Contains(er.Message, "upgrade required") {
			t.Errorf("upgrade message is not clear: %q", er.Message)
		}
	})
	t.Run("push before hello", func(t *testing.T) {
		c := e.dial("push first", nil)
		op := c.op(sp.ID, "notes", map[string]any{"text": "sneaky"})
		c.push(op)
		c.expectFatal(protocol.CodeBadRequest)
		if e.record(op.Key()) != nil {
			t.Error("a push before hello was committed")
		}
	})
	t.Run("hello twice", func(t *testing.T) {
		c := e.connect("twice", tok)
		c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: tok})
		c.expectFatal(protocol.CodeBadRequest)
	})
	t.Run("no client id", func(t *testing.T) {
		c := e.dial("no client", nil)
		c.send(&protocol.Hello{Protocol: protocol.Version, Token: tok})
		c.expectFatal(protocol.CodeBadRequest)
	})
	t.Run("signed out session", func(t *testing.T) {
		_, tok2 := e.user("Leaving")
		if err := e.a.Store.DeleteSession(e.ctx, server.HashToken(tok2)); err != nil {
			t.Fatal(err)
		}
		c := e.dial("signed out", nil)
		c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: tok2})
		c.expectFatal(protocol.CodeUnauthorized)
	})
}

func TestHelloDeadline(t *testing.T) {
	t.Parallel()
	const helloWait = 300 * time.Millisecond
	e := newEnv(t, hub.Options{HelloDeadline: helloWait})
	u, tok := e.user("Ana")
	e.space("Room", server.KindGeneral, u)

	start := time.Now()
	silent := e.dial("silent", nil)
	er := silent.expectFatal(protocol.CodeBadRequest)
	if d := time.Since(start); d < helloWait {
		t.Errorf("closed after %v, before the hello wait of %v", d, helloWait)
	}
	if er != nil && !strings.Contains(er.Message, "hello") {
		t.Errorf("the error does not say a hello was missing: %q", er.Message)
	}
	waitUntil(t, "forgotten by the hub", func() bool { return e.a.Hub.Connections() == 0 })

	// A client that says hello in time stays connected past the hello wait.
	c := e.connect("prompt", tok)
	// Not a synchronisation: the property is that nothing happens meanwhile.
	time.Sleep(2 * helloWait)
	c.ping()
}

// seeder makes ops for seeding a store directly.
type seeder struct{ n int64 }

func newSeeder() *seeder { return &seeder{} }

func (s *seeder) op(space uuid.UUID, i int) record.Op {
	s.n++
	return record.Op{Space: space, Collection: "notes", ID: uuid.Must(uuid.NewV7()), HLC: hlcNow(s.n),
		Writes: []record.Write{{Name: "text", Value: "seed " + string(rune('a'+i%26))}}}
}

// TestWelcomeComesFirst: a change committed while a connection is between
// its subscription and its Welcome reaches the client after the Welcome,
// never before it: fan-out may see the connection from the moment it is
// subscribed. The hostile device flood met it as a Changes frame answering
// a hello.
func TestWelcomeComesFirst(t *testing.T) {
	// Not parallel: the hook is process-wide.
	t.Cleanup(func() { hub.SetTestHook(nil) })
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	sp := e.space("Room", server.KindGeneral, ana)
	writer := e.dial("op maker (never says hello)", nil)
	op := writer.op(sp.ID, "notes", map[string]any{"text": "between subscribe and welcome"})
	a := e.dial("ana", nil)
	victim := a.ws.LocalAddr().String()
	var once sync.Once
	hub.SetTestHook(func(kind, remote string) {
		if kind != "welcome" || remote != victim {
			return
		}
		once.Do(func() {
			e.commit(op)
			// Time for a catch-up woken by that change to run ahead of
			// the Welcome, if anything wakes it.
			time.Sleep(200 * time.Millisecond)
		})
	})
	a.hello(atok) // fails unless the first frame is the Welcome
	a.syncTo(sp.ID, e.head(sp.ID))
	if a.rec(op.Key()) == nil {
		t.Fatal("the change committed during hello never arrived")
	}
}
