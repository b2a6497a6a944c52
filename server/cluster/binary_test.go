package cluster_test

// Tests that start real plansync binaries, three per cluster, each
// embedding a NATS node, on 127.0.0.1 with ephemeral ports, and sync real
// clients (the Go engine over WebSockets) through them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/crash"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func serverBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "plansync-cluster-bin-")
		if err != nil {
			binErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		binPath, binErr = crash.Build(ctx, dir)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuf is a goroutine-safe tail of a process's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *syncBuf
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.kill()
		t.Errorf("a node took over 20s to stop; log:\n%s", p.stderr)
	}
}

// binCluster is three plansync processes forming one cluster.
type binCluster struct {
	t      *testing.T
	bin    string
	serve  bool // `serve --seed` on node 0 (else bench-serve)
	dirs   []string
	http   []string // 127.0.0.1:port, fixed across restarts
	routes []string
	procs  []*proc
	mu     sync.Mutex
	logs   []string // "node i, run n" for each log kept
	bufs   []*syncBuf
}

func newBinCluster(t *testing.T, serve bool) *binCluster {
	c := &binCluster{t: t, bin: serverBinary(t), serve: serve, procs: make([]*proc, 3)}
	for range 3 {
		c.dirs = append(c.dirs, t.TempDir())
		h, err := crash.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		r, err := crash.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		c.http = append(c.http, h)
		c.routes = append(c.routes, r)
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			if p != nil {
				p.kill()
			}
		}
		if t.Failed() {
			for i, b := range c.bufs {
				var keep []string
				for _, l := range strings.Split(b.String(), "\n") {
					if strings.Contains(l, "cluster:") || strings.Contains(l, "ERROR") {
						keep = append(keep, l)
					}
				}
				if len(keep) > 40 {
					keep = keep[len(keep)-40:]
				}
				t.Logf("%s:\n%s", c.logs[i], strings.Join(keep, "\n"))
			}
		}
	})
	return c
}

// start runs node i and waits for it to say it serves (which it does
// once it has caught up with the log).
func (c *binCluster) start(i int) error {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLANSYNC_") && !strings.HasPrefix(kv, "BENCH_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PLANSYNC_CLUSTER_NAME=test",
		"PLANSYNC_CLUSTER_LISTEN="+c.routes[i],
		"PLANSYNC_CLUSTER_ROUTES="+strings.Join(c.routes, ","),
		fmt.Sprintf("PLANSYNC_NODE_NAME=n%d", i))
	var cmd *exec.Cmd
	if c.serve {
		args := []string{"serve", "--addr", c.http[i], "--data", c.dirs[i]}
		if i == 0 {
			args = append(args, "--seed")
		}
		cmd = exec.Command(c.bin, args...)
	} else {
		cmd = exec.Command(c.bin, "bench-serve")
		env = append(env, "BENCH_DATA_DIR="+c.dirs[i], "BENCH_LISTEN="+c.http[i])
	}
	cmd.Env = env
	p := &proc{cmd: cmd, done: make(chan struct{}), stderr: &syncBuf{}}
	cmd.Stderr = p.stderr
	c.mu.Lock()
	c.logs = append(c.logs, fmt.Sprintf("node %d, run %d", i, len(c.logs)))
	c.bufs = append(c.bufs, p.stderr)
	c.mu.Unlock()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-lines:
		if !strings.Contains(line, "ready") && !strings.HasPrefix(line, "Plansync is running") {
			p.kill()
			return fmt.Errorf("node %d said %q", i, line)
		}
	case <-p.done:
		return fmt.Errorf("node %d exited at start; log:\n%s", i, p.stderr)
	case <-time.After(60 * time.Second):
		p.kill()
		return fmt.Errorf("node %d not ready within 60s; log:\n%s", i, p.stderr)
	}
	c.procs[i] = p
	return nil
}

// startAll starts the nodes together: each waits for a quorum.
func (c *binCluster) startAll(idx ...int) {
	c.t.Helper()
	if len(idx) == 0 {
		idx = []int{0, 1, 2}
	}
	errs := make(chan error, len(idx))
	for _, i := range idx {
		go func() { errs <- c.start(i) }()
	}
	// Every start has returned before the test may fail: a Fatal while
	// one still ran would race its cleanup against it.
	var failed []error
	for range idx {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		c.t.Fatal(errors.Join(failed...))
	}
}

func (c *binCluster) kill(i int) {
	c.procs[i].kill()
	c.procs[i] = nil
}

func (c *binCluster) stopAll() {
	for i, p := range c.procs {
		if p != nil {
			p.stop(c.t)
			c.procs[i] = nil
		}
	}
}

// device is one client engine syncing through one node, recording every
// ack it gets.
type device struct {
	e     *client.Engine
	mu    sync.Mutex
	acked map[string]uint64 // value written -> seq acked
}

func (c *binCluster) device(t *testing.T, node int, token string) *device {
	d := &device{acked: map[string]uint64{}}
	d.e = client.New(client.Options{
		Store:       memstore.New(),
		Transport:   &wsdial.Transport{URL: "ws://" + c.http[node] + "/sync"},
		Token:       token,
		BackoffBase: 10 * time.Millisecond,
		BackoffMax:  100 * time.Millisecond,
		DialTimeout: 5 * time.Second,
		OnAck: func(op record.Op, seq uint64) {
			d.mu.Lock()
			defer d.mu.Unlock()
			for _, w := range op.Writes {
				if s, ok := w.Value.(string); ok {
					d.acked[s] = seq
				}
			}
		},
	})
	if err := d.e.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.e.Close() })
	return d
}

func (d *device) ackedValues() map[string]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]uint64, len(d.acked))
	for k, v := range d.acked {
		out[k] = v
	}
	return out
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func synced(t *testing.T, d *device, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := d.e.WaitSynced(ctx); err != nil {
		t.Fatalf("not synced within %v: %v (state %+v)", within, err, d.e.State())
	}
}

// TestBinaryClusterSyncKillQuorum runs three real binaries:
//   - an op acked through node 0 reaches a client on node 1 (fan-out
//     from the log on every node), and a new client on node 2 catches up;
//   - kill -9 of a random node while three clients write loses no acked
//     op, and the restarted node catches up;
//   - with two nodes killed, a write through the survivor is never acked
//     (the hub answers unavailable and the edit stays in the outbox),
//     /healthz says 503, reads are still served; once the nodes are back
//     the edit is acked;
//   - at the end every node's badger view holds every acked op exactly
//     once, the same records at the same sequence numbers.
func TestBinaryClusterSyncKillQuorum(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	c := newBinCluster(t, false)
	c.startAll()
	space := benchauth.SpaceID
	devs := []*device{c.device(t, 0, benchauth.Token(0)), c.device(t, 1, benchauth.Token(1))}
	for _, d := range devs {
		synced(t, d, 20*time.Second)
	}

	// Fan-out across nodes.
	start := time.Now()
	id, err := devs[0].e.Create(context.Background(), space, "notes", map[string]any{"c0": "first"})
	if err != nil {
		t.Fatal(err)
	}
	key := record.Key{Space: space, Collection: "notes", ID: id}
	waitUntil(t, 5*time.Second, "node 1's client gets node 0's op", func() bool { return devs[1].e.Get(key) != nil })
	t.Logf("write on node 0 to a client on node 1: %v", time.Since(start))
	devs = append(devs, c.device(t, 2, benchauth.Token(2)))
	synced(t, devs[2], 20*time.Second)
	if devs[2].e.Get(key) == nil {
		t.Fatal("a new client on node 2 did not catch up")
	}

	// kill -9 of one node under a bounded load.
	done := load(t, devs, space, 120, "d")
	time.Sleep(150 * time.Millisecond)
	victim := rng.IntN(3)
	t.Logf("kill -9 node %d", victim)
	c.kill(victim)
	time.Sleep(300 * time.Millisecond)
	if err := c.start(victim); err != nil {
		t.Fatal(err)
	}
	done()
	for _, d := range devs {
		synced(t, d, 30*time.Second)
	}

	// Quorum lost: kill two nodes, write through the third.
	survivor := rng.IntN(3)
	for i := range 3 {
		if i != survivor {
			c.kill(i)
		}
	}
	d := devs[survivor]
	before := len(d.ackedValues())
	qid := uuid.Must(uuid.NewV7())
	if err := d.e.Put(context.Background(), space, "notes", qid, map[string]any{fmt.Sprintf("c%d", survivor): "during-quorum-loss"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // past the log's propose timeout
	if _, ok := d.ackedValues()["during-quorum-loss"]; ok || len(d.ackedValues()) != before {
		t.Fatal("a write was acked without a quorum")
	}
	resp, err := http.Get("http://" + c.http[survivor] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/healthz without a quorum: %d", resp.StatusCode)
	}
	if d.e.Get(key) == nil {
		t.Fatal("the survivor's client lost its data")
	}
	var back []int
	for i := range 3 {
		if i != survivor {
			back = append(back, i)
		}
	}
	c.startAll(back...)
	waitUntil(t, 30*time.Second, "the held edit acked once the quorum is back", func() bool {
		_, ok := d.ackedValues()["during-quorum-loss"]
		return ok
	})
	for _, d := range devs {
		synced(t, d, 30*time.Second)
	}

	c.stopAll()
	c.verify(t, devs, space, 120)
}

// load makes each device write perDevice edits (one new record each, a
// unique value in the device's own field) with short pauses, in the
// background; the returned func waits for them.
func load(t *testing.T, devs []*device, space uuid.UUID, perDevice int, tag string) (wait func()) {
	var wg sync.WaitGroup
	for k, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perDevice {
				id := uuid.Must(uuid.NewV7())
				if err := d.e.Put(context.Background(), space, "notes", id, map[string]any{fmt.Sprintf("c%d", k): fmt.Sprintf("%s%d-%d", tag, k, n)}); err != nil {
					t.Errorf("put: %v", err)
					return
				}
				time.Sleep(3 * time.Millisecond)
			}
		}()
	}
	return wg.Wait
}

// verify reads every (stopped) node's badger view: every value a device
// saw acked is there, no op is logged twice, the log is sound, and every
// node has the same head.
func (c *binCluster) verify(t *testing.T, devs []*device, space uuid.UUID, minAcks int) {
	t.Helper()
	acked := map[string]uint64{}
	for _, d := range devs {
		for v, s := range d.ackedValues() {
			acked[v] = s
		}
	}
	if len(acked) < minAcks {
		t.Fatalf("only %d acks", len(acked))
	}
	var heads []uint64
	for i, dir := range c.dirs {
		st, err := crash.ReadState(context.Background(), filepath.Join(dir, "db"), space)
		if err != nil {
			t.Fatal(err)
		}
		if st.CheckLog != nil {
			t.Errorf("node %d log: %v", i, st.CheckLog)
		}
		if n := st.DoubleApplied(); n != 0 {
			t.Errorf("node %d: %d ops applied twice", i, n)
		}
		lost := 0
		for v := range acked {
			if _, ok := st.Values[v]; !ok {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("node %d lost %d of %d acked ops", i, lost, len(acked))
		}
		heads = append(heads, st.Head)
	}
	if heads[0] != heads[1] || heads[1] != heads[2] {
		t.Errorf("heads differ: %v", heads)
	}
	t.Logf("%d acked ops, heads %v", len(acked), heads)
}

// TestBinaryClusterRollingRestart: each node in turn is stopped (SIGTERM)
// and started again while three clients, one per node, write; nothing
// acked is lost, every client converges, every node ends with the same
// log.
func TestBinaryClusterRollingRestart(t *testing.T) {
	c := newBinCluster(t, false)
	c.startAll()
	space := benchauth.SpaceID
	var devs []*device
	for i := range 3 {
		devs = append(devs, c.device(t, i, benchauth.Token(i)))
	}
	for _, d := range devs {
		synced(t, d, 20*time.Second)
	}
	done := load(t, devs, space, 150, "r")
	for i := range 3 {
		time.Sleep(100 * time.Millisecond)
		c.procs[i].stop(t)
		c.procs[i] = nil
		if err := c.start(i); err != nil {
			t.Fatal(err)
		}
	}
	done()
	for _, d := range devs {
		synced(t, d, 30*time.Second)
	}
	// Every client gets every other's edits (the 450 and the first
	// sync's none).
	start := time.Now()
	for i, d := range devs {
		waitUntil(t, 20*time.Second, fmt.Sprintf("client %d holds all 450 notes", i), func() bool { return len(d.e.List(space, "notes")) == 450 })
	}
	t.Logf("every client converged %v after the writes ended", time.Since(start))
	c.stopAll()
	c.verify(t, devs, space, 450)
}

// TestBinaryClusterAccounts: a login through node 1 syncs through node 2
// and node 0; signing out through node 2 closes the socket on node 1
// within a second.
func TestBinaryClusterAccounts(t *testing.T) {
	c := newBinCluster(t, true)
	c.startAll()
	body, _ := json.Marshal(map[string]string{"login": app.DemoTeacherLogin, "password": app.DemoPassword})
	var tok string
	// Node 0 seeds the demo after it opens: the teacher's login may take
	// a moment to exist.
	waitUntil(t, 20*time.Second, "login through node 1", func() bool {
		resp, err := http.Post("http://"+c.http[1]+"/api/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false
		}
		var lr struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(b, &lr) != nil || lr.Token == "" {
			return false
		}
		tok = lr.Token
		return true
	})
	onB := c.device(t, 2, tok)
	synced(t, onB, 20*time.Second)
	if len(onB.e.Spaces()) == 0 {
		t.Fatal("the teacher's spaces are not listed through node 2")
	}
	onA := c.device(t, 1, tok)
	synced(t, onA, 20*time.Second)

	req, _ := http.NewRequest(http.MethodPost, "http://"+c.http[2]+"/api/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("logout through node 2: %d", resp.StatusCode)
	}
	waitUntil(t, time.Second, "node 1's socket closed by the sign-out on node 2", func() bool {
		st := onA.e.State()
		return st.Status == client.StatusStopped && st.Reason == protocol.CodeUnauthorized
	})
	t.Logf("sign-out on node 2 closed node 1's socket after %v", time.Since(start))
	c.stopAll()
}
