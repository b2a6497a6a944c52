// Command loadgen runs one workload of the cross-system benchmark
// (shared/bench/CONTRACT.md) with the real client engine against a server
// in bench mode (plansync bench-serve):
//
//	loadgen --workload wN --addr 127.0.0.1:PORT --data-dir DIR --n N \
//	        --clients C --updates U --rate R --hot-records K [--timeout D] [--standalone]
//
// Control lines and the result (the last line) are JSON on stdout; the
// harness answers "ok" on stdin. With --standalone, or when stdin ends, it
// does not wait for answers. Progress goes to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/plansync/plansync/client/loadgen"
)

func main() {
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := m.Run(ctx)
	stop()
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// Main is the command, separate from main so a test can run it.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	cfg        loadgen.Config
	standalone bool
	verbose    bool
	cpuProfile string
	profile    *os.File
}

// ParseFlags reads the command line.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	c := &m.cfg
	fs.StringVar(&c.Workload, "workload", "", "workload: w1, w2, w3 or w4")
	fs.StringVar(&c.Addr, "addr", "", "server (or proxy) address, host:port")
	fs.StringVar(&c.DataDir, "data-dir", "", "fresh folder for the clients' disk stores (default: a temporary one)")
	fs.IntVar(&c.N, "n", loadgen.DefaultN, "records (w1, w2)")
	fs.IntVar(&c.Clients, "clients", loadgen.DefaultClients, "clients, one writer and the rest readers (w3)")
	fs.IntVar(&c.Updates, "updates", loadgen.DefaultUpdates, "updates (w3)")
	fs.Float64Var(&c.Rate, "rate", loadgen.DefaultRate, "updates per second (w3)")
	fs.IntVar(&c.HotRecords, "hot-records", loadgen.DefaultHotRecords, "hot records (w3)")
	fs.DurationVar(&c.Timeout, "timeout", loadgen.DefaultTimeout, "bound on the workload; past it the result says completed:false")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's pid, for serverRssMB (w3, Linux)")
	fs.BoolVar(&m.standalone, "standalone", false, "no harness: do not wait for ok on stdin")
	fs.BoolVar(&m.verbose, "verbose", false, "log the engines' diagnostics to stderr")
	fs.StringVar(&m.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// Run runs the workload and prints its result as the last stdout line. A
// workload that could not run prints {"completed":false,"error":...}.
func (m *Main) Run(ctx context.Context) error {
	logger := log.New(m.Stderr, "loadgen: ", log.Lmicroseconds)
	in := m.Stdin
	if m.standalone {
		in = nil
	}
	m.cfg.Harness = loadgen.NewHarness(m.Stdout, in, logger, 0)
	m.cfg.Log = logger
	if m.verbose {
		m.cfg.EngineLog = log.New(m.Stderr, "", log.Lmicroseconds)
	}
	if m.cpuProfile != "" {
		f, err := os.Create(m.cpuProfile)
		if err != nil {
			return err
		}
		m.profile = f
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res, err := loadgen.Run(ctx, m.cfg)
	if err != nil {
		res = map[string]any{"workload": m.cfg.Workload, "completed": false, "error": err.Error()}
	}
	if perr := m.cfg.Harness.Result(res); perr != nil {
		return perr
	}
	if b, jerr := json.MarshalIndent(res, "", "  "); jerr == nil {
		logger.Printf("result:\n%s", b)
	}
	return err
}

// Close stops and writes the CPU profile, if one was started.
func (m *Main) Close() error {
	if m.profile == nil {
		return nil
	}
	pprof.StopCPUProfile()
	return m.profile.Close()
}
