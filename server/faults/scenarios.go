package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/record"
)

// Logf prints a scenario's progress (t.Logf in tests).
type Logf func(format string, args ...any)

// Result is what one scenario measured.
type Result struct {
	Scenario string
	Duration time.Duration
	Records  int // records in the space at the end
	// ResumeBytes is what a client that was cut off downloaded to catch up
	// with a few changes made meanwhile; FullBytes is what a fresh client
	// downloads for the whole space. Both count frame payloads.
	ResumeBytes, FullBytes int64
	// Missing is how many changes the returning client had missed.
	Missing int
}

// Scenario is one network fault, run against a fresh server in dir.
type Scenario struct {
	Name string
	Run  func(ctx context.Context, dir string, rng *rand.Rand, logf Logf) (Result, error)
}

// Scenarios are the network faults, in the order the soak runs them.
var Scenarios = []Scenario{
	{"latency", Latency},
	{"cut_mid_frame", CutMidFrame},
	{"long_offline", LongOffline},
	{"half_open", HalfOpen},
	{"slow_2g", Slow2G},
}

// converged bounds a scenario's waits for convergence: generous, for the
// race detector on two busy cores; a healthy run takes seconds.
const converged = 90 * time.Second

// resumeMissing is how many changes a returning client misses in the resume
// check: "a few".
const resumeMissing = 3

// maxResumeShare is the most a resume with resumeMissing changes missing may
// cost, as a share of a full sync of the space.
const maxResumeShare = 0.25

// writeRecords has c create n records of the given collection with a text
// field of size bytes, then edit every other one once.
func writeRecords(ctx context.Context, c *Client, rng *rand.Rand, coll string, n, size int) error {
	var keys []record.Key
	for i := range n {
		k, err := c.Create(ctx, coll, map[string]any{"title": fmt.Sprintf("%s %d", c.Name, i), "text": text(rng, size)})
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	for i := 0; i < len(keys); i += 2 {
		if err := c.Edit(ctx, keys[i], map[string]any{"text": text(rng, size)}); err != nil {
			return err
		}
	}
	return nil
}

// fork draws an independent generator from rng, for a goroutine of its
// own: rand.Rand is not safe for concurrent use.
func fork(rng *rand.Rand) *rand.Rand { return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())) }

// parallel runs fs at once and joins their errors.
func parallel(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("still not %s after %v", what, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// offline reports whether the engine has noticed it has no connection.
func offline(c *Client) func() bool {
	return func() bool {
		s := c.State().Status
		return s == client.StatusOffline || s == client.StatusConnecting
	}
}

// resumeCheck cuts back off (the proxy goes down), has writer make
// resumeMissing small changes, brings the proxy up and measures what back
// downloads to catch up, against what a fresh client downloads for the
// whole space. It fails when the resume is not well below a full sync.
func resumeCheck(ctx context.Context, w *World, p *Proxy, back, writer *Client, rng *rand.Rand, res *Result) error {
	p.Down()
	if err := waitFor(ctx, 10*time.Second, back.Name+" offline", offline(back)); err != nil {
		return err
	}
	for i := range resumeMissing {
		if _, err := writer.Create(ctx, "resume", map[string]any{"title": fmt.Sprintf("missed %d", i), "text": text(rng, 200)}); err != nil {
			return err
		}
	}
	if err := WaitSynced(ctx, writer); err != nil {
		return err
	}
	_, before := back.Bytes()
	if err := p.Up(); err != nil {
		return err
	}
	if err := w.Converge(ctx, back, writer); err != nil {
		return err
	}
	_, after := back.Bytes()
	fresh, err := w.NewClient(ctx, "fresh", ClientOptions{User: 0})
	if err != nil {
		return err
	}
	defer fresh.Close()
	if err := w.Converge(ctx, fresh); err != nil {
		return err
	}
	_, full := fresh.Bytes()
	res.ResumeBytes, res.FullBytes, res.Missing = after-before, full, resumeMissing
	if float64(res.ResumeBytes) > maxResumeShare*float64(full) {
		return fmt.Errorf("resume with %d changes missing downloaded %d bytes, a full sync %d: resume is not incremental", resumeMissing, res.ResumeBytes, full)
	}
	return nil
}

func finish(ctx context.Context, w *World, res *Result, start time.Time) {
	if recs, err := w.ServerRecords(ctx); err == nil {
		res.Records = len(recs)
	}
	res.Duration = time.Since(start)
}

// Latency: three clients behind a link with 40 ms ± 30 ms latency each way
// (so frames arrive late and unevenly) and one on a clean link edit at
// once; everyone converges, then one proxied client resumes after a cut.
func Latency(ctx context.Context, dir string, rng *rand.Rand, logf Logf) (res Result, err error) {
	start := time.Now()
	res.Scenario = "latency"
	w, err := NewWorld(ctx, dir, Config{Users: 4, Rand: rng})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	p, err := w.Proxy("latency")
	if err != nil {
		return res, err
	}
	if err := p.Both("lag", "latency", map[string]any{"latency": 40, "jitter": 30}); err != nil {
		return res, err
	}
	cs, err := proxiedClients(ctx, w, p, 4)
	if err != nil {
		return res, err
	}
	if err := writeAll(ctx, cs, rng, 25, 300); err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, converged)
	defer cancel()
	if err := w.Converge(cctx, cs...); err != nil {
		return res, err
	}
	err = resumeCheck(cctx, w, p, cs[0], cs[3], rng, &res)
	finish(ctx, w, &res, start)
	logf("latency: %d records, %d clients converged; resume %d B vs full %d B", res.Records, len(cs), res.ResumeBytes, res.FullBytes)
	return res, err
}

// Slow2G: two clients on a 2G-like link (50 kbit/s each way, 300 ms ±
// 100 ms) and one on a clean link edit at once and converge.
func Slow2G(ctx context.Context, dir string, rng *rand.Rand, logf Logf) (res Result, err error) {
	start := time.Now()
	res.Scenario = "slow_2g"
	w, err := NewWorld(ctx, dir, Config{Users: 3, Rand: rng})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	p, err := w.Proxy("2g")
	if err != nil {
		return res, err
	}
	// toxiproxy counts KB/s: 6 KB/s is 48 kbit/s.
	if err := p.Both("bw", "bandwidth", map[string]any{"rate": 6}); err != nil {
		return res, err
	}
	if err := p.Both("lag", "latency", map[string]any{"latency": 300, "jitter": 100}); err != nil {
		return res, err
	}
	cs, err := proxiedClients(ctx, w, p, 3)
	if err != nil {
		return res, err
	}
	if err := writeAll(ctx, cs, rng, 12, 120); err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, converged)
	defer cancel()
	if err := w.Converge(cctx, cs...); err != nil {
		return res, err
	}
	err = resumeCheck(cctx, w, p, cs[0], cs[2], rng, &res)
	finish(ctx, w, &res, start)
	logf("slow_2g: %d records converged over 48 kbit/s; resume %d B vs full %d B", res.Records, res.ResumeBytes, res.FullBytes)
	return res, err
}

// CutMidFrame: connections die in the middle of large frames, both ways.
// A fresh client downloading a large space is cut a few kilobytes into
// every connection; a client pushing a large offline backlog is cut in the
// middle of its push. Neither loses or duplicates anything once the link
// heals: a partial frame is never decoded, so the server commits nothing of
// a cut push and the client resends it; a cut page is fetched again from
// the same cursor.
func CutMidFrame(ctx context.Context, dir string, rng *rand.Rand, logf Logf) (res Result, err error) {
	start := time.Now()
	res.Scenario = "cut_mid_frame"
	w, err := NewWorld(ctx, dir, Config{Users: 3, Rand: rng})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	p, err := w.Proxy("cut")
	if err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, converged)
	defer cancel()
	seeder, err := w.NewClient(ctx, "seeder", ClientOptions{User: 2})
	if err != nil {
		return res, err
	}
	// About 320 KB of text: pages of 256 KB (before compression), so the
	// first frame of the catch-up is far longer than the cut.
	if err := writeRecords(ctx, seeder, rng, "big", 8, 40<<10); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, seeder); err != nil {
		return res, err
	}

	// Downstream: every connection dies 30 KB in, inside the first page.
	const cutAt = 30 << 10
	if err := p.Add(Toxic{Name: "cut_down", Type: "limit_data", Stream: "downstream", Attributes: map[string]any{"bytes": cutAt}}); err != nil {
		return res, err
	}
	reader, err := w.NewClient(ctx, "reader", ClientOptions{User: 0, URL: p.URL()})
	if err != nil {
		return res, err
	}
	if err := waitFor(cctx, 20*time.Second, "cut three times", func() bool { return reader.Dials() >= 4 }); err != nil {
		return res, err
	}
	if st := reader.State(); st.Status == client.StatusSynced {
		return res, fmt.Errorf("reader synced through a link cut at %d bytes: the pages are smaller than the test assumes", cutAt)
	}
	_, cutDown := reader.Bytes()
	logf("cut_mid_frame: reader cut %d times after %d bytes, %d bytes of whole frames got through", reader.Dials()-1, cutAt, cutDown)
	if err := p.Remove("cut_down"); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, reader, seeder); err != nil {
		return res, err
	}

	// Upstream: a backlog of large edits made offline, cut mid-push.
	pusher, err := w.NewClient(ctx, "pusher", ClientOptions{User: 1, URL: p.URL(), Offline: true})
	if err != nil {
		return res, err
	}
	if err := writeRecords(ctx, pusher, rng, "backlog", 6, 20<<10); err != nil {
		return res, err
	}
	ops := len(pusher.Pending())
	head0, err := w.App.Store.Head(ctx, w.Space)
	if err != nil {
		return res, err
	}
	if err := p.Add(Toxic{Name: "cut_up", Type: "limit_data", Stream: "upstream", Attributes: map[string]any{"bytes": 20 << 10}}); err != nil {
		return res, err
	}
	pusher.SetOnline(true)
	if err := waitFor(cctx, 20*time.Second, "cut three times", func() bool { return pusher.Dials() >= 3 }); err != nil {
		return res, err
	}
	if n := len(pusher.Pending()); n != ops {
		return res, fmt.Errorf("%d of %d ops acknowledged through a link cut at 20 KB: the push is smaller than the test assumes", ops-n, ops)
	}
	if err := p.Remove("cut_up"); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, pusher, reader, seeder); err != nil {
		return res, err
	}
	head1, err := w.App.Store.Head(ctx, w.Space)
	if err != nil {
		return res, err
	}
	if int(head1-head0) != ops {
		return res, fmt.Errorf("the space moved by %d seqs for %d ops pushed through cuts: something was applied twice or dropped", head1-head0, ops)
	}
	err = resumeCheck(cctx, w, p, reader, seeder, rng, &res)
	finish(ctx, w, &res, start)
	logf("cut_mid_frame: %d ops pushed through cuts, applied once each; resume %d B vs full %d B", ops, res.ResumeBytes, res.FullBytes)
	return res, err
}

// HalfOpen: the link goes silent without closing (the proxy keeps both
// sockets open and forwards nothing). The server's ping and the client's
// heartbeat must notice within seconds, not minutes; the client edits on,
// and once the link is back it resumes and converges.
func HalfOpen(ctx context.Context, dir string, rng *rand.Rand, logf Logf) (res Result, err error) {
	start := time.Now()
	res.Scenario = "half_open"
	const pongWait = time.Second
	w, err := NewWorld(ctx, dir, Config{Users: 2, Rand: rng, Hub: hub.Options{
		PongWait: pongWait, PingPeriod: 300 * time.Millisecond,
		// The client gives a connection up after two heartbeats of silence.
		Heartbeat: 400 * time.Millisecond,
		WriteWait: time.Second,
	}})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	p, err := w.Proxy("halfopen")
	if err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, converged)
	defer cancel()
	a, err := w.NewClient(ctx, "behind", ClientOptions{User: 0, URL: p.URL()})
	if err != nil {
		return res, err
	}
	b, err := w.NewClient(ctx, "direct", ClientOptions{User: 1})
	if err != nil {
		return res, err
	}
	ra, rb := fork(rng), fork(rng)
	if err := parallel(
		func() error { return writeRecords(ctx, a, ra, "notes", 10, 200) },
		func() error { return writeRecords(ctx, b, rb, "notes", 10, 200) },
	); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, a, b); err != nil {
		return res, err
	}
	// A bare socket behind the proxy that will never close or give up on
	// its own: only the server's ping and pong wait can end it. (The
	// engine's own socket closes when its heartbeat gives up, and the
	// proxy passes that close on, so it does not test the server.)
	raw, err := DialSock(ctx, p.URL(), w.Token(1))
	if err != nil {
		return res, err
	}
	defer raw.Close()
	raw.Drain()
	if n := w.App.Hub.Connections(); n != 3 {
		return res, fmt.Errorf("%d connections before the fault, want 3", n)
	}
	dials := a.Dials()
	cut := time.Now()
	if err := p.Both("blackhole", "timeout", map[string]any{"timeout": 0}); err != nil {
		return res, err
	}
	// Both sides edit while the link is silent.
	if err := parallel(
		func() error { return writeRecords(ctx, a, ra, "silent", 5, 200) },
		func() error { return writeRecords(ctx, b, rb, "silent", 5, 200) },
	); err != nil {
		return res, err
	}
	var serverSaw, clientSaw time.Duration
	if err := parallel(
		func() error {
			err := waitFor(cctx, 10*time.Second, "half-open connections closed by the server", func() bool { return w.App.Hub.Connections() == 1 })
			serverSaw = time.Since(cut)
			return err
		},
		func() error {
			err := waitFor(cctx, 10*time.Second, "half-open connection given up by the client", func() bool { return a.Dials() > dials })
			clientSaw = time.Since(cut)
			return err
		},
	); err != nil {
		return res, err
	}
	// The server pings every PingPeriod and gives up PongWait after the
	// last frame it read; allow a second of slack for scheduling.
	if limit := pongWait + time.Second; serverSaw > limit {
		return res, fmt.Errorf("the server took %v to drop a half-open connection, want under %v", serverSaw, limit)
	}
	if err := p.RemoveBoth("blackhole"); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, a, b); err != nil {
		return res, err
	}
	logf("half_open: server closed the silent connection after %v (pong wait %v), the client redialed after %v", serverSaw.Round(time.Millisecond), pongWait, clientSaw.Round(time.Millisecond))
	err = resumeCheck(cctx, w, p, a, b, rng, &res)
	finish(ctx, w, &res, start)
	logf("half_open: %d records converged; resume %d B vs full %d B", res.Records, res.ResumeBytes, res.FullBytes)
	return res, err
}

// LongOffline: a client loses the network for a long stretch while two
// others write thousands of changes and it writes its own; when the
// network is back it uploads its edits, downloads what it missed, and
// everyone converges.
func LongOffline(ctx context.Context, dir string, rng *rand.Rand, logf Logf) (res Result, err error) {
	start := time.Now()
	res.Scenario = "long_offline"
	w, err := NewWorld(ctx, dir, Config{Users: 3, Rand: rng})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	p, err := w.Proxy("offline")
	if err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*converged)
	defer cancel()
	away, err := w.NewClient(ctx, "away", ClientOptions{User: 0, URL: p.URL()})
	if err != nil {
		return res, err
	}
	var writers []*Client
	for i := 1; i <= 2; i++ {
		c, err := w.NewClient(ctx, fmt.Sprintf("writer%d", i), ClientOptions{User: i})
		if err != nil {
			return res, err
		}
		writers = append(writers, c)
	}
	if err := writeRecords(ctx, away, rng, "notes", 10, 200); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, away, writers[0], writers[1]); err != nil {
		return res, err
	}
	p.Down()
	if err := waitFor(cctx, 10*time.Second, "away offline", offline(away)); err != nil {
		return res, err
	}
	// 2 writers x (1000 creates + 500 edits) = 3000 changes.
	r0, r1, r2 := fork(rng), fork(rng), fork(rng)
	if err := parallel(
		func() error { return writeRecords(ctx, writers[0], r0, "notes", 1000, 150) },
		func() error { return writeRecords(ctx, writers[1], r1, "notes", 1000, 150) },
		func() error { return writeRecords(ctx, away, r2, "offline", 40, 200) },
	); err != nil {
		return res, err
	}
	if err := WaitSynced(cctx, writers...); err != nil {
		return res, err
	}
	_, before := away.Bytes()
	back := time.Now()
	if err := p.Up(); err != nil {
		return res, err
	}
	if err := w.Converge(cctx, away, writers[0], writers[1]); err != nil {
		return res, err
	}
	_, after := away.Bytes()
	logf("long_offline: back after 3000 changes by others: downloaded %d B in %v", after-before, time.Since(back).Round(time.Millisecond))
	err = resumeCheck(cctx, w, p, away, writers[0], rng, &res)
	finish(ctx, w, &res, start)
	logf("long_offline: %d records converged; resume with %d missing %d B vs full %d B", res.Records, res.Missing, res.ResumeBytes, res.FullBytes)
	return res, err
}

// proxiedClients makes n clients, all behind p but the last, which has a
// clean link: the faulty links must converge with a healthy one.
func proxiedClients(ctx context.Context, w *World, p *Proxy, n int) ([]*Client, error) {
	cs := make([]*Client, 0, n)
	for i := range n {
		o := ClientOptions{User: i, URL: p.URL()}
		if i == n-1 {
			o.URL = ""
		}
		c, err := w.NewClient(ctx, fmt.Sprintf("client%d", i), o)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// writeAll has every client write n notes of size bytes at once, each
// from its own fork of rng.
func writeAll(ctx context.Context, cs []*Client, rng *rand.Rand, n, size int) error {
	fs := make([]func() error, 0, len(cs))
	for _, c := range cs {
		r := fork(rng)
		fs = append(fs, func() error { return writeRecords(ctx, c, r, "notes", n, size) })
	}
	return parallel(fs...)
}
