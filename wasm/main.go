//go:build js && wasm

// Command wasm is Plansync's client in the browser: the client/ sync
// engine on IndexedDB (client/idbstore) and the browser's WebSocket
// (client/jsws), behind a small promise-based API on globalThis.plansync
// that the web UI calls. API.md documents the API.
//
// Every exported function returns at once. A call that waits (IndexedDB,
// the network) returns a Promise and does its work on a goroutine: a
// js.FuncOf callback that blocked would block the browser's event loop,
// which is the very thing the wait needs to make progress.
//
// The binary must not carry net/http, encoding/json or crypto/tls (each
// costs hundreds of KB on a prepaid phone plan): JSON goes through the
// browser's JSON object and HTTP through fetch. deps_test.go enforces it.
package main

import (
	"fmt"
	"log"
	"syscall/js"

	"github.com/plansync/plansync/shared/protocol"
)

// apiVersion is the version of the JS API in API.md; the UI can check it.
const apiVersion = 1

func main() {
	log.SetFlags(0)
	log.SetOutput(consoleLogger{})
	a := newApp()
	js.Global().Set("plansync", a.exports())
	if g := js.Global(); g.Get("dispatchEvent").Type() == js.TypeFunction && g.Get("Event").Type() == js.TypeFunction {
		g.Call("dispatchEvent", g.Get("Event").New("plansync-ready"))
	}
	select {} // serve calls for the page's lifetime
}

// exports builds the plansync object.
func (a *app) exports() js.Value {
	o := jsObject.New()
	o.Set("version", apiVersion)
	fn := func(name string, f func(args []js.Value) any) {
		o.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return f(args) }))
	}
	// promised wraps an asynchronous function whose arguments are read
	// here, synchronously; a bad argument rejects the promise.
	promised := func(name string, f func(args *argReader) func() (any, error)) {
		fn(name, func(args []js.Value) any {
			r := &argReader{args: args}
			call := f(r)
			if r.err != nil {
				return async(func() (any, error) { return nil, *r.err })
			}
			return async(call)
		})
	}
	promised("open", func(r *argReader) func() (any, error) {
		opts := r.object(0, "options")
		syncURL, apiURL, dbName := r.field(opts, "syncURL", true), r.field(opts, "apiURL", false), r.field(opts, "dbName", false)
		return func() (any, error) { return a.open(syncURL, apiURL, dbName) }
	})
	promised("signIn", func(r *argReader) func() (any, error) {
		o := r.object(0, "credentials")
		login, password, device := r.field(o, "login", true), r.field(o, "password", true), r.field(o, "device", false)
		return func() (any, error) { return a.signIn(login, password, device) }
	})
	promised("join", func(r *argReader) func() (any, error) {
		o := r.object(0, "invite")
		code, name, pass, device := r.field(o, "code", true), r.field(o, "name", false), r.field(o, "passphrase", false), r.field(o, "device", false)
		return func() (any, error) { return a.join(code, name, pass, device) }
	})
	promised("useSession", func(r *argReader) func() (any, error) {
		o := r.object(0, "session")
		token := r.field(o, "token", true)
		return func() (any, error) { return a.useSession(token) }
	})
	promised("signOut", func(*argReader) func() (any, error) { return a.signOut })
	promised("spaces", func(*argReader) func() (any, error) { return a.spaces })
	promised("list", func(r *argReader) func() (any, error) {
		space, coll := r.str(0, "space"), r.str(1, "collection")
		return func() (any, error) { return a.list(space, coll) }
	})
	promised("get", func(r *argReader) func() (any, error) {
		space, coll, id := r.str(0, "space"), r.str(1, "collection"), r.str(2, "id")
		return func() (any, error) { return a.get(space, coll, id) }
	})
	promised("put", func(r *argReader) func() (any, error) {
		space, coll, id := r.str(0, "space"), r.str(1, "collection"), r.optStr(2, "id")
		fields := r.fields(3)
		return func() (any, error) { return a.put(space, coll, id, fields) }
	})
	promised("remove", func(r *argReader) func() (any, error) {
		space, coll, id := r.str(0, "space"), r.str(1, "collection"), r.str(2, "id")
		return func() (any, error) { return a.remove(space, coll, id) }
	})
	promised("resolve", func(r *argReader) func() (any, error) {
		space, coll, id, field := r.str(0, "space"), r.str(1, "collection"), r.str(2, "id"), r.str(3, "field")
		value := r.value(4)
		return func() (any, error) { return a.resolve(space, coll, id, field, value) }
	})
	promised("history", func(r *argReader) func() (any, error) {
		space, coll, id := r.str(0, "space"), r.str(1, "collection"), r.str(2, "id")
		return func() (any, error) { return a.history(space, coll, id) }
	})
	promised("reload", func(*argReader) func() (any, error) { return a.reload })
	promised("api", func(r *argReader) func() (any, error) {
		method, path := r.str(0, "method"), r.str(1, "path")
		var body map[string]any
		if v := r.arg(2); !v.IsUndefined() && !v.IsNull() {
			m, ok := r.value(2).(map[string]any)
			if !ok {
				r.fail("body must be an object.")
			}
			body = m
		}
		return func() (any, error) { return a.call(method, path, body) }
	})
	fn("setLeader", func(args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeBoolean {
			panic(toJSError(errorf(protocol.CodeBadRequest, "setLeader needs true or false.")))
		}
		a.setLeader(args[0].Bool())
		return nil
	})
	fn("state", func([]js.Value) any {
		v, _ := toJS(a.state())
		return v
	})
	fn("subscribe", func(args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeFunction {
			panic(toJSError(errorf(protocol.CodeBadRequest, "subscribe needs a function.")))
		}
		id, err := a.subscribe(args[0])
		if err != nil {
			panic(toJSError(err))
		}
		var unsub js.Func
		unsub = js.FuncOf(func(js.Value, []js.Value) any {
			a.unsubscribe(id)
			unsub.Release()
			return nil
		})
		return unsub
	})
	return o
}

// argReader reads a call's arguments, keeping the first error.
type argReader struct {
	args []js.Value
	err  *error
}

func (r *argReader) fail(format string, v ...any) {
	if r.err == nil {
		err := error(errorf(protocol.CodeBadRequest, fmt.Sprintf(format, v...)))
		r.err = &err
	}
}

func (r *argReader) arg(i int) js.Value {
	if i < len(r.args) {
		return r.args[i]
	}
	return js.Undefined()
}

func (r *argReader) str(i int, name string) string {
	v := r.arg(i)
	if v.Type() != js.TypeString || v.String() == "" {
		r.fail("%s must be a non-empty string.", name)
		return ""
	}
	return v.String()
}

func (r *argReader) optStr(i int, name string) string {
	v := r.arg(i)
	if v.IsNull() || v.IsUndefined() {
		return ""
	}
	return r.str(i, name)
}

func (r *argReader) object(i int, name string) js.Value {
	v := r.arg(i)
	if v.Type() != js.TypeObject {
		r.fail("%s must be an object.", name)
		return js.Global().Get("Object").New()
	}
	return v
}

func (r *argReader) field(o js.Value, name string, required bool) string {
	v := o.Get(name)
	if v.Type() == js.TypeString && v.String() != "" {
		return v.String()
	}
	if required || !(v.IsUndefined() || v.IsNull() || v.Type() == js.TypeString) {
		r.fail("%s must be a non-empty string.", name)
	}
	return ""
}

func (r *argReader) fields(i int) map[string]any {
	m, err := fromJSFields(r.arg(i))
	if err != nil && r.err == nil {
		err := error(classify(err))
		r.err = &err
	}
	return m
}

func (r *argReader) value(i int) any {
	v, err := fromJS(r.arg(i))
	if err != nil && r.err == nil {
		err := error(classify(err))
		r.err = &err
	}
	return v
}
