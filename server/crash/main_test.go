package crash

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// The server binary is built once per package run, into binDir.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// serverBinary returns the real plansync binary, built on first use.
func serverBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "plansync-crash-bin-"); binErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		binPath, binErr = Build(ctx, binDir)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// seed returns PLANSYNC_SEED or a fresh seed, and logs how to replay it.
func seed(t *testing.T) uint64 {
	t.Helper()
	s, err := SeedFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d (replay: %s=%d go test -run '^%s$' ./server/crash/)", s, SeedEnv, s, t.Name())
	return s
}

func logf(t *testing.T) func(string, ...any) {
	return func(format string, args ...any) { t.Logf(format, args...) }
}

func report(t *testing.T, r Result) {
	t.Helper()
	t.Logf("%s: %d cycles, %d checks, %d edits made, %d acked, %d lost, %d applied twice, %.1fs",
		r.Scenario, r.Cycles, r.Checks, r.OpsMade, r.OpsAcked, r.OpsLost, r.DoubleApplied, r.Seconds)
	for _, p := range r.Problems {
		t.Error(p)
	}
	if r.Err != "" {
		t.Fatal(r.Err)
	}
}
