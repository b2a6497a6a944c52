package hub_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// logBuffer is a log sink tests read while the server writes to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withLog sends the server's log to b.
func withLog(b *logBuffer) func(*app.Config) {
	return func(c *app.Config) { c.Logger = slog.New(slog.NewTextHandler(b, nil)) }
}

// TestHelloDeadlinePingOnly: a socket that never says hello but keeps
// sending WebSocket pings and pongs is closed at the hello deadline;
// pinging does not buy it time.
func TestHelloDeadlinePingOnly(t *testing.T) {
	t.Parallel()
	const deadline = 500 * time.Millisecond
	e := newEnv(t, hub.Options{HelloDeadline: deadline, PongWait: time.Minute})

	// The server's deadline starts when the upgrade reaches it, after
	// this: measured from here, the close cannot come before the deadline.
	start := time.Now()
	c := e.dial("pinger", nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range 1000 { // bounded: 20 s of pinging at most
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// WebSocket-level only: a protocol frame before hello is
			// refused at once.
			_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
			if c.ws.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second)) != nil {
				return
			}
		}
	}()
	er := c.expectFatal(protocol.CodeBadRequest)
	took := time.Since(start)
	close(stop)
	<-done
	if took < deadline {
		t.Errorf("closed after %v, before the hello deadline of %v", took, deadline)
	}
	// Without the total deadline the pings would keep it open until
	// readUntilClosed gives up (waitFor); half of that is far above any
	// scheduling delay.
	if took > waitFor/2 {
		t.Errorf("closed after %v, the hello deadline is %v", took, deadline)
	}
	if er != nil && !strings.Contains(er.Message, "hello") {
		t.Errorf("the error does not say a hello was missing: %q", er.Message)
	}
	waitUntil(t, "forgotten by the hub", func() bool { return e.a.Hub.Connections() == 0 })
}

// dialStatus tries to open a socket and returns the HTTP status of a
// refused upgrade (0 when the socket opened, and then closes it at cleanup).
func dialStatus(t *testing.T, url string, hdr http.Header) (int, http.Header) {
	t.Helper()
	ws, resp, err := dialer.Dial(url, hdr)
	if err == nil {
		t.Cleanup(func() { _ = ws.Close() })
		return 0, nil
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	return resp.StatusCode, resp.Header
}

// TestAddressAndProcessCaps: past the per-address and per-process caps an
// upgrade is refused with HTTP 429 and a Retry-After before any socket
// exists; another address is still served, and a freed slot is usable.
func TestAddressAndProcessCaps(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	// The addresses come from a header here, as a trusted proxy's would.
	byHeader := func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	e := newEnv(t, hub.Options{MaxConnsPerAddr: 2, MaxConns: 4, ClientAddr: byHeader}, withLog(&logs))
	ana, atok := e.user("Ana")
	e.space("Room", server.KindGeneral, ana)
	from := func(a string) http.Header { return http.Header{"X-Test-Client": {a}} }

	a1 := e.dial("a1", from("A"))
	e.dial("a2", from("A"))
	code, hdr := dialStatus(t, e.a.URL(), from("A"))
	if code != http.StatusTooManyRequests {
		t.Fatalf("third socket from one address: HTTP %d, want 429", code)
	}
	if hdr.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	// Another address is served, up to the process cap.
	b := e.dial("b1", from("B"))
	b.hello(atok)
	b.ping()
	e.dial("b2", from("B"))
	if code, _ := dialStatus(t, e.a.URL(), from("C")); code != http.StatusTooManyRequests {
		t.Fatalf("fifth socket of the process: HTTP %d, want 429", code)
	}
	// A freed slot can be used again.
	_ = a1.ws.Close()
	waitUntil(t, "the closed socket forgotten", func() bool { return e.a.Hub.Connections() == 3 })
	c := e.dial("c1", from("C"))
	c.hello(atok)
	c.ping()
	if got := logs.String(); !strings.Contains(got, "event="+"connection_refused") || !strings.Contains(got, "cap=address") || !strings.Contains(got, "cap=process") {
		t.Errorf("refusals not in the security log:\n%s", got)
	}
}

// TestAddressCapBehindTrustedProxy: behind a proxy the server trusts
// (--trusted-proxies), the per-address cap counts the forwarded client
// address, so one school's sockets do not use up another's.
func TestAddressCapBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{MaxConnsPerAddr: 1}, func(c *app.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	via := func(a string) http.Header { return http.Header{"X-Forwarded-For": {a}} }
	e.dial("school A", via("198.51.100.7"))
	if code, _ := dialStatus(t, e.a.URL(), via("198.51.100.7")); code != http.StatusTooManyRequests {
		t.Fatalf("second socket of one forwarded address: HTTP %d, want 429", code)
	}
	e.dial("school B", via("203.0.113.9"))
}

// TestDefaultClientAddr: the default client address is the peer's host,
// an IPv6 peer grouped by its /64.
func TestDefaultClientAddr(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"192.0.2.7:5000":                  "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb:cccc::9]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":           "2001:db8:1:3::/64",
		"[::ffff:192.0.2.7]:80":           "192.0.2.7",
		"[fe80::1%eth0]:80":               "fe80::/64",
		"@":                               "local", // a unix socket
	} {
		r := &http.Request{RemoteAddr: remote}
		if got := hub.DefaultClientAddr(r); got != want {
			t.Errorf("%s: %q, want %q", remote, got, want)
		}
	}
}

// TestUserAndSessionCaps: past the per-session and per-user caps, hello is
// answered with too_many_connections; other people and sessions are not
// affected, and a closed socket frees its slot.
func TestUserAndSessionCaps(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	e := newEnv(t, hub.Options{MaxConnsPerSession: 2, MaxConnsPerUser: 3}, withLog(&logs))
	ana, tok1 := e.user("Ana")
	bob, btok := e.user("Bob")
	sp := e.space("Room", server.KindGeneral, ana, bob)
	tok2, err := app.AddSession(e.ctx, e.a.Store, ana, "second device")
	if err != nil {
		t.Fatal(err)
	}

	s1a := e.connect("ana 1a", tok1)
	e.connect("ana 1b", tok1)
	over := e.dial("ana 1c", nil)
	over.send(&protocol.Hello{Protocol: protocol.Version, Client: over.id, Token: tok1})
	over.expectFatal(protocol.CodeTooManyConns)

	e.connect("ana 2a", tok2) // a second session of hers: the user has room for one more
	over = e.dial("ana 2b", nil)
	over.send(&protocol.Hello{Protocol: protocol.Version, Client: over.id, Token: tok2})
	over.expectFatal(protocol.CodeTooManyConns)

	b := e.connect("bob", btok)
	checkSync(t, s1a, b, sp.ID)

	_ = s1a.ws.Close()
	waitUntil(t, "the closed socket forgotten", func() bool {
		users, _, _ := e.a.Hub.Registered()
		return users == 3
	})
	back := e.connect("ana 1a again", tok1)
	checkSync(t, b, back, sp.ID)
	if got := logs.String(); !strings.Contains(got, "cap=session") || !strings.Contains(got, "cap=user") {
		t.Errorf("refusals not in the security log:\n%s", got)
	}
	if strings.Contains(logs.String(), tok1) || strings.Contains(logs.String(), tok2) {
		t.Errorf("a token is in the log")
	}
}

// TestPanicCostsOneConnection: a panic in any kind of a connection's work
// closes that connection with internal and is logged; the server keeps
// serving everyone else and shuts down cleanly.
func TestPanicCostsOneConnection(t *testing.T) {
	// Not parallel: the hook is process-wide (it only fires for this
	// test's victims, but other tests' timing would be disturbed).
	t.Cleanup(func() { hub.SetTestHook(nil) })
	for _, kind := range []string{"reader", "writer", "pusher", "catch-up", "offer"} {
		t.Run(kind, func(t *testing.T) {
			var logs logBuffer
			e := newEnv(t, hub.Options{}, withLog(&logs))
			ana, atok := e.user("Ana")
			bob, btok := e.user("Bob")
			vic, vtok := e.user("Victim")
			sp := e.space("Room", server.KindGeneral, ana, bob, vic)
			a := e.connect("ana", atok)
			b := e.connect("bob", btok)

			v := e.dial("victim", nil)
			victim := v.ws.LocalAddr().String()
			var once sync.Once
			panicked := make(chan struct{})
			unblock := make(chan struct{})
			var unblockOnce sync.Once
			release := func() { unblockOnce.Do(func() { close(unblock) }) }
			t.Cleanup(release)
			hub.SetTestHook(func(k, remote string) {
				if remote != victim {
					return
				}
				if kind == "catch-up" && k == "writer" {
					// Hold the victim's writer, so that the connection
					// stays subscribed after catch-up panics and fan-out
					// must take its lock: a panic that left it locked
					// would stall fan-out for everyone.
					select {
					case <-unblock:
					case <-time.After(waitFor):
					}
					return
				}
				if k == kind {
					once.Do(func() { close(panicked) })
					panic("injected panic in " + k)
				}
			})
			switch kind {
			case "reader", "writer", "catch-up":
				v.send(&protocol.Hello{Protocol: protocol.Version, Client: v.id, Token: vtok})
			case "pusher", "offer":
				v.hello(vtok)
				if kind == "pusher" {
					v.push(v.op(sp.ID, "notes", map[string]any{"text": "boom"}))
				} else {
					a.pushOK(a.op(sp.ID, "notes", map[string]any{"text": "offered"}))
				}
			}
			select {
			case <-panicked:
			case <-time.After(waitFor):
				t.Fatalf("the %s hook never ran", kind)
			}
			// Everyone else is still served, live.
			checkSync(t, a, b, sp.ID)
			checkSync(t, b, a, sp.ID)
			release()
			v.expectFatal(protocol.CodeInternal)
			hub.SetTestHook(nil)
			// A newcomer is served too, and the victim can come back.
			again := e.connect("victim again", vtok)
			checkSync(t, a, again, sp.ID)
			if got := logs.String(); !strings.Contains(got, "injected panic in "+kind) {
				t.Errorf("the panic is not logged:\n%s", got)
			}
			e.close() // bounded: fails the test if a connection's goroutine hangs
		})
	}
}

// TestSubscribeAfterClose: a connection that ends while its hello is
// still reading the store is not registered afterwards (it would stay in
// the hub's maps, offered every change, for good).
func TestSubscribeAfterClose(t *testing.T) {
	t.Cleanup(func() { hub.SetTestHook(nil) })
	e := newEnv(t, hub.Options{PingPeriod: 20 * time.Millisecond, PongWait: time.Minute})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sp := e.space("Room", server.KindGeneral, ana, bob)
	b := e.connect("bob", btok)

	v := e.dial("leaves during hello", nil)
	victim := v.ws.LocalAddr().String()
	reached := make(chan struct{})
	hub.SetTestHook(func(k, remote string) {
		if remote != victim || k != "hello" {
			return
		}
		close(reached)
		// The client is gone before hello registers it: wait until its
		// writer has noticed (a ping fails) and removed it.
		deadline := time.Now().Add(waitFor)
		for e.a.Hub.Connections() > 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	})
	v.send(&protocol.Hello{Protocol: protocol.Version, Client: v.id, Token: atok})
	<-reached
	_ = v.ws.Close()
	waitUntil(t, "the leaver removed", func() bool { return e.a.Hub.Connections() == 1 })
	// Bob's own push passes fan-out, which must not find the leaver.
	b.pushOK(b.op(sp.ID, "notes", map[string]any{"text": "hi"}))
	// The leaver's hello ends on its own after the hook: wait for it.
	waitUntil(t, "only bob registered (users, sessions, space subscriptions)", func() bool {
		users, sessions, spaces := e.a.Hub.Registered()
		return users == 1 && sessions == 1 && spaces == 1
	})
}

// TestRevokedDuringHello: a session revoked while a socket's hello is
// reading the store (after its session was read, before the socket is
// registered, so revocation finds no socket to close) does not get a live
// socket.
func TestRevokedDuringHello(t *testing.T) {
	t.Cleanup(func() { hub.SetTestHook(nil) })
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	e.space("Room", server.KindGeneral, ana)
	v := e.dial("revoked meanwhile", nil)
	victim := v.ws.LocalAddr().String()
	hub.SetTestHook(func(k, remote string) {
		if remote != victim || k != "hello" {
			return
		}
		// What auth.Service.Revoke does: delete, then close the sockets.
		hash := server.HashToken(atok)
		if err := e.a.Store.DeleteSession(e.ctx, hash); err != nil {
			t.Error(err)
		}
		if n := e.a.Hub.CloseSession(hash); n != 0 {
			t.Errorf("CloseSession closed %d sockets of a hello not yet registered", n)
		}
	})
	v.send(&protocol.Hello{Protocol: protocol.Version, Client: v.id, Token: atok})
	v.expectFatal(protocol.CodeUnauthorized)
	waitUntil(t, "nothing registered", func() bool {
		users, sessions, spaces := e.a.Hub.Registered()
		return users == 0 && sessions == 0 && spaces == 0
	})
}

// smallBuffers is the header that asks smallServerBuffers for a small
// server-side send buffer on this socket.
const smallBuffers = "X-Test-Small-Send-Buffer"

// smallServerBuffers gives the server side of sockets dialed with the
// smallBuffers header a small send buffer: a client that stops reading
// then backs up into the server's queue after kilobytes instead of the
// megabytes a loopback socket otherwise absorbs, which under -race on a
// busy machine takes longer to push than a test may run. Only requests
// with the header are touched, so tests running in parallel are not.
func smallServerBuffers(t *testing.T) {
	t.Cleanup(func() { hub.SetUpgradedHook(nil) })
	hub.SetUpgradedHook(func(r *http.Request, nc net.Conn) {
		if r.Header.Get(smallBuffers) == "" {
			return
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			if err := tc.SetWriteBuffer(4096); err != nil {
				t.Errorf("shrinking the send buffer: %v", err)
			}
		}
	})
}

// TestQueuedBytesBound: several slow readers, each within its own queue's
// bound, are cut as slow consumers once the bytes queued across the
// process pass MaxQueuedBytes, while a reader keeping up is served; once
// everyone has read or gone, nothing is left counted.
func TestQueuedBytesBound(t *testing.T) {
	t.Parallel()
	const global = 256 << 10
	// Each queue alone could hold more than the test ever pushes (2000
	// records of 60 KiB) and WriteWait is long: only the global bound can
	// cut the slow readers within the test.
	smallServerBuffers(t)
	e := newEnv(t, hub.Options{MaxQueuedBytes: global, MaxPendingBytes: 256 << 20, SendQueueFrames: 8192, PageBytes: 64 << 10, WriteWait: time.Minute})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sam, stok := e.user("Sam")
	sp := e.space("Room", server.KindGeneral, ana, bob, sam)
	const slow = 3
	var slows []*client
	for i := range slow {
		tok := stok
		if i > 0 {
			var err error
			if tok, err = app.AddSession(e.ctx, e.a.Store, sam, fmt.Sprint("device ", i)); err != nil {
				t.Fatal(err)
			}
		}
		c := e.dial(fmt.Sprint("sam (slow) ", i), http.Header{smallBuffers: {"1"}})
		c.hello(tok)
		slows = append(slows, c)
	}
	b := e.connect("bob", btok)
	a := e.connect("ana", atok)

	blob := func() []byte {
		p := make([]byte, 60<<10)
		_, _ = rand.Read(p)
		return p
	}
	records := 0
	deadline := time.Now().Add(3 * waitFor)
	for e.a.Hub.Connections() > 2 {
		if time.Now().After(deadline) || records > 2000 {
			t.Fatalf("%d slow readers still connected after %d records of 60 KiB", e.a.Hub.Connections()-2, records)
		}
		var ops []record.Op
		for range 8 {
			ops = append(ops, a.op(sp.ID, "blobs", map[string]any{"data": blob()}))
		}
		records += len(ops)
		seqs := a.pushOK(ops...)
		b.syncTo(sp.ID, seqs[len(seqs)-1])
	}
	t.Logf("slow readers cut after %d records of 60 KiB", records)
	if n := counter(t, e, "plansync_hub_disconnects_total", map[string]string{"reason": string(protocol.CodeSlowConsumer)}); n != slow {
		t.Errorf("%v slow_consumer disconnects, want %d", n, slow)
	}
	for _, s := range slows {
		_, code := s.readUntilClosed()
		if code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
			t.Errorf("%s closed with %d, want an error status", s.name, code)
		}
	}
	checkSync(t, a, b, sp.ID)
	// What the cut connections held is given back.
	waitUntil(t, "nothing queued", func() bool { return e.a.Hub.QueuedBytes() == 0 })
	mfs, err := e.a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "plansync_hub_queued_bytes" {
			found = true
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 0 {
				t.Errorf("plansync_hub_queued_bytes is %v with nothing queued", v)
			}
		}
	}
	if !found {
		t.Errorf("no plansync_hub_queued_bytes metric")
	}
}

// TestSessionExpiryCloses: an open socket closes when its session expires,
// with unauthorized, and one whose session is revoked closes at once;
// others stay.
func TestSessionExpiryCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sp := e.space("Room", server.KindGeneral, ana, bob)
	const ttl = 800 * time.Millisecond
	short := "short-" + uuid.NewString()
	se := &server.Session{Hash: server.HashToken(short), User: ana, Created: time.Now(), Expires: time.Now().Add(ttl), Label: "short"}
	if err := e.a.Store.CreateSession(e.ctx, se); err != nil {
		t.Fatal(err)
	}
	a := e.connect("ana (short session)", short)
	b := e.connect("bob", btok)
	long := e.connect("ana (long session)", atok)
	checkSync(t, a, b, sp.ID)
	start := time.Now()
	er := a.expectFatal(protocol.CodeUnauthorized)
	if time.Since(se.Created) < ttl {
		t.Errorf("closed %v after the start, before the session's %v expiry", time.Since(start), ttl)
	}
	if er != nil && !strings.Contains(er.Message, "expired") {
		t.Errorf("the error does not say the session expired: %q", er.Message)
	}
	checkSync(t, b, long, sp.ID)

	// Revoking closes at once.
	if n := e.a.Hub.CloseSession(server.HashToken(atok)); n != 1 {
		t.Errorf("CloseSession closed %d sockets, want 1", n)
	}
	long.expectFatal(protocol.CodeUnauthorized)
	checkSync(t, b, b, sp.ID)
}

// TestSecurityEvents: a push refused by the access rules and a push flood
// stopped by the rate limiter are in the security log, without the token.
func TestSecurityEvents(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	e := newEnv(t, hub.Options{PushRate: 10, PushBurst: 2, MaxRateDelay: 50 * time.Millisecond}, withLog(&logs))
	ana, atok := e.user("Ana")
	e.space("Room", server.KindGeneral, ana)
	other := e.space("Not hers", server.KindGeneral)

	a := e.connect("ana", atok)
	ack, _ := a.ack(a.push(a.op(other.ID, "notes", map[string]any{"text": "x"}), a.op(other.ID, "notes", map[string]any{"text": "y"})))
	if ack.Results[0].Code != protocol.CodeForbidden {
		t.Fatalf("push to a foreign space: %+v, want forbidden", ack.Results[0])
	}
	waitUntil(t, "the forbidden op logged", func() bool {
		return strings.Contains(logs.String(), "event=forbidden_op") && strings.Contains(logs.String(), "ops=2")
	})

	for i := range 50 {
		a.batch++
		if err := a.sendErr(&protocol.Push{Batch: a.batch, Ops: []record.Op{a.op(other.ID, "notes", map[string]any{"text": "spam"})}}); err != nil {
			t.Logf("flood write %d failed: %v", i, err)
			break
		}
	}
	a.readUntilClosed()
	waitUntil(t, "the rate limit logged", func() bool { return strings.Contains(logs.String(), "event=rate_limited") })
	if strings.Contains(logs.String(), atok) {
		t.Errorf("the token is in the log")
	}
}
