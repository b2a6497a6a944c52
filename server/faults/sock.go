package faults

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// Sock is a bare protocol connection: it says hello and then either reads
// everything (Drain), answering the server's pings as gorilla does while
// reading, or reads nothing at all, like a stuck or hostile device. It is
// what the memory figure opens a thousand of: an engine each would measure
// the clients, not the server.
type Sock struct {
	ws      *websocket.Conn
	Welcome *protocol.Welcome

	cursor atomic.Uint64 // To of the last Changes read
	done   chan struct{}
	once   sync.Once
}

// DialSock connects to url and says hello with token.
func DialSock(ctx context.Context, url, token string) (*Sock, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4 << 10, WriteBufferSize: 1 << 10}
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	s := &Sock{ws: ws, done: make(chan struct{})}
	hello := &protocol.Hello{Protocol: protocol.Version, Client: uuid.Must(uuid.NewV7()), Token: token}
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteMessage(websocket.BinaryMessage, protocol.MustEncode(hello)); err != nil {
		_ = ws.Close()
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Time{})
	m, err := protocol.Decode(b)
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	w, ok := m.(*protocol.Welcome)
	if !ok {
		_ = ws.Close()
		return nil, fmt.Errorf("hello answered with %s", m.Type())
	}
	s.Welcome = w
	return s, nil
}

// Drain reads in the background until the connection ends, keeping the
// cursor of the last Changes frame.
func (s *Sock) Drain() {
	go func() {
		defer s.once.Do(func() { close(s.done) })
		for {
			_, b, err := s.ws.ReadMessage()
			if err != nil {
				return
			}
			if m, err := protocol.Decode(b); err == nil {
				if ch, ok := m.(*protocol.Changes); ok {
					s.cursor.Store(ch.To)
				}
			}
		}
	}()
}

// Cursor is the end of the last Changes frame read.
func (s *Sock) Cursor() uint64 { return s.cursor.Load() }

// Done is closed when Drain's reader has stopped.
func (s *Sock) Done() <-chan struct{} { return s.done }

// Close closes the socket without a close frame.
func (s *Sock) Close() error { return s.ws.Close() }
