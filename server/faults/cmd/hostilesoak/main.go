// Command hostilesoak repeats issue 11's attacks of server/faults (a
// flood of 10,001 device ids on one record, many family accounts on one
// record, a spoofed device id with a clock 200 years ahead, a reused
// clock), each on a freshly seeded school, for a while, and prints one
// JSON line:
//
//	{"scenario":"hostile","attacks":N,"held":N,"fell":0}
//
// An attack held when every check of what users care about passed after
// it (the plan still syncs for the admin, the teacher and the family, the
// refused ops got their codes, acked edits are what fresh devices read);
// it fell otherwise, and what fell is printed to stderr. It exits non-zero
// when any fell. The seed is printed to stderr and replays with
// PLANSYNC_SEED.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/plansync/plansync/server/crash"
	"github.com/plansync/plansync/server/faults"
)

// Line is the soak's summary.
type Line struct {
	Scenario string `json:"scenario"`
	Attacks  int    `json:"attacks"`
	Held     int    `json:"held"`
	Fell     int    `json:"fell"`
	// Rounds is how many times every attack ran.
	Rounds int    `json:"rounds"`
	Seed   uint64 `json:"seed"`
}

func main() {
	duration := flag.Duration("duration", 2*time.Minute, "how long to repeat the attacks (a round in progress finishes)")
	flag.Parse()
	line, err := run(*duration)
	_ = json.NewEncoder(os.Stdout).Encode(line)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostilesoak:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration) (Line, error) {
	line := Line{Scenario: "hostile"}
	seed, err := crash.SeedFromEnv()
	if err != nil {
		return line, err
	}
	line.Seed = seed
	fmt.Fprintf(os.Stderr, "hostilesoak: seed %d (replay with %s=%d)\n", seed, crash.SeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "hostilesoak")
	if err != nil {
		return line, err
	}
	defer os.RemoveAll(dir)
	deadline := time.Now().Add(duration)
	for round := 0; ctx.Err() == nil && (round == 0 || time.Now().Before(deadline)); round++ {
		for i, a := range faults.Attacks {
			if ctx.Err() != nil {
				break
			}
			sub := filepath.Join(dir, fmt.Sprintf("%d-%d", round, i))
			start := time.Now()
			err := attack(ctx, sub, rng, a)
			line.Attacks++
			if err != nil {
				line.Fell++
				fmt.Fprintf(os.Stderr, "FELL %s (round %d): %v\n", a.Name, round, err)
			} else {
				line.Held++
				fmt.Fprintf(os.Stderr, "held %s (round %d) in %v\n", a.Name, round, time.Since(start).Round(time.Millisecond))
			}
			_ = os.RemoveAll(sub)
		}
		line.Rounds++
	}
	if line.Fell > 0 {
		return line, fmt.Errorf("%d of %d attacks fell", line.Fell, line.Attacks)
	}
	return line, ctx.Err()
}

func attack(ctx context.Context, dir string, rng *rand.Rand, a faults.Attack) error {
	s, err := faults.OpenSchool(ctx, dir, rng)
	if err != nil {
		return err
	}
	err = a.Run(ctx, s)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}
