package loadgen

import (
	"context"
	"io"
	"log"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/plansync/plansync/server/app"
)

// testTimeout bounds each small workload; they take well under a second.
const testTimeout = 20 * time.Second

// startServer runs the real server in bench mode, with its real badger
// store and durability, in a temporary folder.
func startServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	a, err := app.OpenBench(ctx, t.TempDir(), "127.0.0.1:0", app.Config{Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return a.Addr()
}

func run(t *testing.T, cfg Config) any {
	t.Helper()
	cfg.Addr = startServer(t)
	cfg.DataDir = t.TempDir()
	cfg.Timeout = testTimeout
	if testing.Verbose() {
		cfg.Log = log.New(os.Stderr, "loadgen ", log.Lmicroseconds)
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	return res
}

func TestW1(t *testing.T) {
	t.Parallel()
	res := run(t, Config{Workload: W1, N: 300}).(*W1Result)
	if !res.Completed || res.ServerCount != 300 {
		t.Fatalf("completed %t, server holds %d of 300 (%s)", res.Completed, res.ServerCount, res.Error)
	}
	if res.BytesUp == 0 || res.BytesDown == 0 {
		t.Errorf("bytes up %d, down %d: nothing counted", res.BytesUp, res.BytesDown)
	}
}

func TestW2(t *testing.T) {
	t.Parallel()
	res := run(t, Config{Workload: W2, N: 300}).(*W2Result)
	if !res.Completed || res.LocalCount != 300 {
		t.Fatalf("completed %t, holds %d of 300 (%s)", res.Completed, res.LocalCount, res.Error)
	}
}

func TestW3(t *testing.T) {
	t.Parallel()
	res := run(t, Config{Workload: W3, Clients: 5, Updates: 50, Rate: 200, HotRecords: 5}).(*W3Result)
	if !res.Completed || res.Lost != 0 || res.ReadersConverged != 4 {
		t.Fatalf("completed %t, lost %d, %d of 4 readers converged (%s)", res.Completed, res.Lost, res.ReadersConverged, res.Error)
	}
	if got := res.Delivered + res.Superseded + res.Lost; got != res.ExpectedDeliveries || got != 4*50 {
		t.Errorf("delivered+superseded+lost = %d, expected %d", got, res.ExpectedDeliveries)
	}
	if res.LatencyMs.Count != res.Delivered-res.LateDeliveries {
		t.Errorf("%d latencies for %d timed deliveries", res.LatencyMs.Count, res.Delivered-res.LateDeliveries)
	}
}

func TestW4(t *testing.T) {
	t.Parallel()
	res := run(t, Config{Workload: W4}).(*W4Result)
	if !res.Converged || !res.TitleEditKept || !res.StatusEditKept {
		t.Fatalf("converged %t, title kept %t, status kept %t: %+v", res.Converged, res.TitleEditKept, res.StatusEditKept, res)
	}
}
