package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plansync/plansync/server/app"
)

// Limits of the server process's life.
const (
	// readyWait bounds the wait for bench-serve's ready line.
	readyWait = 30 * time.Second
	// stopWait bounds a clean shutdown after SIGTERM; past it the process
	// is killed and the stop reported as failed.
	stopWait = 30 * time.Second
	// stderrTail is how much of the server's log is kept for reports:
	// enough for a Go fatal error's dump of every goroutine, whose first
	// lines (the fault and its stack) say what went wrong.
	stderrTail = 1 << 20 // bytes // bytes
)

// ServerPackage is the import path of the server command the harness builds.
const ServerPackage = "github.com/plansync/plansync/server/cmd/plansync"

// noSyncEnv mirrors server/cmd/plansync's NoSyncEnv: bench-serve acks
// before fsync when it is 1. Only the control run (PowerCut) sets it.
const noSyncEnv = "PLANSYNC_TEST_NOSYNC"

// Build compiles the real server binary into dir and returns its path. It
// runs the go command, so the current directory must be inside the module.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "plansync")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ServerPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", ServerPackage, err, out)
	}
	return bin, nil
}

// FreePort returns a 127.0.0.1 address with a port that was free a moment
// ago. The harness restarts the server on the same port so that clients
// reconnect to it; Go listeners set SO_REUSEADDR, so connections of the
// killed process left in TIME_WAIT do not block the rebind.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// serverProc is one run of the server binary as a child process.
type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *tail // `serve` only: what it printed (demo logins, invite code)
	stderr *tail
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before done closes
}

// startServer runs bench-serve on dataDir (badger in dataDir/db) listening
// on listen, and waits for its ready line. noSync switches durability off
// (the control run only).
func startServer(ctx context.Context, bin, dataDir, listen string, noSync bool) (*serverProc, error) {
	cmd := exec.Command(bin, "bench-serve")
	env := []string{"BENCH_DATA_DIR=" + dataDir, "BENCH_LISTEN=" + listen}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, noSyncEnv+"=") && !strings.HasPrefix(kv, "BENCH_") {
			env = append(env, kv)
		}
	}
	if noSync {
		env = append(env, noSyncEnv+"=1")
	}
	cmd.Env = env
	ready := make(chan string, 1)
	p := &serverProc{cmd: cmd, stderr: &tail{max: stderrTail}, done: make(chan struct{})}
	cmd.Stdout = &firstLine{ch: ready}
	return p.start(ctx, ready, func(line string) error {
		var r app.BenchReady
		if err := json.Unmarshal([]byte(line), &r); err != nil || !r.Ready {
			return fmt.Errorf("server's ready line %q: %v", line, err)
		}
		p.addr = r.Addr
		return nil
	})
}

// servingLine is how `plansync serve` starts its first line once it
// listens.
const servingLine = "Plansync is running at "

// startServe runs `plansync serve --seed` (the seeded demo, as an operator
// would try it) on dataDir listening on listen, and waits until it says it
// is running; args are more flags. Its stdout is kept in p.stdout for the
// demo's logins and invite code.
func startServe(ctx context.Context, bin, dataDir, listen string, args ...string) (*serverProc, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--seed", "--addr", listen, "--data", dataDir}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLANSYNC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	ready := make(chan string, 1)
	p := &serverProc{cmd: cmd, addr: listen, stdout: &tail{max: stderrTail}, stderr: &tail{max: stderrTail}, done: make(chan struct{})}
	cmd.Stdout = io.MultiWriter(p.stdout, &firstLine{ch: ready})
	return p.start(ctx, ready, func(line string) error {
		if !strings.HasPrefix(line, servingLine) {
			return fmt.Errorf("server's first line %q, want it to start with %q", line, servingLine)
		}
		return nil
	})
}

// start starts p.cmd and waits for its first stdout line on ready, which
// ok checks, and returns p. On any failure the process is gone and p nil.
func (p *serverProc) start(ctx context.Context, ready <-chan string, ok func(line string) error) (*serverProc, error) {
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the server: %w", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t := time.NewTimer(readyWait)
	defer t.Stop()
	select {
	case line := <-ready:
		if err := ok(line); err != nil {
			p.kill()
			return nil, err
		}
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("server exited at start (%v); log:\n%s", p.err, p.stderr)
	case <-t.C:
		p.kill()
		return nil, fmt.Errorf("no ready line from the server in %v; log:\n%s", readyWait, p.stderr)
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

// kill sends SIGKILL and waits for the process to be gone: nothing it
// buffered in user space survives, what it wrote to the kernel does.
func (p *serverProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop shuts the server down cleanly with SIGTERM and reports a failed or
// slow shutdown.
func (p *serverProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("server exit after SIGTERM: %v; log:\n%s", p.err, p.stderr)
		}
		return nil
	case <-t.C:
		p.kill()
		return fmt.Errorf("server did not stop within %v of SIGTERM; log:\n%s", stopWait, p.stderr)
	}
}

// firstLine hands the first line written to it to ch and discards the rest.
type firstLine struct {
	buf  []byte
	ch   chan<- string
	sent bool
}

func (w *firstLine) Write(b []byte) (int, error) {
	if !w.sent {
		w.buf = append(w.buf, b...)
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.ch <- string(w.buf[:i])
			w.sent, w.buf = true, nil
		}
	}
	return len(b), nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// contains reports whether the kept log mentions s.
func (t *tail) contains(s string) bool { return strings.Contains(t.String(), s) }

var errServerDied = errors.New("server exited on its own")
