//go:build js && wasm

package main

import (
	"context"
	"syscall/js"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/idbstore"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// TestFollowerTab: two tabs on one database (two apps in this process,
// meeting through fake-indexeddb and Node's BroadcastChannel). The
// follower's edit reaches the leader's outbox, which is what the leader
// pushes; the leader's edit shows up in the follower. No server: both
// engines stay offline, which is enough for the tabs' half of the path.
func TestFollowerTab(t *testing.T) {
	if js.Global().Get("BroadcastChannel").Type() != js.TypeFunction {
		t.Skip("no BroadcastChannel")
	}
	const db = "t-tabs"
	ctx := context.Background()
	st, err := idbstore.Open(ctx, idbstore.Options{Name: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetValue(ctx, tokenKey, "a-token"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	la := newApp()
	leader := la.exports()
	call(t, leader, "open", obj("syncURL", "ws://127.0.0.1:9/sync", "dbName", db))
	follower := newApp().exports()
	follower.Call("setLeader", false)
	call(t, follower, "open", obj("syncURL", "ws://127.0.0.1:9/sync", "dbName", db))
	if follower.Call("state").Get("leader").Bool() || !leader.Call("state").Get("leader").Bool() {
		t.Fatal("leader flags")
	}

	has := func(api js.Value, id string) bool {
		g := call(t, api, "get", testSpace, "goals", id)
		return !g.IsNull() && g.Get("id").String() == id
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	fid := call(t, follower, "put", testSpace, "goals", nil, obj("title", "from the follower")).String()
	waitFor("the leader reloads the follower's edit", func() bool {
		return has(leader, fid) && leader.Call("state").Get("pending").Int() == 1
	})

	lid := call(t, leader, "put", testSpace, "goals", nil, obj("title", "from the leader")).String()
	waitFor("the follower sees the leader's edit", func() bool {
		return has(follower, lid) && follower.Call("state").Get("pending").Int() == 2
	})

	// Two edits, one LocalSeq each: the shared outbox holds both.
	if n := leader.Call("state").Get("pending").Int(); n != 2 {
		t.Fatalf("leader pending %d", n)
	}

	// reload() by hand gives the same.
	call(t, follower, "reload")
	if !has(follower, fid) || !has(follower, lid) {
		t.Fatal("after reload")
	}

	// The server refused the follower's edit: only the leader's engine
	// hears it, and the follower's subscribers must too.
	rejections := make(chan js.Value, 4)
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 && args[0].Get("type").String() == "rejected" {
			select {
			case rejections <- args[0]:
			default:
			}
		}
		return nil
	})
	defer cb.Release()
	follower.Call("subscribe", cb)
	op := record.Op{Space: uuid.MustParse(testSpace), Collection: "goals", ID: uuid.MustParse(fid),
		Writes: []record.Write{{Name: "title", Value: "from the follower"}}}
	la.rejected(eventJS(client.Rejected{Op: op, Code: protocol.CodeForbidden, Message: "Only the family can change this."}, true))
	select {
	case ev := <-rejections:
		if ev.Get("id").String() != fid || ev.Get("code").String() != string(protocol.CodeForbidden) ||
			ev.Get("fields").Index(0).String() != "title" || ev.Get("values").Get("title").String() != "from the follower" ||
			ev.Get("message").String() == "" {
			t.Fatalf("follower got %v", jsJSON.Call("stringify", ev))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follower never heard of the rejection")
	}
}
