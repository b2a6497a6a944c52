//go:build js && wasm

package main

import (
	"context"
	"io"
	"log"
	"os"
	"syscall/js"
	"testing"
	"time"

	"github.com/plansync/plansync/client/idbstore"
)

// These run under Node (go_js_wasm_exec) with fake-indexeddb loaded first;
// see API.md, "Tests". No server: the engine stays offline, which is the
// case that matters most (edits saved on the device, kept across reloads).

func TestMain(m *testing.M) {
	if !js.Global().Get("indexedDB").Truthy() {
		println("SKIP: no indexedDB; run under Node with NODE_OPTIONS=--require=<fake-indexeddb>/auto")
		return
	}
	log.SetOutput(io.Discard) // see client/idbstore's TestMain
	os.Exit(m.Run())
}

const testSpace = "01900000-0000-7000-8000-0000000000a1"

func call(t *testing.T, api js.Value, name string, args ...any) js.Value {
	t.Helper()
	v, err := await(api.Call(name, args...))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// codeOf is the .code of the Error a promise rejected with.
func codeOf(err error) string {
	if je, ok := err.(js.Error); ok && je.Value.Get("code").Type() == js.TypeString {
		return je.Value.Get("code").String()
	}
	return ""
}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func openApp(t *testing.T, db string) js.Value {
	t.Helper()
	api := newApp().exports()
	call(t, api, "open", obj("syncURL", "ws://127.0.0.1:9/sync", "dbName", db))
	return api
}

func TestSignedOut(t *testing.T) {
	api := openApp(t, "t-signedout")
	if st := api.Call("state"); st.Get("status").String() != statusSignedOut || st.Get("signedIn").Bool() {
		t.Fatalf("state %v", jsJSON.Call("stringify", st))
	}
	_, err := await(api.Call("put", testSpace, "goals", nil, obj("title", "x")))
	if codeOf(err) != string(CodeSignedOut) {
		t.Fatalf("put signed out: %v", err)
	}
	_, err = await(api.Call("put", "not-an-id", "goals", nil, obj("title", "x")))
	if codeOf(err) != "bad_request" {
		t.Fatalf("put with a bad space: %v", err)
	}
	// No server: signing in rejects with a network error the UI can show.
	_, err = await(api.Call("signIn", obj("login", "a", "password", "b")))
	if codeOf(err) != string(CodeNetwork) {
		t.Fatalf("signIn without server: %v", err)
	}
}

// TestUseSessionArgs: useSession needs a token, and an open client; with
// no server it rejects with a network error (it reads /api/me) and stays
// signed out.
func TestUseSessionArgs(t *testing.T) {
	_, err := await(newApp().exports().Call("useSession", obj("token", "t")))
	if codeOf(err) != string(CodeNotOpen) {
		t.Fatalf("useSession before open: %v", err)
	}
	api := openApp(t, "t-usesession")
	if _, err := await(api.Call("useSession", obj("token", ""))); codeOf(err) != "bad_request" {
		t.Fatalf("useSession with no token: %v", err)
	}
	if _, err := await(api.Call("useSession", obj("token", "t"))); codeOf(err) != string(CodeNetwork) {
		t.Fatalf("useSession without server: %v", err)
	}
	if api.Call("state").Get("signedIn").Bool() {
		t.Fatal("signed in after a hand-over the server never confirmed")
	}
}

// TestOfflineEditSurvivesReload edits with no server, "reloads" (a new
// app on the same database) and finds the edit and its outbox entry; then
// signs out, which erases them.
func TestOfflineEditSurvivesReload(t *testing.T) {
	const db = "t-reload"
	ctx := context.Background()
	st, err := idbstore.Open(ctx, idbstore.Options{Name: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetValue(ctx, tokenKey, "a-token"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	api := openApp(t, db)
	events := make(chan js.Value, 16)
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any {
		select {
		case events <- args[0]:
		default:
		}
		return nil
	})
	defer cb.Release()
	unsub := api.Call("subscribe", cb)

	fields := obj("title", "Read every night", "count", 3, "ratio", 0.5, "done", false,
		"tags", []any{"a", nil}, "more", obj("k", "v"))
	id := call(t, api, "put", testSpace, "goals", nil, fields).String()
	check := func(api js.Value) {
		t.Helper()
		list := call(t, api, "list", testSpace, "goals")
		if list.Length() != 1 {
			t.Fatalf("list has %d records", list.Length())
		}
		r := list.Index(0)
		f := r.Get("fields")
		if r.Get("id").String() != id || f.Get("title").Get("value").String() != "Read every night" ||
			f.Get("count").Get("value").Int() != 3 || f.Get("ratio").Get("value").Float() != 0.5 ||
			f.Get("tags").Get("value").Index(1).Type() != js.TypeNull || f.Get("more").Get("value").Get("k").String() != "v" ||
			f.Get("title").Get("conflicts").Length() != 0 || f.Get("title").Get("time").Float() < 1 {
			t.Fatalf("record %v", jsJSON.Call("stringify", r))
		}
		if g := call(t, api, "get", testSpace, "goals", id); g.Get("id").String() != id {
			t.Fatalf("get %v", jsJSON.Call("stringify", g))
		}
		if st := api.Call("state"); st.Get("pending").Int() != 1 || !st.Get("signedIn").Bool() {
			t.Fatalf("state %v", jsJSON.Call("stringify", st))
		}
	}
	check(api)
	select {
	case ev := <-events:
		if ev.Get("type").String() != "record" && ev.Get("type").String() != "state" {
			t.Fatalf("event %v", jsJSON.Call("stringify", ev))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event after put")
	}
	unsub.Invoke()

	api2 := openApp(t, db) // the reload
	check(api2)
	if got := call(t, api2, "get", testSpace, "goals", "01900000-0000-7000-8000-0000000000ff"); !got.IsNull() {
		t.Fatalf("get of a missing record: %v", got)
	}

	call(t, api2, "remove", testSpace, "goals", id)
	if n := call(t, api2, "list", testSpace, "goals").Length(); n != 0 {
		t.Fatalf("list after remove: %d", n)
	}

	res := call(t, api2, "signOut")
	if res.Get("revoked").Bool() {
		t.Fatal("revoked without a server")
	}
	if st := api2.Call("state"); st.Get("status").String() != statusSignedOut {
		t.Fatalf("state after signOut %v", jsJSON.Call("stringify", st))
	}
	api3 := openApp(t, db)
	if n := call(t, api3, "list", testSpace, "goals").Length(); n != 0 || api3.Call("state").Get("signedIn").Bool() {
		t.Fatalf("after signOut and reload: %d records, %v", n, jsJSON.Call("stringify", api3.Call("state")))
	}
}

func TestValues(t *testing.T) {
	in := obj("s", "x", "i", 42, "f", 1.25, "b", true, "n", nil, "a", []any{1, "two"}, "o", obj("k", []any{}))
	jv, err := toJS(in)
	if err != nil {
		t.Fatal(err)
	}
	back, err := fromJS(jv)
	if err != nil {
		t.Fatal(err)
	}
	m := back.(map[string]any)
	if m["i"] != int64(42) || m["f"] != 1.25 || m["b"] != true || m["n"] != nil || m["a"].([]any)[1] != "two" {
		t.Fatalf("round trip: %#v", m)
	}
	if _, err := fromJS(js.Global().Get("Date").New()); err == nil {
		t.Fatal("a Date converted")
	}
	cyc := js.Global().Get("Object").New()
	cyc.Set("self", cyc)
	if _, err := fromJS(cyc); err == nil {
		t.Fatal("a cycle converted")
	}
}

// TestCallRefuses checks the page's door to the JSON API: only /api/
// paths and the four methods, and only for someone signed in.
func TestCallRefuses(t *testing.T) {
	api := openApp(t, "t-call")
	for _, c := range []struct {
		method, path, want string
	}{
		{"GET", "/api/me", string(CodeSignedOut)},
		{"GET", "/sync", "bad_request"},
		{"GET", "/api/../metrics", "bad_request"},
		{"GET", "/api/%2E%2e/metrics", "bad_request"},
		{"GET", "/api/x/.%2e", "bad_request"},
		{"GET", "/api/me?x=1", "bad_request"},
		{"GET", "//evil.example/api/me", "bad_request"},
		{"PATCH", "/api/me", "bad_request"},
	} {
		_, err := await(api.Call("api", c.method, c.path))
		if codeOf(err) != c.want {
			t.Errorf("api(%s, %s): %v, want %s", c.method, c.path, err, c.want)
		}
	}
	if _, err := await(api.Call("api", "POST", "/api/invites", "not an object")); codeOf(err) != "bad_request" {
		t.Errorf("api with a string body: %v", err)
	}
}
