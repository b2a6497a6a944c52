//go:build js && wasm

package idbstore

import (
	"context"
	"errors"
	"syscall/js"
)

// The few IndexedDB calls this package makes, straight through syscall/js:
// a generic wrapper library costs the wasm binary far more bytes than the
// store needs (issue 5's size budget).

// domError is a JavaScript exception or IDBRequest/IDBTransaction error,
// usually a DOMException.
type domError struct{ v js.Value }

func (e domError) name() string {
	if e.v.Type() != js.TypeObject {
		return ""
	}
	return jsString(e.v.Get("name"))
}

func (e domError) Error() string {
	if e.v.Type() != js.TypeObject {
		return "JavaScript error: " + jsString(e.v)
	}
	n, m := e.name(), jsString(e.v.Get("message"))
	switch {
	case n == "":
		return m
	case m == "":
		return n
	}
	return n + ": " + m
}

func jsString(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	if v.IsUndefined() || v.IsNull() {
		return ""
	}
	return js.Global().Call("String", v).String()
}

// isDOM reports whether err is a DOMException named name.
func isDOM(err error, name string) bool {
	var d domError
	return errors.As(err, &d) && d.name() == name
}

// try runs f, turning a thrown JavaScript exception into an error.
func try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			je, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = domError{je.Value}
		}
	}()
	f()
	return nil
}

// call is v.Call(method, args...) with exceptions as errors.
func call(v js.Value, method string, args ...any) (r js.Value, err error) {
	err = try(func() { r = v.Call(method, args...) })
	return r, err
}

// events listens for the first of some events on target: the event's type
// arrives on done (buffered, never blocks the handler).
type events struct {
	target js.Value
	done   chan string
	funcs  map[string]js.Func
}

func listen(target js.Value, types ...string) *events {
	e := &events{target: target, done: make(chan string, len(types)), funcs: make(map[string]js.Func, len(types))}
	for _, t := range types {
		f := js.FuncOf(func(js.Value, []js.Value) any {
			select {
			case e.done <- t:
			default:
			}
			return nil
		})
		e.funcs[t] = f
		target.Call("addEventListener", t, f)
	}
	return e
}

// release removes the listeners; call it once done has been read (or the
// wait abandoned).
func (e *events) release() {
	for t, f := range e.funcs {
		e.target.Call("removeEventListener", t, f)
		f.Release()
	}
}

// awaitRequest waits for a request outside any transaction (open, delete)
// to succeed or fail. "blocked" is not an end: the request goes on once
// the other connections close.
func awaitRequest(ctx context.Context, req js.Value) (js.Value, error) {
	ev := listen(req, "success", "error")
	defer ev.release()
	select {
	case t := <-ev.done:
		if t == "success" {
			return req.Get("result"), nil
		}
		return js.Value{}, requestError(req)
	case <-ctx.Done():
		return js.Value{}, ctx.Err()
	}
}

func requestError(req js.Value) error {
	var v js.Value
	if err := try(func() { v = req.Get("error") }); err != nil {
		return err
	}
	if v.IsNull() || v.IsUndefined() {
		return errors.New("IndexedDB request failed")
	}
	return domError{v}
}

// txn is a running IDBTransaction with its end listeners attached at once,
// before the event loop can run it to its end.
type txn struct {
	t  js.Value
	ev *events
	// after are callbacks kept alive until the transaction ends (cursor
	// handlers).
	after []js.Func
}

// store returns the transaction's object store name.
func (t *txn) store(name string) (os js.Value, err error) {
	return call(t.t, "objectStore", name)
}

func (t *txn) abort() { _ = try(func() { t.t.Call("abort") }) }

// wait waits for the transaction's own complete or abort event (a failed
// request's error event is always followed by abort, when tx.error is set).
func (t *txn) wait() error {
	defer func() {
		t.ev.release()
		for _, f := range t.after {
			f.Release()
		}
	}()
	if <-t.ev.done == "complete" {
		return nil
	}
	var v js.Value
	_ = try(func() { v = t.t.Get("error") })
	if v.Type() == js.TypeObject {
		return domError{v}
	}
	return errAborted
}

var errAborted = errors.New("IndexedDB transaction aborted")

// walk reads every entry of os in key order with a cursor advancing inside
// its own success handler, so the transaction stays active throughout.
// each runs on the event loop and must not block; its error aborts t.
func (t *txn) walk(os js.Value, each func(k, v js.Value) error, errp *error) error {
	return t.walkIn(os, js.Undefined(), each, errp)
}

// walkIn is walk over the entries whose keys are in query (an IDBKeyRange),
// or all when query is undefined.
func (t *txn) walkIn(os, query js.Value, each func(k, v js.Value) error, errp *error) error {
	var args []any
	if !query.IsUndefined() {
		args = append(args, query)
	}
	req, err := call(os, "openCursor", args...)
	if err != nil {
		return err
	}
	f := js.FuncOf(func(js.Value, []js.Value) any {
		c := req.Get("result")
		if c.IsNull() || c.IsUndefined() || *errp != nil {
			return nil
		}
		if err := each(c.Get("key"), c.Get("value")); err != nil {
			*errp = err
			t.abort()
			return nil
		}
		if err := try(func() { c.Call("continue") }); err != nil {
			*errp = err
		}
		return nil
	})
	t.after = append(t.after, f)
	req.Set("onsuccess", f)
	return nil
}
