package hub_test

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	dto "github.com/prometheus/client_model/go"
)

// counter reads a counter of the app's registry; labels select one series.
func counter(t testing.TB, e *env, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := e.a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// TestSlowConsumer: a client that stops reading is disconnected once its
// send queue is over its bounds, while a reading client gets everything;
// the slow one then resumes from its cursor and misses nothing.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	// A write may block far longer than the test runs: only the queue's
	// bounds can drop the slow client in time.
	smallServerBuffers(t)
	e := newEnv(t, hub.Options{SendQueueFrames: 16, MaxPendingBytes: 512 << 10, PageBytes: 64 << 10, WriteWait: time.Minute})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sam, stok := e.user("Sam")
	sp := e.space("Room", server.KindGeneral, ana, bob, sam)

	slow := e.dial("sam (slow)", http.Header{smallBuffers: {"1"}})
	slow.hello(stok)
	b := e.connect("bob", btok)
	a := e.connect("ana", atok)

	// Incompressible records, so the bytes on the wire are what we think.
	var ids []record.Key
	blob := func() []byte {
		p := make([]byte, 60<<10)
		_, _ = rand.Read(p)
		return p
	}
	// The kernel's socket buffers are small on the slow socket's side
	// (smallServerBuffers); filling them would otherwise take a few MB,
	// slow under -race.
	deadline := time.Now().Add(3 * waitFor)
	for e.a.Hub.Connections() == 3 {
		if time.Now().After(deadline) || len(ids) > 2000 {
			t.Fatalf("the slow client is still connected after %d records", len(ids))
		}
		var ops []record.Op
		for range 8 {
			op := a.op(sp.ID, "blobs", map[string]any{"data": blob()})
			ops = append(ops, op)
			ids = append(ids, op.Key())
		}
		seqs := a.pushOK(ops...)
		b.syncTo(sp.ID, seqs[len(seqs)-1])
	}
	t.Logf("slow client dropped after %d records of 60 KiB", len(ids))
	if n := counter(t, e, "plansync_hub_disconnects_total", map[string]string{"reason": string(protocol.CodeSlowConsumer)}); n != 1 {
		t.Errorf("%v slow_consumer disconnects, want 1", n)
	}
	// A few more after the drop.
	for range 5 {
		op := a.op(sp.ID, "blobs", map[string]any{"data": blob()})
		ids = append(ids, op.Key())
		a.pushOK(op)
	}
	head := e.head(sp.ID)
	b.syncTo(sp.ID, head)
	a.syncTo(sp.ID, head)
	for _, k := range ids {
		if b.rec(k) == nil {
			t.Fatalf("the reading client missed record %s", k.ID)
		}
	}

	// The slow client reads what reached it, then finds the socket closed.
	_, code := slow.readUntilClosed()
	cursor := slow.at(sp.ID)
	t.Logf("slow client read up to %d of %d, then close %d", cursor, head, code)
	if cursor >= head {
		t.Fatalf("the slow client got everything (%d of %d): the test did not make it slow", cursor, head)
	}
	if code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
		t.Errorf("slow client closed with %d, want an error status", code)
	}

	// It comes back from its cursor and catches up completely.
	back := e.dial("sam again", nil)
	back.hello(stok, protocol.Cursor{Space: sp.ID, Seq: cursor})
	back.syncTo(sp.ID, head)
	for _, k := range ids {
		if slow.rec(k) == nil && back.rec(k) == nil {
			t.Errorf("record %s lost for the slow client", k.ID)
		}
	}
}

// TestCatchUpIsPaced: a client catching up a space far larger than its
// send queue's bounds, and slower to read than the store is to page, is
// never cut off as a slow consumer: catch-up waits for the queue to drain
// instead of filling it (a phone on 2G opening a big plan).
func TestCatchUpIsPaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{SendQueueFrames: 16, MaxPendingBytes: 256 << 10, PageBytes: 16 << 10, WriteWait: time.Minute})
	ana, atok := e.user("Ana")
	sp := e.space("Big", server.KindGeneral, ana)
	// 8 MiB of incompressible records: more than the kernel's socket
	// buffers hold (4 MiB of send buffer at most, by default), so an
	// unpaced catch-up must overflow the queue.
	var ids []record.Key
	writer := e.dial("op maker (never says hello, so gets nothing)", nil)
	for range 16 {
		var ops []record.Op
		for range 8 {
			p := make([]byte, 64<<10)
			_, _ = rand.Read(p)
			op := writer.op(sp.ID, "blobs", map[string]any{"data": p})
			ops = append(ops, op)
			ids = append(ids, op.Key())
		}
		e.commit(ops...)
	}
	head := e.head(sp.ID)

	c := e.dial("ana's phone", nil)
	c.hello(atok)
	// Not reading for a while: the store pages far faster than that.
	time.Sleep(time.Second)
	// Then read, with a deadline per step (it is slow under -race).
	for seq := uint64(16); seq < head+16; seq += 16 {
		c.syncTo(sp.ID, min(seq, head))
	}
	for _, k := range ids {
		if c.rec(k) == nil {
			t.Fatalf("record %s missing after catch-up", k.ID)
		}
	}
	if n := counter(t, e, "plansync_hub_disconnects_total", map[string]string{"reason": string(protocol.CodeSlowConsumer)}); n != 0 {
		t.Errorf("%v slow_consumer disconnects, want 0", n)
	}
}

// TestRateLimit: a client flooding pushes is told rate_limited and cut off;
// a well-behaved client on another connection is not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{PushRate: 10, PushBurst: 3, MaxRateDelay: 50 * time.Millisecond})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	carol, ctok := e.user("Carol")
	sp := e.space("Room", server.KindGeneral, ana, bob, carol)
	flood := e.connect("ana (flooding)", atok)
	b := e.connect("bob", btok)
	c := e.connect("carol", ctok)

	var flooded []record.Op
	for i := range 50 {
		op := flood.op(sp.ID, "notes", map[string]any{"text": "spam"})
		flooded = append(flooded, op)
		flood.batch++
		flood.remember(op)
		if err := flood.sendErr(&protocol.Push{Batch: flood.batch, Ops: []record.Op{op}}); err != nil {
			t.Logf("flooder's write %d failed: %v", i, err)
			break
		}
	}
	flood.expectFatal(protocol.CodeRateLimited)

	// Bob stays within his own budget (the burst) and is served.
	for range 3 {
		checkSync(t, b, c, sp.ID)
	}
	// The pushes the flooder got in before the cut are applied and reach
	// the others; the rest are not. The cut can reach the flooder before
	// the pushes it had already handed over are committed, so wait for
	// them (bounded) before counting.
	count := func() int {
		n := 0
		for _, op := range flooded {
			if e.record(op.Key()) != nil {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(waitFor); count() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	b.syncTo(sp.ID, e.head(sp.ID))
	stored := 0
	for _, op := range flooded {
		if e.record(op.Key()) != nil {
			stored++
			if b.rec(op.Key()) == nil {
				t.Errorf("a stored push of the flooder did not reach bob")
			}
		}
	}
	if stored == 0 || stored >= len(flooded) {
		t.Errorf("%d of %d flooded pushes stored, want some (the burst) but not all", stored, len(flooded))
	}
}

// TestOriginCheck: a browser page from another site cannot open a socket;
// the server's own origin, native clients (no Origin) and configured
// origins can.
func TestOriginCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{}, func(c *app.Config) { c.AllowedOrigins = []string{"https://app.plansync.example"} })
	ana, atok := e.user("Ana")
	e.space("Room", server.KindGeneral, ana)

	for _, origin := range []string{"http://evil.example", "null", "http://" + e.a.Addr() + ".evil.example", "https://app.plansync.example.evil.example"} {
		ws, resp, err := dialer.Dial(e.a.URL(), http.Header{"Origin": {origin}})
		if err == nil {
			ws.Close()
			t.Errorf("origin %s: socket opened", origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s: %v, want HTTP 403", origin, err)
		}
	}
	for _, origin := range []string{"", "http://" + e.a.Addr(), "https://app.plansync.example"} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		c := e.dial("origin "+origin, hdr)
		c.hello(atok)
		c.ping()
	}
}

// TestHTTPSurface: health, metrics (on the admin listener, with its
// token) and security headers.
func TestHTTPSurface(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{}, func(c *app.Config) { c.AdminAddr = "127.0.0.1:0" })
	ana, atok := e.user("Ana")
	sp := e.space("Room", server.KindGeneral, ana)
	a := e.connect("ana", atok)
	a.pushOK(a.op(sp.ID, "notes", map[string]any{"text": "hi"}))

	hc := &http.Client{Timeout: waitFor}
	getFrom := func(addr, path, token string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, sb.String()
	}
	get := func(path string) (*http.Response, string) { return getFrom(e.a.Addr(), path, "") }

	resp, body := get("/healthz")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q, want 200 ok", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("/healthz header %s: %q, want it to contain %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}

	if resp, _ = get("/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404 (metrics are on the admin listener)", resp.StatusCode)
	}
	resp, body = getFrom(e.a.AdminAddr(), "/metrics", e.a.AdminToken())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin /metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{"\nplansync_hub_connections 1\n", "plansync_hub_ops_total{result=\"ok\"} 1", "plansync_store_group_ops", "plansync_store_group_commit_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if resp, _ = getFrom(e.a.AdminAddr(), "/metrics", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("admin /metrics without the token: %d, want 401", resp.StatusCode)
	}

	// A plain GET of the sync endpoint (no upgrade) is refused.
	if resp, _ := get("/sync"); resp.StatusCode < 400 {
		t.Errorf("GET /sync without upgrade: %d", resp.StatusCode)
	}
}
