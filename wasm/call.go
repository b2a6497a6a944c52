//go:build js && wasm

package main

import (
	"strings"

	"github.com/plansync/plansync/shared/protocol"
)

// callMethods are the HTTP methods the team and account endpoints use
// (shared/PROTOCOL.md, "HTTP API").
var callMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true}

// call sends one request to the server's JSON API as the signed-in person,
// so that the page's screens (invites, team, settings) reach the endpoints
// the engine has no verb for without ever holding the session token: the
// token stays in this module and IndexedDB. Only paths under /api/ are
// allowed, with no dot segments (spelled %2e too), query or fragment.
func (a *app) call(method, path string, body map[string]any) (any, error) {
	method = strings.ToUpper(method)
	if !callMethods[method] {
		return nil, errorf(protocol.CodeBadRequest, "method must be GET, POST, PUT or DELETE.")
	}
	// The browser's URL parser reads %2e as a dot, so a dot segment may
	// hide behind it.
	dots := strings.ReplaceAll(strings.ToLower(path), "%2e", ".")
	if !strings.HasPrefix(path, "/api/") || strings.ContainsAny(path, "?#\\ ") || strings.Contains(path, "//") ||
		strings.Contains(dots, "/./") || strings.Contains(dots, "/../") || strings.HasSuffix(dots, "/.") || strings.HasSuffix(dots, "/..") {
		return nil, errorf(protocol.CodeBadRequest, "path must be an /api/ path of the server.")
	}
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	if tok == "" {
		return nil, errorf(CodeSignedOut, "Sign in first.")
	}
	ctx, cancel := withTimeout()
	defer cancel()
	return a.request(ctx, method, path, body, tok)
}
