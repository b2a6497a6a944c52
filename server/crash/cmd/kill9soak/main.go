// Command kill9soak runs the crash harness's kill -9 scenario for a given
// time and prints one JSON line of figures:
//
//	{"scenario":"kill9","cycles":N,"opsAcked":N,"opsLost":0,"doubleApplied":0,...}
//
// It builds the server binary with the go command unless -bin names one,
// so run it from inside the module (go run ./server/crash/cmd/kill9soak).
// PLANSYNC_SEED replays a run. It exits 1 when anything was lost, applied
// twice or failed a check, listing the problems on stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/plansync/plansync/server/crash"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to run, the final sync and check included")
	bin := flag.String("bin", "", "plansync binary to run (default: build it)")
	verbose := flag.Bool("v", false, "print progress on stderr")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	seed, err := crash.SeedFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kill9soak:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "kill9soak: seed %d (replay: %s=%d)\n", seed, crash.SeedEnv, seed)
	cfg := crash.Config{Bin: *bin, Seed: seed, Duration: *duration}
	if *verbose {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	r := crash.Run(ctx, cfg)
	problems := r.Problems
	r.Problems = nil
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "kill9soak:", p)
	}
	if !r.OK() || len(problems) > 0 {
		os.Exit(1)
	}
}
