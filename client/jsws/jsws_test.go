//go:build js && wasm

package jsws_test

import (
	"context"
	"errors"
	"syscall/js"
	"testing"
	"time"

	"github.com/plansync/plansync/client/jsws"
)

// Node has no WebSocket server, so these test what a browser does without
// one; the engine against a real server is the end-to-end tests' job.

func TestDialRefused(t *testing.T) {
	if !js.Global().Get("WebSocket").Truthy() {
		t.Skip("no WebSocket: run Node with --experimental-websocket (Node 20) or Node 22+")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := (&jsws.Transport{URL: "ws://127.0.0.1:9/sync"}).Dial(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("dial to a closed port: %v (ctx %v)", err, ctx.Err())
	}
	t.Log(err)
}

func TestDialBadURL(t *testing.T) {
	if !js.Global().Get("WebSocket").Truthy() {
		t.Skip("no WebSocket")
	}
	if _, err := (&jsws.Transport{URL: "not a url"}).Dial(context.Background()); err == nil {
		t.Fatal("dialed a malformed URL")
	}
}

func TestNoWebSocket(t *testing.T) {
	if js.Global().Get("WebSocket").Truthy() {
		t.Skip("this runtime has a WebSocket")
	}
	if _, err := (&jsws.Transport{URL: "ws://127.0.0.1:9/"}).Dial(context.Background()); !errors.Is(err, jsws.ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
}
