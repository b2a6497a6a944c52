//go:build js && wasm

// Package jsws is the browser's client.Transport: the browser's own
// WebSocket, reached through syscall/js. A Go WebSocket library would pull
// net/http and crypto/tls into the wasm binary (about 2 MB raw, DESIGN.md
// section 8) to do what the browser already does.
//
// Frames are binary (binaryType "arraybuffer"); text frames are not part of
// the protocol and are skipped. The browser offers no way to pause reading,
// so incoming frames wait in a queue bounded in frames and bytes; a reader
// that falls that far behind loses the connection (ErrSlowReader) and the
// engine resumes from its cursor, as the server does with a slow client.
// Writing waits while the socket's bufferedAmount is above
// DefaultMaxBuffered, so a big offline backlog does not pile up in the
// browser's memory. Browsers cannot send WebSocket pings; the engine's
// application-level Ping and Pong find dead connections.
package jsws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/protocol"
)

// Defaults and limits.
const (
	// DefaultMaxBuffered is how many bytes may wait in the socket's send
	// buffer (bufferedAmount) before WriteMessage waits: one full frame
	// and a little, so a push of protocol.MaxFrameBytes still goes.
	DefaultMaxBuffered = protocol.MaxFrameBytes + 64<<10
	// DefaultWriteWait bounds one WriteMessage, waiting for the buffer
	// included; a socket that does not drain in this long is treated as
	// gone.
	DefaultWriteWait = 10 * time.Second
	// drainPoll is how often a waiting writer looks at bufferedAmount:
	// the browser fires no event when the buffer drains.
	drainPoll = 50 * time.Millisecond
	// maxQueuedFrames and maxQueuedBytes bound the frames received and
	// not yet read.
	maxQueuedFrames = 64
	maxQueuedBytes  = 8 << 20
	// closeNormal is the close code Close sends.
	closeNormal = 1000
	// readyOpen is WebSocket.OPEN.
	readyOpen = 1
)

// Errors.
var (
	// ErrSlowReader ends a connection whose frames were not read fast
	// enough (see the package comment).
	ErrSlowReader = errors.New("jsws: frames arrived faster than they were read")
	// ErrWriteTimeout ends a connection whose send buffer did not drain
	// within the write wait.
	ErrWriteTimeout = errors.New("jsws: the connection did not take a frame in time")
	// ErrClosed is returned by a connection closed by Close.
	ErrClosed = errors.New("jsws: connection closed")
	// errNoConnection is a dial or connection that failed without a
	// close code (the browser says no more: no route, refused, TLS).
	errNoConnection = errors.New("jsws: could not connect to the server")
	// ErrUnavailable means this JavaScript environment has no WebSocket.
	ErrUnavailable = errors.New("jsws: this browser has no WebSocket")
)

// Transport dials a Plansync sync endpoint with the browser's WebSocket.
type Transport struct {
	// URL is the endpoint, ws:// or wss://. The session token goes in
	// Hello, never here.
	URL string
	// MaxBuffered and WriteWait default to the constants above.
	MaxBuffered int
	WriteWait   time.Duration
}

var _ client.Transport = (*Transport)(nil)

// Dial implements client.Transport. The browser reports no HTTP status for
// a refused upgrade, only a close with code 1006, so every failed dial is
// one the engine retries.
func (t *Transport) Dial(ctx context.Context) (client.Conn, error) {
	ctor := js.Global().Get("WebSocket")
	if !ctor.Truthy() {
		return nil, ErrUnavailable
	}
	c := &conn{
		maxBuffered: t.MaxBuffered,
		writeWait:   t.WriteWait,
		frames:      make(chan []byte, maxQueuedFrames),
		opened:      make(chan struct{}),
		errored:     make(chan struct{}),
		closed:      make(chan struct{}),
	}
	if c.maxBuffered <= 0 {
		c.maxBuffered = DefaultMaxBuffered
	}
	if c.writeWait <= 0 {
		c.writeWait = DefaultWriteWait
	}
	ws, err := newSocket(ctor, t.URL)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	ws.Set("binaryType", "arraybuffer")
	c.on("open", func(js.Value) { close(c.opened) })
	c.on("message", c.onMessage)
	c.on("close", c.onClose)
	// In a browser "error" always comes with a "close", which carries
	// what there is to know; some runtimes (Node 20's WebSocket) fire only
	// "error" when the connection cannot be made, so a dial ends on either.
	// The handler only records: calling close() from inside it makes
	// Node 20's WebSocket fire "error" again, without end.
	c.on("error", func(js.Value) {
		c.mu.Lock()
		if c.err == nil {
			c.err = errNoConnection
		}
		c.mu.Unlock()
		c.errOnce.Do(func() { close(c.errored) })
	})

	select {
	case <-c.opened:
		return c, nil
	case <-c.closed:
		return nil, c.closeErr()
	case <-c.errored:
		// The handlers stay until the close event that follows in a
		// browser: released now, that event would call a freed function.
		return nil, c.closeErr()
	case <-ctx.Done():
		_ = c.Close()
		return nil, ctx.Err()
	}
}

// newSocket calls new WebSocket(url), turning the exception a malformed
// URL throws into an error.
func newSocket(ctor js.Value, url string) (ws js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jsws: %v", r)
		}
	}()
	return ctor.New(url), nil
}

// conn is one browser WebSocket. Its event handlers run on the browser's
// event loop and never block: frames go to a bounded channel, the close
// ends the connection.
type conn struct {
	ws          js.Value
	maxBuffered int
	writeWait   time.Duration
	funcs       []js.Func

	frames chan []byte
	opened chan struct{}
	// errored is closed by the first error event.
	errored chan struct{}
	errOnce sync.Once
	closed  chan struct{} // closed by the socket's close event

	mu       sync.Mutex
	queued   int   // bytes in frames
	err      error // why the connection ended
	isClosed bool
	released bool
}

// on adds an event handler, kept for release after the close event.
func (c *conn) on(event string, h func(ev js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var ev js.Value
		if len(args) > 0 {
			ev = args[0]
		}
		h(ev)
		return nil
	})
	c.funcs = append(c.funcs, f)
	c.ws.Call("addEventListener", event, f)
}

func (c *conn) onMessage(ev js.Value) {
	data := ev.Get("data")
	if data.Type() == js.TypeString {
		return
	}
	u8 := js.Global().Get("Uint8Array").New(data)
	n := u8.Length()
	c.mu.Lock()
	over := c.queued+n > maxQueuedBytes
	if !over {
		c.queued += n
	}
	c.mu.Unlock()
	if !over {
		b := make([]byte, n)
		js.CopyBytesToGo(b, u8)
		select {
		case c.frames <- b:
			return
		default:
		}
	}
	c.fail(ErrSlowReader)
}

// fail ends the connection for err (first reason wins).
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.ws.Call("close", closeNormal)
}

// onClose maps the close code: the protocol's own codes (4000 and up)
// become *protocol.Error, as client/wsdial does, so the engine can tell
// "sign in again" from "try later".
func (c *conn) onClose(ev js.Value) {
	code, reason := ev.Get("code").Int(), ev.Get("reason").String()
	c.mu.Lock()
	if c.err == nil {
		if pc, ok := protocol.CodeForClose(code); ok {
			c.err = protocol.Errorf(pc, reason)
		} else if reason != "" {
			c.err = fmt.Errorf("jsws: connection closed (%d %s)", code, reason)
		} else {
			c.err = fmt.Errorf("jsws: connection closed (%d)", code)
		}
	}
	c.isClosed = true
	c.mu.Unlock()
	close(c.closed)
	c.release()
}

// release drops the event handlers; after the close event the socket
// fires no more.
func (c *conn) release() {
	c.mu.Lock()
	done := c.released
	c.released = true
	c.mu.Unlock()
	if done {
		return
	}
	for _, f := range c.funcs {
		f.Release()
	}
}

func (c *conn) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// ReadMessage implements client.Conn. Frames that arrived before the
// close are read first.
func (c *conn) ReadMessage(ctx context.Context) ([]byte, error) {
	select {
	case b := <-c.frames:
		return c.took(b), nil
	default:
	}
	select {
	case b := <-c.frames:
		return c.took(b), nil
	case <-c.closed:
		select {
		case b := <-c.frames:
			return c.took(b), nil
		default:
		}
		return nil, c.closeErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *conn) took(b []byte) []byte {
	c.mu.Lock()
	c.queued -= len(b)
	c.mu.Unlock()
	return b
}

// WriteMessage implements client.Conn. It waits, polling, while the send
// buffer holds more than maxBuffered bytes.
func (c *conn) WriteMessage(ctx context.Context, b []byte) error {
	deadline := time.Now().Add(c.writeWait)
	var tick *time.Ticker
	for {
		select {
		case <-c.closed:
			return c.closeErr()
		default:
		}
		if c.ws.Get("readyState").Int() != readyOpen {
			return ErrClosed
		}
		if c.ws.Get("bufferedAmount").Int() <= c.maxBuffered {
			break
		}
		if time.Now().After(deadline) {
			c.fail(ErrWriteTimeout)
			return ErrWriteTimeout
		}
		if tick == nil {
			tick = time.NewTicker(drainPoll)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-c.closed:
			return c.closeErr()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	c.ws.Call("send", u8)
	return nil
}

// Close implements client.Conn: a normal close. Blocked reads and writes
// return when the close event arrives.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	closed := c.isClosed
	c.mu.Unlock()
	if !closed {
		c.ws.Call("close", closeNormal)
	}
	return nil
}
