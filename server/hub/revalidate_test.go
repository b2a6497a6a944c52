package hub_test

import (
	"sync"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
)

// TestRevalidateClosesOnlyThatUsersSockets: Revalidate closes every socket
// of the user with access_changed, and no one else's; the reconnected
// socket's welcome no longer lists the space it lost.
func TestRevalidateClosesOnlyThatUsersSockets(t *testing.T) {
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sp := e.space("Room", server.KindGeneral, ana, bob)
	a1, a2 := e.connect("ana 1", atok), e.connect("ana 2", atok)
	b := e.connect("bob", btok)
	if err := e.a.Store.DeleteMember(e.ctx, sp.ID, ana); err != nil {
		t.Fatal(err)
	}
	if n := e.a.Hub.Revalidate(ana); n != 2 {
		t.Fatalf("Revalidate closed %d sockets, want 2", n)
	}
	a1.expectFatal(protocol.CodeAccessChanged)
	a2.expectFatal(protocol.CodeAccessChanged)
	b.pushOK(b.op(sp.ID, "notes", map[string]any{"text": "still here"}))
	if w := e.connect("ana 3", atok).welcome; len(w.Spaces) != 0 {
		t.Fatalf("ana's spaces after removal: %+v", w.Spaces)
	}
}

// TestHelloRacingAMembershipChange: memberships that change after hello
// read them, before the socket is registered (so Revalidate cannot find
// it), are caught by the second read, and the socket is closed with
// access_changed rather than keeping the space.
func TestHelloRacingAMembershipChange(t *testing.T) {
	// Not parallel: the hook is process-wide.
	t.Cleanup(func() { hub.SetTestHook(nil) })
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	sp := e.space("Room", server.KindGeneral, ana)
	v := e.dial("ana", nil)
	victim := v.ws.LocalAddr().String()
	var once sync.Once
	closed := -1
	hub.SetTestHook(func(kind, remote string) {
		if kind != "hello" || remote != victim {
			return
		}
		once.Do(func() {
			if err := e.a.Store.DeleteMember(e.ctx, sp.ID, ana); err != nil {
				t.Error(err)
			}
			closed = e.a.Hub.Revalidate(ana)
		})
	})
	v.send(&protocol.Hello{Protocol: protocol.Version, Client: v.id, Token: atok})
	v.expectFatal(protocol.CodeAccessChanged)
	if closed != 0 {
		t.Fatalf("Revalidate found %d sockets in the window, want 0 (the test would not test the second read)", closed)
	}
	hub.SetTestHook(nil)
	if w := e.connect("ana again", atok).welcome; len(w.Spaces) != 0 {
		t.Fatalf("spaces after the race: %+v", w.Spaces)
	}
}
