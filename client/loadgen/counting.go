package loadgen

import (
	"context"
	"sync/atomic"

	"github.com/plansync/plansync/client"
)

// Counter counts the bytes of the frames the engines send (up) and receive
// (down). It is what the load generator reports when no byte-counting proxy
// stands between it and the server, and it is reported in every run so
// that our count and the harness's proxy count can be compared. It counts
// WebSocket message payloads: the HTTP upgrade, WebSocket frame headers,
// control frames (close) and TCP/IP overhead are not included.
type Counter struct {
	up, down, dials atomic.Int64
}

// Bytes returns the totals so far.
func (c *Counter) Bytes() (up, down int64) { return c.up.Load(), c.down.Load() }

// Dials returns how many connections were attempted through the counter.
func (c *Counter) Dials() int64 { return c.dials.Load() }

// Wrap returns a transport that counts through c.
func (c *Counter) Wrap(t client.Transport) client.Transport {
	return &countingTransport{t: t, c: c}
}

type countingTransport struct {
	t client.Transport
	c *Counter
}

func (t *countingTransport) Dial(ctx context.Context) (client.Conn, error) {
	t.c.dials.Add(1)
	conn, err := t.t.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: t.c}, nil
}

type countingConn struct {
	client.Conn
	c *Counter
}

func (c *countingConn) ReadMessage(ctx context.Context) ([]byte, error) {
	b, err := c.Conn.ReadMessage(ctx)
	c.c.down.Add(int64(len(b)))
	return b, err
}

func (c *countingConn) WriteMessage(ctx context.Context, frame []byte) error {
	err := c.Conn.WriteMessage(ctx, frame)
	if err == nil {
		c.c.up.Add(int64(len(frame)))
	}
	return err
}
