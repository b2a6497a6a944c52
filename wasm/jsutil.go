//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"syscall/js"

	"github.com/plansync/plansync/shared/record"
)

var (
	jsObject     = js.Global().Get("Object")
	jsArray      = js.Global().Get("Array")
	jsPromise    = js.Global().Get("Promise")
	jsError      = js.Global().Get("Error")
	jsJSON       = js.Global().Get("JSON")
	jsUint8Array = js.Global().Get("Uint8Array")
)

// maxSafeInteger is the largest integer a JavaScript number holds exactly.
const maxSafeInteger = 1<<53 - 1

// async runs fn on a goroutine and returns a Promise of its result at
// once: a js.FuncOf callback that waited would block the browser's event
// loop, and with it the IndexedDB and network events the wait needs. The
// goroutine ends with fn; fn's own context bounds it.
func async(fn func() (any, error)) js.Value {
	var resolve, reject js.Value
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject = args[0], args[1]
		return nil
	})
	p := jsPromise.New(exec) // the executor runs synchronously
	exec.Release()
	go func() {
		v, err := protect(fn)
		if err != nil {
			reject.Invoke(toJSError(err))
			return
		}
		jv, err := protect(func() (any, error) { return toJS(v) })
		if err != nil {
			reject.Invoke(toJSError(err))
			return
		}
		resolve.Invoke(jv)
	}()
	return p
}

// protect runs fn, turning a panic (a JavaScript exception surfaces as
// one through syscall/js) into an error.
func protect(fn func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("%w", e)
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	return fn()
}

// await waits for a JavaScript promise. Call it only from a goroutine of
// our own, never from a js.FuncOf callback. Cancellation is the caller's
// business (an AbortSignal): the promise must settle, so its handlers can
// be released.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	defer ok.Release()
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: js.Error{Value: arg0(args)}}
		return nil
	})
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// toJS converts a Go value of the kinds records hold (and the API's plain
// maps and slices) to JavaScript.
func toJS(v any) (js.Value, error) {
	switch x := v.(type) {
	case nil:
		return js.Null(), nil
	case js.Value:
		return x, nil
	case bool, string, float64:
		return js.ValueOf(x), nil
	case int:
		return js.ValueOf(x), nil
	case int64:
		// Beyond 2^53 a JavaScript number rounds; the UI never writes
		// such integers, so rounding on display is the lesser evil.
		return js.ValueOf(float64(x)), nil
	case uint64:
		return js.ValueOf(float64(x)), nil
	case []byte:
		a := jsUint8Array.New(len(x))
		js.CopyBytesToJS(a, x)
		return a, nil
	case []any:
		a := jsArray.New(len(x))
		for i, e := range x {
			je, err := toJS(e)
			if err != nil {
				return js.Undefined(), err
			}
			a.SetIndex(i, je)
		}
		return a, nil
	case map[string]any:
		o := jsObject.New()
		for _, k := range slices.Sorted(maps.Keys(x)) {
			je, err := toJS(x[k])
			if err != nil {
				return js.Undefined(), err
			}
			o.Set(k, je)
		}
		return o, nil
	}
	return js.Undefined(), fmt.Errorf("cannot show a %T", v)
}

// errBadValue marks a JavaScript value a record cannot hold.
var errBadValue = errors.New("value not supported")

// fromJS converts a JavaScript value to what a record field holds: null
// (and undefined), booleans, strings, numbers (whole numbers within 2^53 as
// int64, others float64), arrays, Uint8Array and plain objects, at most
// record.MaxValueDepth deep, which also stops cycles.
func fromJS(v js.Value) (any, error) { return fromJSDepth(v, 0) }

func fromJSDepth(v js.Value, depth int) (any, error) {
	if depth > record.MaxValueDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errBadValue, record.MaxValueDepth)
	}
	switch v.Type() {
	case js.TypeNull, js.TypeUndefined:
		return nil, nil
	case js.TypeBoolean:
		return v.Bool(), nil
	case js.TypeString:
		return v.String(), nil
	case js.TypeNumber:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: number is not finite", errBadValue)
		}
		if f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger {
			return int64(f), nil
		}
		return f, nil
	case js.TypeObject:
		if jsArray.Call("isArray", v).Bool() {
			n := v.Length()
			out := make([]any, n)
			for i := range n {
				e, err := fromJSDepth(v.Index(i), depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = e
			}
			return out, nil
		}
		if v.InstanceOf(jsUint8Array) {
			b := make([]byte, v.Length())
			js.CopyBytesToGo(b, v)
			return b, nil
		}
		proto := jsObject.Call("getPrototypeOf", v)
		if !proto.IsNull() && !proto.Equal(jsObject.Get("prototype")) {
			return nil, fmt.Errorf("%w: only plain objects, arrays, text, numbers, booleans and null", errBadValue)
		}
		keys := jsObject.Call("keys", v)
		out := make(map[string]any, keys.Length())
		for i := range keys.Length() {
			k := keys.Index(i).String()
			e, err := fromJSDepth(v.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: a %s", errBadValue, v.Type())
}

// fromJSFields converts the fields argument of put.
func fromJSFields(v js.Value) (map[string]any, error) {
	if v.Type() != js.TypeObject || jsArray.Call("isArray", v).Bool() {
		return nil, fmt.Errorf("%w: fields must be an object of field names to values", errBadValue)
	}
	m, err := fromJS(v)
	if err != nil {
		return nil, err
	}
	fields, ok := m.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: fields must be a plain object", errBadValue)
	}
	return fields, nil
}

// jsonCall parses JSON text with the browser's JSON.parse: encoding/json
// stays out of the binary (DESIGN.md section 8).
func jsonParse(text string) (v js.Value, err error) {
	_, err = protect(func() (any, error) {
		v = jsJSON.Call("parse", text)
		return nil, nil
	})
	return v, err
}

// jsonStringify is JSON.stringify of a Go map converted by toJS.
func jsonStringify(m map[string]any) (string, error) {
	jv, err := toJS(m)
	if err != nil {
		return "", err
	}
	return jsJSON.Call("stringify", jv).String(), nil
}

// withTimeout is the context of one API call.
func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}
