//go:build js && wasm

package main

import (
	"context"
	"strings"
	"syscall/js"

	"github.com/plansync/plansync/shared/protocol"
)

// request calls one of the server's JSON endpoints through the browser's
// fetch (net/http would add megabytes to the binary) and returns the parsed
// answer (null for an empty one). body, when not nil, is sent as JSON; the
// token, when set, as a bearer Authorization header, never in the URL.
func (a *app) request(ctx context.Context, method, path string, body map[string]any, token string) (js.Value, error) {
	headers := jsObject.New()
	headers.Set("Accept", "application/json")
	init := jsObject.New()
	init.Set("method", method)
	init.Set("cache", "no-store")
	init.Set("credentials", "omit")
	if body != nil {
		text, err := jsonStringify(body)
		if err != nil {
			return js.Undefined(), err
		}
		headers.Set("Content-Type", "application/json")
		init.Set("body", text)
	}
	if token != "" {
		headers.Set("Authorization", "Bearer "+token)
	}
	init.Set("headers", headers)
	abort := js.Global().Get("AbortController").New()
	init.Set("signal", abort.Get("signal"))
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()

	res, err := await(js.Global().Call("fetch", a.apiBase+path, init))
	if err != nil {
		if ctx.Err() != nil {
			return js.Undefined(), ctx.Err()
		}
		return js.Undefined(), errorf(CodeNetwork, "Could not reach the server. Check the internet connection and try again.")
	}
	textV, err := await(res.Call("text"))
	if err != nil {
		if ctx.Err() != nil {
			return js.Undefined(), ctx.Err()
		}
		return js.Undefined(), errorf(CodeNetwork, "The connection to the server broke. Try again.")
	}
	text := textV.String()
	var v js.Value = js.Null()
	if strings.TrimSpace(text) != "" {
		if v, err = jsonParse(text); err != nil {
			return js.Undefined(), errorf(protocol.CodeInternal, "The server sent an answer the app cannot read.")
		}
	}
	if !res.Get("ok").Bool() {
		if e := v.Get("error"); v.Type() == js.TypeObject && e.Type() == js.TypeObject {
			return js.Undefined(), &apiError{Code: protocol.Code(e.Get("code").String()), Message: e.Get("message").String()}
		}
		return js.Undefined(), errorf(protocol.CodeInternal, "The server answered "+res.Get("status").String()+".")
	}
	return v, nil
}

// apiBaseFor derives the HTTP origin of the API from the sync URL
// (ws://host/sync -> http://host, wss -> https).
func apiBaseFor(syncURL string) (string, error) {
	// By hand: net/url costs about 100 KB of wasm for this one line.
	scheme, rest, ok := strings.Cut(syncURL, "://")
	host, _, _ := strings.Cut(rest, "/")
	if !ok || host == "" || strings.ContainsAny(host, "?#@ ") {
		return "", errorf(protocol.CodeBadRequest, "syncURL must be a ws:// or wss:// URL, such as wss://example.org/sync.")
	}
	switch strings.ToLower(scheme) {
	case "ws":
		return "http://" + host, nil
	case "wss":
		return "https://" + host, nil
	}
	return "", errorf(protocol.CodeBadRequest, "syncURL must start with ws:// or wss://.")
}
