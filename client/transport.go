package client

import "context"

// Transport opens connections to the sync server. Natively it is
// client/wsdial (gorilla's dialer); in the browser, a wrapper of the
// browser's WebSocket, which keeps net/http out of the wasm binary.
type Transport interface {
	// Dial connects. The session token is not part of it: it travels in
	// the Hello frame, never in a URL.
	Dial(ctx context.Context) (Conn, error)
}

// Conn is one connection carrying whole binary frames. One goroutine may
// read while another writes; Close may be called at any time from any
// goroutine and makes blocked ReadMessage and WriteMessage calls return.
//
// A connection the server closed with one of the protocol's close codes
// (protocol.Status.Close, 4000 and up) should be reported by ReadMessage as
// a *protocol.Error with that code, so the engine can tell "sign in again"
// from "try later".
type Conn interface {
	ReadMessage(ctx context.Context) ([]byte, error)
	WriteMessage(ctx context.Context, frame []byte) error
	Close() error
}
