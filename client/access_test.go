package client_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/shared/protocol"
)

// accessClosing is a server that closes every connection with
// access_changed before it says anything.
type accessClosing struct{ dials atomic.Int64 }

func (a *accessClosing) Dial(ctx context.Context) (client.Conn, error) {
	a.dials.Add(1)
	return closedConn{}, nil
}

type closedConn struct{}

func (closedConn) ReadMessage(ctx context.Context) ([]byte, error) {
	return nil, protocol.Errorf(protocol.CodeAccessChanged, "your spaces or roles changed")
}
func (closedConn) WriteMessage(ctx context.Context, b []byte) error { return nil }
func (closedConn) Close() error                                     { return nil }

// TestAccessChangedReconnectsPromptlyButBounded: after access_changed the
// engine reconnects at once, whatever its backoff (here a minute), but only
// MaxQuickReconnects times in a row without a healthy connection: a server
// that closes every connection so is then retried after the backoff, not
// hammered.
func TestAccessChangedReconnectsPromptlyButBounded(t *testing.T) {
	tr := &accessClosing{}
	e := client.New(client.Options{
		Store: memstore.New(), Transport: tr,
		BackoffBase: time.Minute, BackoffMax: time.Minute,
		// This seed's first backoff is tens of seconds, beyond the wait below.
		Rand: rand.New(rand.NewPCG(1, 2)),
	})
	must(t, e.Open(ctx))
	defer e.Close()
	want := int64(1 + client.MaxQuickReconnects)
	eventually(t, "prompt reconnects after access_changed", func() bool { return tr.dials.Load() >= want })
	time.Sleep(time.Second) // a bound, not a speed: no further dial within it
	if got := tr.dials.Load(); got != want {
		t.Fatalf("%d dials, want %d (the first, then %d prompt reconnects, then the minute's backoff)", got, want, client.MaxQuickReconnects)
	}
}
