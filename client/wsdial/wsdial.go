// Package wsdial is the native client.Transport: gorilla/websocket's dialer.
// It is its own package because it pulls in net/http and crypto/tls, which
// the wasm build must not carry (the browser has its own WebSocket).
package wsdial

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/protocol"
)

// Defaults.
const (
	// DefaultHandshakeTimeout bounds the HTTP upgrade.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultWriteWait bounds writing one frame; a peer that does not take
	// a frame in this long is treated as gone.
	DefaultWriteWait = 10 * time.Second
	// closeWait bounds sending the close frame on Close.
	closeWait = time.Second
)

// Transport dials a Plansync sync endpoint.
type Transport struct {
	// URL is the endpoint, e.g. ws://127.0.0.1:8080/sync. It must not
	// carry the session token: that goes in Hello (URLs end up in logs).
	URL string
	// Origin, when set, is sent as the Origin header: the server checks it
	// against the origins it serves, as a browser would send it.
	Origin string
	// HandshakeTimeout and WriteWait default to the constants above.
	HandshakeTimeout time.Duration
	WriteWait        time.Duration
}

var _ client.Transport = (*Transport)(nil)

// Dial implements client.Transport.
func (t *Transport) Dial(ctx context.Context) (client.Conn, error) {
	d := websocket.Dialer{
		HandshakeTimeout: cmpOr(t.HandshakeTimeout, DefaultHandshakeTimeout),
		// Off: the server's read limit counts wire bytes, and frames are
		// compressed by the protocol codec already.
		EnableCompression: false,
		Proxy:             http.ProxyFromEnvironment,
	}
	h := http.Header{}
	if t.Origin != "" {
		h.Set("Origin", t.Origin)
	}
	ws, resp, err := d.DialContext(ctx, t.URL, h)
	if err != nil {
		if resp != nil {
			if code, ok := codeForHTTP(resp.StatusCode); ok {
				return nil, protocol.Errorf(code, "upgrade refused: "+resp.Status)
			}
		}
		return nil, err
	}
	ws.SetReadLimit(protocol.MaxFrameBytes)
	return &conn{ws: ws, writeWait: cmpOr(t.WriteWait, DefaultWriteWait)}, nil
}

// codeForHTTP maps the statuses an upgrade is refused with to codes that
// change what the engine does (stop, not retry).
func codeForHTTP(status int) (protocol.Code, bool) {
	switch status {
	case http.StatusUnauthorized:
		return protocol.CodeUnauthorized, true
	case http.StatusUpgradeRequired:
		return protocol.CodeUpgradeRequired, true
	}
	return "", false
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// conn adapts a gorilla connection to client.Conn. Gorilla allows one
// concurrent reader and one writer; Close and control frames are safe from
// any goroutine.
type conn struct {
	ws        *websocket.Conn
	writeWait time.Duration
	closeOnce sync.Once
}

// ReadMessage implements client.Conn. Gorilla reads take no context, so a
// cancelled ctx closes the connection, which ends the read.
func (c *conn) ReadMessage(ctx context.Context) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, mapClose(err)
		}
		if typ == websocket.BinaryMessage {
			return b, nil
		}
		// Text frames are not part of the protocol; skip them.
	}
}

// mapClose turns a close frame with one of the protocol's close codes into
// a *protocol.Error.
func mapClose(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if code, ok := protocol.CodeForClose(ce.Code); ok {
			return protocol.Errorf(code, ce.Text)
		}
	}
	return err
}

// WriteMessage implements client.Conn.
func (c *conn) WriteMessage(ctx context.Context, b []byte) error {
	deadline := time.Now().Add(c.writeWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	return c.ws.WriteMessage(websocket.BinaryMessage, b)
}

// Close sends a normal close frame, best effort, and closes the socket.
func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
		err = c.ws.Close()
	})
	return err
}
