package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// member is one node of an in-process test cluster: a real NATS server
// with JetStream on 127.0.0.1, a real badger view and the cluster Store.
type member struct {
	name  string
	dir   string
	port  int // cluster (route) port, fixed across restarts
	node  *Node
	conn  *nats.Conn
	store *Store
}

type trio struct {
	t       testing.TB
	members []*member
	routes  []string
	tls     *natsserver.TLSConfigOpts // route TLS of every node; nil: plain routes
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func quiet() *slog.Logger {
	if os.Getenv("CLUSTER_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTrio starts three nodes and opens a Store on each.
func newTrio(t testing.TB) *trio {
	t.Helper()
	return newTrioTLS(t, nil)
}

// newTrioTLS is newTrio with route TLS.
func newTrioTLS(t testing.TB, tls *natsserver.TLSConfigOpts) *trio {
	t.Helper()
	tr := &trio{t: t, tls: tls}
	for i := range 3 {
		m := &member{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), port: freePort(t)}
		tr.members = append(tr.members, m)
		tr.routes = append(tr.routes, fmt.Sprintf("127.0.0.1:%d", m.port))
	}
	for _, m := range tr.members {
		tr.startNode(m)
	}
	// Open concurrently: the first CreateStream waits for a meta leader,
	// which needs the routes of all three up.
	errs := make(chan error, 3)
	for _, m := range tr.members {
		go func() { errs <- tr.openStore(m) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, m := range tr.members {
			tr.stop(m)
		}
	})
	return tr
}

func (tr *trio) startNode(m *member) {
	tr.t.Helper()
	n, err := StartNode(NodeConfig{
		Name: m.name, Dir: filepath.Join(m.dir, "nats"), ClusterName: "test",
		ClusterListen: fmt.Sprintf("127.0.0.1:%d", m.port), Routes: tr.routes, Logger: quiet(), RouteTLS: tr.tls,
	})
	if err != nil {
		tr.t.Fatal(err)
	}
	m.node = n
}

func (tr *trio) openStore(m *member) error {
	conn, err := m.node.Connect("plansync-" + m.name)
	if err != nil {
		return err
	}
	clock := new(Clock)
	local, err := store.Open(filepath.Join(m.dir, "badger"), store.Options{Now: clock.Now, Logger: quiet(),
		FreeSpace: func() (uint64, error) { return 1 << 40, nil }})
	if err != nil {
		conn.Close()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{Conn: conn, Local: local, Clock: clock, Logger: quiet(), ProposeTimeout: 2 * time.Second})
	if err != nil {
		local.Close()
		conn.Close()
		return err
	}
	m.conn, m.store = conn, s
	return nil
}

// stop closes a member's store, connection and node (a clean stop).
func (tr *trio) stop(m *member) {
	if m.store != nil {
		m.store.Close()
		m.store = nil
	}
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
	if m.node != nil {
		m.node.Shutdown()
		m.node = nil
	}
}

// restart starts a stopped member again on the same folders and port.
func (tr *trio) restart(m *member) {
	tr.t.Helper()
	tr.startNode(m)
	if err := tr.openStore(m); err != nil {
		tr.t.Fatal(err)
	}
}

// writer makes ops as one device would.
type writer struct {
	node, author uuid.UUID
	clock        *hlc.Clock
}

func newWriter() *writer {
	return &writer{node: uuid.Must(uuid.NewV7()), author: uuid.Must(uuid.NewV7()), clock: hlc.NewClock(nil, 0)}
}

func (w *writer) op(space, id uuid.UUID, field string, v any) record.Op {
	op := record.Op{Space: space, Collection: "notes", ID: id, HLC: w.clock.Now(), Node: w.node, Author: w.author,
		Writes: []record.Write{{Name: field, Value: v}}}
	if err := op.Validate(); err != nil {
		panic(err)
	}
	return op
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
