// Command soak runs the long versions of the simulation and the fuzz
// targets for `make soak`, and prints one JSON line per scenario:
//
//	{"scenario":"simulation","seeds":N,"failures":0,...}
//	{"scenario":"fuzz","target":"shared/protocol.FuzzDecode","execs":N,"crashes":0,...}
//
// The simulation gets -sim-share of -duration; the fuzz targets split the
// rest. Each fuzz target runs as `go test -fuzz` in a child process (go
// test fuzzes one target per package at a time), from the module root, and
// its "execs: N" lines are parsed for the figure. A crash stops that
// target; go test leaves the failing input in the package's testdata/fuzz
// folder, where it becomes a regression test.
//
// It is a developer tool, run from a checkout with the go command on PATH;
// nothing in the server or clients uses it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/plansync/plansync/shared/sim"
)

// Targets are every fuzz target of the module: package folder and name.
// A new target goes here and in the Makefile's test rule.
var Targets = []Target{
	{"shared/protocol", "FuzzDecode"},
	{"shared/protocol", "FuzzDecodeRoundTrip"},
	{"shared/record", "FuzzUnmarshal"},
	{"shared/record", "FuzzOpValidate"},
	{"shared/wire", "FuzzCheckShape"},
	{"shared/plan", "FuzzValidateFields"},
	{"shared/plan", "FuzzValidateEncoded"},
	{"client", "FuzzUnmarshalPending"},
	{"client", "FuzzUnmarshalMeta"},
}

// Target is one fuzz target.
type Target struct {
	Pkg  string // folder relative to the module root
	Name string
}

func (t Target) String() string { return t.Pkg + "." + t.Name }

// Defaults.
const (
	DefaultDuration = 10 * time.Minute
	DefaultSimShare = 0.5
	// buildAllowance is what `go test -fuzz` spends building and checking
	// the seed corpus before it fuzzes; it is taken out of each target's
	// share so the whole run ends near -duration.
	buildAllowance = 8 * time.Second
	// minFuzzTime is the least a target is fuzzed, however short the run.
	minFuzzTime = 2 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// Main is the command's configuration and output.
type Main struct {
	Duration time.Duration
	SimShare float64
	Workers  int
	Only     string // "sim", "fuzz" or "" for both
	Root     string // module root; found from the working folder when empty
	Go       string // the go command
	Stdout   io.Writer
	Stderr   io.Writer
}

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{Duration: DefaultDuration, SimShare: DefaultSimShare, Workers: runtime.GOMAXPROCS(0), Go: "go", Stdout: os.Stdout, Stderr: os.Stderr}
}

// ParseFlags reads the command line.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.DurationVar(&m.Duration, "duration", m.Duration, "total time for every scenario")
	fs.Float64Var(&m.SimShare, "sim-share", m.SimShare, "fraction of -duration for the simulation")
	fs.IntVar(&m.Workers, "workers", m.Workers, "simulation seeds run at once")
	fs.StringVar(&m.Only, "only", m.Only, `run only "sim" or "fuzz"`)
	fs.StringVar(&m.Root, "root", m.Root, "module root (default: found from the working folder)")
	fs.StringVar(&m.Go, "go", m.Go, "go command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if m.SimShare < 0 || m.SimShare > 1 {
		return fmt.Errorf("-sim-share %v is not between 0 and 1", m.SimShare)
	}
	if m.Only != "" && m.Only != "sim" && m.Only != "fuzz" {
		return fmt.Errorf(`-only %q: want "sim" or "fuzz"`, m.Only)
	}
	return nil
}

// Run runs the scenarios. It fails when any of them found a problem, after
// printing every line.
func (m *Main) Run(ctx context.Context) error {
	start := time.Now()
	end := start.Add(m.Duration)
	var failed []string
	if m.Only != "fuzz" {
		simEnd := start.Add(time.Duration(float64(m.Duration) * m.SimShare))
		if m.Only == "sim" {
			simEnd = end
		}
		if n := m.simulate(ctx, simEnd); n > 0 {
			failed = append(failed, fmt.Sprintf("simulation: %d failing seeds", n))
		}
	}
	if m.Only != "sim" {
		root := m.Root
		if root == "" {
			var err error
			if root, err = moduleRoot(); err != nil {
				return err
			}
		}
		// Every target gets the same share, fixed now, so that a slow
		// simulation or build shortens none more than another.
		per := max(time.Until(end)/time.Duration(len(Targets))-buildAllowance, minFuzzTime)
		for _, t := range Targets {
			if ctx.Err() != nil {
				break
			}
			res := m.fuzz(ctx, root, t, per)
			fmt.Fprintf(m.Stdout, "{\"scenario\":\"fuzz\",\"target\":%s,\"execs\":%d,\"crashes\":%d,\"seconds\":%d}\n",
				strconv.Quote(t.String()), res.Execs, res.Crashes, int(per.Seconds()))
			if res.Err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", t, res.Err))
			}
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return ctx.Err()
}

// simulate runs simulation seeds until end and prints the line; it returns
// the number of failing seeds, each also described on Stderr.
func (m *Main) simulate(ctx context.Context, end time.Time) int {
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	start := time.Now()
	// Seeds past the thousand `go test` runs, a million apart per second of
	// start, so soaks keep covering new ground; failures print their seeds.
	first := 1000 + uint64(start.Unix())*1_000_000
	sum := sim.Sweep(first, 0, end, m.Workers, func(seed uint64) sim.Config {
		return sim.Config{Seed: seed, Codec: seed%4 == 0, NoPatches: seed%3 == 0, Byzantine: byzantineSeed(seed)}
	})
	el := time.Since(start)
	for _, f := range sum.Failures {
		test := "TestSimulation"
		if byzantineSeed(f.Seed) {
			test = "TestByzantine"
		}
		fmt.Fprintf(m.Stderr, "%v\n\treplay: PLANSYNC_SEED=%d go test ./shared/sim -run '^%s$' -v\n", f.Err, f.Seed, test)
	}
	byz := 0
	for s := first; s < first+uint64(sum.Seeds); s++ {
		if byzantineSeed(s) {
			byz++
		}
	}
	st := sum.Stats
	fmt.Fprintf(m.Stdout, "{\"scenario\":\"simulation\",\"seeds\":%d,\"failures\":%d,\"seedsPerSec\":%.0f,\"ops\":%d,\"acked\":%d,\"conflicts\":%d,\"duplicates\":%d,\"cuts\":%d,\"framesDropped\":%d,\"byzantineSeeds\":%d,\"refusedHostile\":%d}\n",
		sum.Seeds, sum.Failed, float64(sum.Seeds)/el.Seconds(), st.Edits, st.Acked, st.Conflicts, st.Duplicates, st.Cuts, st.Dropped,
		byz, st.DeviceTaken+st.DeviceLimit+st.ClockAhead+st.ClockReused)
	return sum.Failed
}

// byzantineSeed says which soak seeds add sim.Config.Byzantine's hostile
// devices: one in eight, since each costs about twenty honest seeds.
func byzantineSeed(seed uint64) bool { return seed%8 == 7 }

// FuzzResult is what one `go test -fuzz` run reported.
type FuzzResult struct {
	Execs   int64
	Crashes int
	Err     error
}

// fuzz runs one target for d and parses its progress lines.
func (m *Main) fuzz(ctx context.Context, root string, t Target, d time.Duration) FuzzResult {
	cmd := exec.CommandContext(ctx, m.Go, "test", "-run", "^$", "-fuzz", "^"+t.Name+"$",
		"-fuzztime", d.Round(time.Second).String(), "./"+t.Pkg+"/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	res := ParseFuzzOutput(out)
	switch {
	case res.Crashes > 0:
		res.Err = fmt.Errorf("crashed; see testdata/fuzz/%s in %s", t.Name, t.Pkg)
		fmt.Fprintf(m.Stderr, "%s crashed:\n%s\n", t, tail(out, 40))
	case err != nil && toolchainDeadlineRace(out):
		// Go 1.26's fuzz coordinator can fail a timed run at its deadline
		// with no failing input (golang/go#75804, fixed in 1.27): nothing
		// crashed, and the executions counted stand.
		fmt.Fprintf(m.Stderr, "%s: ended by the Go 1.26 fuzz deadline race (golang/go#75804), no failing input\n", t)
	case err != nil:
		res.Err = err
		fmt.Fprintf(m.Stderr, "%s: %v:\n%s\n", t, err, tail(out, 40))
	}
	return res
}

// execsRE matches go test -fuzz's progress lines, such as
// "fuzz: elapsed: 3s, execs: 51234 (17077/sec), new interesting: 2 (total: 40)".
var execsRE = regexp.MustCompile(`fuzz: elapsed: \S+, execs: (\d+)`)

// ParseFuzzOutput reads the last execs count and whether the run failed
// (go test prints "--- FAIL" and the failing input on a crash). A failure
// that wrote no failing input and only says "context deadline exceeded" is
// the toolchain race (see toolchainDeadlineRace), not a crash.
func ParseFuzzOutput(out []byte) FuzzResult {
	var res FuzzResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if m := execsRE.FindStringSubmatch(line); m != nil {
			res.Execs, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--- FAIL") {
			res.Crashes = 1
		}
	}
	if res.Crashes > 0 && toolchainDeadlineRace(out) {
		res.Crashes = 0
	}
	return res
}

// toolchainDeadlineRace reports whether a failed fuzz run is Go 1.26's
// coordinator race at the -fuzztime deadline (golang/go#75804): it says
// "context deadline exceeded" and wrote no failing input.
func toolchainDeadlineRace(out []byte) bool {
	s := string(out)
	return strings.Contains(s, "context deadline exceeded") && !strings.Contains(s, "Failing input written to")
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}

// moduleRoot walks up from the working folder to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.mod above the working folder; pass -root")
}
