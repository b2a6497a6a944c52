// Command faultsoak runs the network-fault scenarios of server/faults over
// and over for a while, then the memory scenario once at 1,000 sockets,
// and prints one JSON line per figure:
//
//	{"scenario":"faults","passed":N,"failed":0,"resumeBytes":N}
//	{"scenario":"memory","clients":1000,"peakRssMB":N,"slowReaderPeakRssMB":N}
//
// It exits non-zero when any run failed. The seed is printed to stderr and
// replays with PLANSYNC_SEED.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/plansync/plansync/server/crash"
	"github.com/plansync/plansync/server/faults"
)

// FaultsLine is the summary of the fault scenarios.
type FaultsLine struct {
	Scenario string `json:"scenario"`
	Passed   int    `json:"passed"`
	Failed   int    `json:"failed"`
	// ResumeBytes is the largest download of a client resuming with a few
	// changes missing; FullBytes the smallest full sync it is compared to.
	ResumeBytes int64  `json:"resumeBytes"`
	FullBytes   int64  `json:"fullSyncBytes"`
	Seed        uint64 `json:"seed"`
}

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to repeat the fault scenarios (the memory scenario runs once after)")
	clients := flag.Int("clients", 1000, "sockets for the memory scenario")
	flag.Parse()
	if err := run(*duration, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "faultsoak:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, clients int) error {
	// Each socket is two descriptors here (client and server side).
	if err := raiseFileLimit(uint64(4*clients + 1024)); err != nil {
		return err
	}
	seed, err := crash.SeedFromEnv()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "faultsoak: seed %d (replay with %s=%d)\n", seed, crash.SeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "faultsoak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	line := FaultsLine{Scenario: "faults", Seed: seed}
	deadline := time.Now().Add(duration)
	for round := 0; ctx.Err() == nil && (round == 0 || time.Now().Before(deadline)); round++ {
		for i, sc := range faults.Scenarios {
			if ctx.Err() != nil {
				break
			}
			res, err := sc.Run(ctx, fmt.Sprintf("%s/%d-%d", dir, round, i), rng, logf)
			if err != nil {
				line.Failed++
				logf("FAIL %s (round %d): %v", sc.Name, round, err)
			} else {
				line.Passed++
			}
			line.ResumeBytes = max(line.ResumeBytes, res.ResumeBytes)
			if res.FullBytes > 0 && (line.FullBytes == 0 || res.FullBytes < line.FullBytes) {
				line.FullBytes = res.FullBytes
			}
			_ = os.RemoveAll(fmt.Sprintf("%s/%d-%d", dir, round, i))
		}
	}
	out := json.NewEncoder(os.Stdout)
	_ = out.Encode(line)

	mem, merr := faults.Memory(ctx, dir+"/memory", clients, rng, logf)
	_ = out.Encode(mem)
	if merr != nil {
		return merr
	}
	if line.Failed > 0 {
		return fmt.Errorf("%d fault runs failed", line.Failed)
	}
	return nil
}

// raiseFileLimit lifts the soft limit on open files to at least n (up to
// the hard limit): a thousand sockets do not fit the usual 1024.
func raiseFileLimit(n uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= n {
		return nil
	}
	rl.Cur = min(n, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("raising the open files limit to %d: %w", rl.Cur, err)
	}
	if rl.Cur < n {
		return fmt.Errorf("open files limited to %d, the memory scenario needs %d", rl.Cur, n)
	}
	return nil
}
