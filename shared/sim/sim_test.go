package sim

import (
	"flag"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/shared/record"
)

// seedFlag replays one seed: go test ./shared/sim -run TestSimulation -seed N
// (or PLANSYNC_SEED=N go test ./shared/sim -run TestSimulation).
var seedFlag = flag.String("seed", "", "replay this simulation seed only")

// simSeeds is how many seeds `go test` runs. The issue asks for at least a
// thousand; they take about two seconds on two cores (eight under -race).
const simSeeds = 1000

func replaySeed(t *testing.T) (uint64, bool) {
	s := *seedFlag
	if s == "" {
		s = os.Getenv("PLANSYNC_SEED")
	}
	if s == "" {
		return 0, false
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("bad seed %q: %v", s, err)
	}
	return seed, true
}

// config is the test's mix: every twentieth seed sends its frames through the
// real codec, every third leaves patches out.
func config(seed uint64) Config {
	return Config{Seed: seed, Codec: seed%20 == 0, NoPatches: seed%3 == 0}
}

func TestSimulation(t *testing.T) {
	if seed, ok := replaySeed(t); ok {
		res := Run(config(seed))
		t.Logf("seed %d: %+v", seed, res.Stats)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		return
	}
	start := time.Now()
	sum := Sweep(0, simSeeds, time.Time{}, runtime.GOMAXPROCS(0), config)
	el := time.Since(start)
	t.Logf("%d seeds in %v (%.0f/s): %+v", sum.Seeds, el.Round(time.Millisecond), float64(sum.Seeds)/el.Seconds(), sum.Stats)
	for _, f := range sum.Failures {
		t.Errorf("%v\n\treplay: PLANSYNC_SEED=%d go test ./shared/sim -run '^TestSimulation$' -v", f.Err, f.Seed)
	}
	if sum.Seeds != simSeeds {
		t.Fatalf("ran %d seeds, want %d", sum.Seeds, simSeeds)
	}
	// The faults the simulation exists for must actually happen, or a
	// change to the model could quietly make every run trivial.
	st := sum.Stats
	for name, n := range map[string]int{
		"duplicate ops": st.Duplicates, "conflicts": st.Conflicts, "refused ops": st.Refused,
		"cuts": st.Cuts, "dropped frames": st.Dropped, "partitions": st.Partitions, "acked ops": st.Acked,
	} {
		if n == 0 {
			t.Errorf("no %s in %d seeds", name, sum.Seeds)
		}
	}
}

// TestResolveOfDeleteDoesNotReraise: keeping a delete ("delete for good")
// clears its conflicts. The engine before the fix (Config.ResolveWithoutSeen)
// re-raised them; the checker must see that.
func TestResolveOfDeleteDoesNotReraise(t *testing.T) {
	sum := Sweep(0, 100, time.Time{}, runtime.GOMAXPROCS(0), nil)
	for _, f := range sum.Failures {
		t.Error(f.Err)
	}
	if sum.Stats.Reraised != 0 {
		t.Errorf("%d resolved versions re-raised", sum.Stats.Reraised)
	}
	old := Sweep(0, 100, time.Time{}, runtime.GOMAXPROCS(0), func(seed uint64) Config {
		return Config{ResolveWithoutSeen: true}
	})
	if old.Stats.Reraised == 0 {
		t.Error("the engine as it was before the fix re-raised nothing: the count cannot fail")
	}
}

func TestSimulationIsDeterministic(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		a, b := Run(config(seed)), Run(config(seed))
		if a.Stats != b.Stats || (a.Err == nil) != (b.Err == nil) {
			t.Fatalf("seed %d ran differently: %+v vs %+v", seed, a.Stats, b.Stats)
		}
	}
}

// The checker must be able to fail: each broken merge below loses or
// doubles something, and a few seeds must catch it.
func TestBrokenMergeIsCaught(t *testing.T) {
	for _, tc := range []struct {
		name  string
		merge MergeFunc
		want  string // in the failure message
		// unguarded: the server's op index, which answers resends before
		// the merge sees them, is off (Config.Unguarded), so the merge's
		// own per-device clock is all that stops a second apply.
		unguarded bool
	}{
		{"drops concurrent values", dropConflicts, "lost", false},
		{"ignores the per-device clock", ignoreClock, "applied twice", true},
		{"lets a delete hide unseen edits", ignoreSeen, "hides", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := Sweep(0, 30, time.Time{}, runtime.GOMAXPROCS(0), func(seed uint64) Config {
				return Config{Merge: tc.merge, Unguarded: tc.unguarded}
			})
			if sum.Failed == 0 {
				t.Fatalf("a broken merge passed %d seeds", sum.Seeds)
			}
			if !slices.ContainsFunc(sum.Failures, func(r Result) bool { return strings.Contains(r.Err.Error(), tc.want) }) {
				t.Errorf("no failure mentions %q; first: %v", tc.want, sum.Failures[0].Err)
			}
			t.Logf("%d of %d seeds failed; first: %v", sum.Failed, sum.Seeds, sum.Failures[0].Err)
		})
	}
}

// dropConflicts is record.Apply without the conflict append: a write the
// author did not base on the visible version just wins or loses.
func dropConflicts(rec *record.Record, op *record.Op) (*record.Record, record.Outcome, error) {
	next, out, err := record.Apply(rec, op)
	if err != nil || !out.Changed {
		return next, out, err
	}
	for _, w := range op.Writes {
		f := next.Fields[w.Name]
		var before []record.Version
		if rec != nil && rec.Fields[w.Name] != nil {
			before = rec.Fields[w.Name].Conflicts
		}
		f.Conflicts = slices.DeleteFunc(f.Conflicts, func(c record.Version) bool {
			return !slices.ContainsFunc(before, func(b record.Version) bool { return b.Ref() == c.Ref() })
		})
	}
	return next, out, nil
}

// ignoreClock is record.Apply forgetting which ops of the device it has
// applied: a resent op applies again.
func ignoreClock(rec *record.Record, op *record.Op) (*record.Record, record.Outcome, error) {
	if rec != nil {
		rec = rec.Clone()
		rec.Clock = slices.DeleteFunc(rec.Clock, func(c record.NodeClock) bool { return c.Node == op.Node })
	}
	return record.Apply(rec, op)
}

// ignoreSeen is record.Apply treating a delete as having seen every
// field: an edit made during the delete is not flagged, and when it was
// the only trace of that edit, a later write over the field buries it.
func ignoreSeen(rec *record.Record, op *record.Op) (*record.Record, record.Outcome, error) {
	if op.IsDelete() && rec != nil {
		o := *op
		o.Seen = nil
		for _, f := range rec.Fields {
			o.Seen = append(o.Seen, f.Ref())
		}
		return record.Apply(rec, &o)
	}
	return record.Apply(rec, op)
}

// byzantineSeeds is how many seeds TestByzantine runs: each makes 400
// swarm devices besides the replicas, so a run costs about twenty honest
// ones (100 seeds took 38 s under -race on two busy cores); the soak
// (cmd/soak) runs many more.
const byzantineSeeds = 40

func byzantine(seed uint64) Config {
	return Config{Seed: seed, Byzantine: true, Codec: seed%10 == 0, NoPatches: seed%3 == 0}
}

// TestByzantine: hostile and broken devices (a spoofed or copied device
// id, a clock 200 years ahead, a clock decades behind and reset, swarms of
// throwaway devices writing one record past record.MaxRecordClock and past
// the per-account device limit) meet a server that refuses them as the
// real one does; the checker still proves every replica converged and
// every acked op applied, and every refusal actually happened.
func TestByzantine(t *testing.T) {
	if seed, ok := replaySeed(t); ok {
		res := Run(byzantine(seed))
		t.Logf("seed %d: %+v", seed, res.Stats)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		return
	}
	sum := Sweep(0, byzantineSeeds, time.Time{}, runtime.GOMAXPROCS(0), byzantine)
	t.Logf("%d seeds: %+v", sum.Seeds, sum.Stats)
	for _, f := range sum.Failures {
		t.Errorf("%v\n\treplay: go test ./shared/sim -run '^TestByzantine$' (seed %d)", f.Err, f.Seed)
	}
	st := sum.Stats
	for name, n := range map[string]int{
		"device_taken": st.DeviceTaken, "device_limit": st.DeviceLimit, "clock_ahead": st.ClockAhead,
		"clock_reused": st.ClockReused, "restamped ops": st.Restamped, "swarm devices": st.Ghosts, "acked ops": st.Acked,
	} {
		if n == 0 {
			t.Errorf("no %s in %d Byzantine seeds", name, sum.Seeds)
		}
	}
	if st.MaxClock != record.MaxRecordClock {
		t.Errorf("the most clock entries a record held is %d, want the bound %d reached and kept", st.MaxClock, record.MaxRecordClock)
	}
}

// TestByzantineCheckerCanFail: the same devices against the server as it
// was before issue 11 (Config.Unguarded) lose acked edits, and against an
// engine that takes refusals for acks (Config.AckRefused); the checker
// must say so.
func TestByzantineCheckerCanFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(seed uint64) Config
	}{
		{"unguarded server", func(seed uint64) Config { c := byzantine(seed); c.Unguarded = true; return c }},
		{"refusals taken for acks", func(seed uint64) Config { c := byzantine(seed); c.AckRefused = true; return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := Sweep(0, 10, time.Time{}, runtime.GOMAXPROCS(0), tc.cfg)
			if sum.Failed == 0 {
				t.Fatalf("passed %d seeds", sum.Seeds)
			}
			if !slices.ContainsFunc(sum.Failures, func(r Result) bool { return strings.Contains(r.Err.Error(), "acked but never applied") }) {
				t.Errorf("no failure says an acked op was not applied; first: %v", sum.Failures[0].Err)
			}
			t.Logf("%d of %d seeds failed; first: %v", sum.Failed, sum.Seeds, sum.Failures[0].Err)
		})
	}
}
