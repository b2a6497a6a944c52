package loadgen

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/plansync/plansync/server/app"
)

// The benchmarks run a workload against a fresh in-process server each
// iteration, so that `go test -bench W1 -cpuprofile` profiles client and
// server together. The load generator command (make bench) is the
// measurement of record; these exist to find where the time goes.

func benchWorkload(b *testing.B, cfg Config) any {
	b.Helper()
	ctx := context.Background()
	a, err := app.OpenBench(ctx, b.TempDir(), "127.0.0.1:0", app.Config{Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(ctx)
	cfg.Addr = a.Addr()
	cfg.DataDir = b.TempDir()
	cfg.Timeout = testTimeout * 6
	res, err := Run(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func BenchmarkW1(b *testing.B) {
	for b.Loop() {
		r := benchWorkload(b, Config{Workload: W1, N: 10000}).(*W1Result)
		if !r.Completed {
			b.Fatalf("w1 did not complete: %s", r.Error)
		}
		b.ReportMetric(r.DurationMs, "durationMs")
		b.ReportMetric(r.BytesUpPerRecord, "bytesUp/record")
	}
}

func BenchmarkW2(b *testing.B) {
	for b.Loop() {
		r := benchWorkload(b, Config{Workload: W2, N: 10000}).(*W2Result)
		if !r.Completed {
			b.Fatalf("w2 did not complete: %s", r.Error)
		}
		b.ReportMetric(r.DurationMs, "durationMs")
		b.ReportMetric(r.BytesDownPerRecord, "bytesDown/record")
	}
}
