package store

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCommitAndReadBack(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	w := newWriter()
	space, goal, note := newID(), newID(), newID()

	res := commit(t, s,
		w.op(space, "goals", goal, map[string]any{"area": "reading", "target": int64(20)}),
		w.op(space, "notes", note, map[string]any{"text": "Great week!"}),
		w.op(space, "goals", goal, map[string]any{"status": "active"}),
	)
	for i, want := range []uint64{1, 2, 3} {
		if res[i].Seq != want || !res[i].Changed || res[i].Conflict {
			t.Errorf("op %d: %+v, want seq %d changed", i, res[i], want)
		}
	}
	rec, err := s.Record(ctx, record.Key{Space: space, Collection: "goals", ID: goal})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 3 || rec.Value("area") != "reading" || rec.Value("target") != int64(20) || rec.Value("status") != "active" {
		t.Errorf("goal = seq %d %v %v %v", rec.Seq, rec.Value("area"), rec.Value("target"), rec.Value("status"))
	}
	if h, err := s.Head(ctx, space); err != nil || h != 3 {
		t.Errorf("head = %d, %v; want 3", h, err)
	}
	if h, err := s.Head(ctx, newID()); err != nil || h != 0 {
		t.Errorf("head of empty space = %d, %v; want 0", h, err)
	}
	if _, err := s.Record(ctx, record.Key{Space: space, Collection: "goals", ID: newID()}); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("missing record: %v, want ErrNotFound", err)
	}
	if err := s.CheckLog(ctx, space); err != nil {
		t.Error(err)
	}
}

func TestReapplyIsNoop(t *testing.T) {
	s, _ := openTest(t, Options{})
	w := newWriter()
	space, id := newID(), newID()
	op := w.op(space, "notes", id, map[string]any{"text": "hello"})
	first := commit(t, s, op)
	commit(t, s, w.op(space, "notes", newID(), map[string]any{"text": "other"}))

	var published int
	s.OnCommit(func(cs []server.Committed) { published += len(cs) })
	again := commit(t, s, op)
	if again[0].Changed || again[0].Seq != first[0].Seq {
		t.Errorf("re-applied op: %+v, want unchanged at seq %d", again[0], first[0].Seq)
	}
	if h, _ := s.Head(context.Background(), space); h != 2 {
		t.Errorf("head = %d after re-apply, want 2", h)
	}
	if published != 0 {
		t.Errorf("re-apply published %d changes", published)
	}
	// Re-applied in the same call as its first application: the overlay
	// sees the first.
	op2 := w.op(space, "notes", id, map[string]any{"text": "hello again"})
	res := commit(t, s, op2, op2)
	if !res[0].Changed || res[1].Changed || res[1].Seq != res[0].Seq {
		t.Errorf("same op twice in one call: %+v", res)
	}
}

func TestConflictLimitRefusesOneOp(t *testing.T) {
	s, _ := openTest(t, Options{})
	space, id := newID(), newID()
	var ops []record.Op
	for range record.MaxConflicts + 1 {
		ops = append(ops, newWriter().blind(space, "goals", id, "target", "x"))
	}
	res := commit(t, s, ops...)
	for i, r := range res {
		if !r.Changed || r.Conflict != (i > 0) {
			t.Errorf("blind write %d: %+v", i, r)
		}
	}
	head := res[len(res)-1].Seq

	other := newWriter()
	refused := newWriter().blind(space, "goals", id, "target", "one too many")
	fine := other.op(space, "goals", newID(), map[string]any{"area": "math"})
	res, err := s.Commit(context.Background(), []record.Op{refused, fine})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, record.ErrTooManyConflicts) || res[0].Changed {
		t.Errorf("op past the limit: %+v", res[0])
	}
	if res[1].Err != nil || !res[1].Changed || res[1].Seq != head+1 {
		t.Errorf("other op of the call: %+v, want seq %d", res[1], head+1)
	}
	hist, err := s.History(context.Background(), refused.Key())
	if err != nil || len(hist) != record.MaxConflicts+1 {
		t.Errorf("history has %d entries (%v), want %d: refused op must leave no trace", len(hist), err, record.MaxConflicts+1)
	}
	if err := s.CheckLog(context.Background(), space); err != nil {
		t.Error(err)
	}
}

func TestGroupCommitUnderConcurrency(t *testing.T) {
	s, _ := openTest(t, Options{})
	const committers, perCommitter = 50, 4
	spaces := []uuid.UUID{newID(), newID(), newID()}

	var mu sync.Mutex
	var groups [][]server.Committed
	s.OnCommit(func(cs []server.Committed) {
		mu.Lock()
		groups = append(groups, cs)
		mu.Unlock()
	})

	type acked struct {
		op  record.Op
		res server.OpResult
	}
	var ackMu sync.Mutex
	var acks []acked
	var wg sync.WaitGroup
	for i := range committers {
		wg.Go(func() {
			w := newWriter()
			for j := range perCommitter {
				space := spaces[(i+j)%len(spaces)]
				ops := []record.Op{
					w.op(space, "notes", newID(), map[string]any{"text": text(200)}),
					w.op(space, "goals", newID(), map[string]any{"area": "reading"}),
				}
				res, err := s.Commit(context.Background(), ops)
				if err != nil {
					t.Error(err)
					return
				}
				// Once Commit returns, the group is published.
				mu.Lock()
				n := len(groups)
				mu.Unlock()
				if n == 0 {
					t.Error("Commit returned before OnCommit ran")
				}
				ackMu.Lock()
				for k := range ops {
					acks = append(acks, acked{ops[k], res[k]})
				}
				ackMu.Unlock()
			}
		})
	}
	wg.Wait()

	st := s.Stats()
	commits := uint64(committers * perCommitter)
	if st.Commits != commits || st.Ops != 2*commits {
		t.Errorf("stats %+v, want %d commits, %d ops", st, commits, 2*commits)
	}
	if st.Syncs >= commits {
		t.Errorf("%d syncs for %d commits: no grouping", st.Syncs, commits)
	}
	t.Logf("%d commits in %d groups, %d syncs", st.Commits, st.Groups, st.Syncs)

	// Per space, published ranges are contiguous and increasing, and every
	// acked op's seq falls in one, with its record.
	next := map[uuid.UUID]uint64{}
	published := map[uuid.UUID]map[uint64]bool{}
	for _, g := range groups {
		for _, c := range g {
			if c.From != next[c.Space] || c.To <= c.From {
				t.Fatalf("space %s: range (%d, %d] after %d", c.Space, c.From, c.To, next[c.Space])
			}
			next[c.Space] = c.To
			if published[c.Space] == nil {
				published[c.Space] = map[uint64]bool{}
			}
			for i, r := range c.Records {
				if r.Seq <= c.From || r.Seq > c.To || (i > 0 && r.Seq <= c.Records[i-1].Seq) {
					t.Fatalf("record seq %d in range (%d, %d], unordered or out of range", r.Seq, c.From, c.To)
				}
				published[c.Space][r.Seq] = true
			}
		}
	}
	for _, a := range acks {
		if !a.res.Changed || !published[a.op.Space][a.res.Seq] {
			t.Errorf("acked op %+v not published", a.res)
		}
	}
	for _, sp := range spaces {
		if h, _ := s.Head(context.Background(), sp); h != next[sp] {
			t.Errorf("head %d, last published %d", h, next[sp])
		}
		if err := s.CheckLog(context.Background(), sp); err != nil {
			t.Error(err)
		}
	}
}

func TestGroupSplitAcrossTransactions(t *testing.T) {
	// 8 MiB memtables allow about 1.2 MiB per transaction; one call of
	// 800 ops of 4 KiB (record and log entry) forces splits.
	s, _ := openTest(t, Options{MemTableSize: 8 << 20})
	w := newWriter()
	space := newID()
	var ops []record.Op
	for range 800 {
		ops = append(ops, w.op(space, "notes", newID(), map[string]any{"text": text(2000)}))
	}
	res := commit(t, s, ops...)
	if res[len(res)-1].Seq != 800 {
		t.Fatalf("last seq %d", res[len(res)-1].Seq)
	}
	if err := s.CheckLog(context.Background(), space); err != nil {
		t.Fatal(err)
	}
}

func TestCommitCancelledAndClosed(t *testing.T) {
	s, _ := openTest(t, Options{})
	w := newWriter()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	space := newID()
	if _, err := s.Commit(ctx, []record.Op{w.op(space, "notes", newID(), map[string]any{"text": "x"})}); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled commit: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Commit(context.Background(), []record.Op{w.op(space, "notes", newID(), map[string]any{"text": "y"})})
	if !errors.Is(err, server.ErrUnavailable) {
		t.Errorf("commit after close: %v, want ErrUnavailable", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestCloseFinishesInFlight(t *testing.T) {
	s, dir := openTest(t, Options{})
	space := newID()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []uint64
	for range 20 {
		wg.Go(func() {
			w := newWriter()
			for {
				res, err := s.Commit(context.Background(), []record.Op{w.op(space, "notes", newID(), map[string]any{"text": "x"})})
				if errors.Is(err, server.ErrUnavailable) {
					return
				} else if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, res[0].Seq)
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	s2 := openDir(t, dir, Options{})
	head, _ := s2.Head(context.Background(), space)
	slices.Sort(acked)
	if len(acked) == 0 || acked[len(acked)-1] > head || uint64(len(acked)) != head {
		t.Errorf("%d acked (max %d), head after reopen %d", len(acked), acked[len(acked)-1], head)
	}
	if err := s2.CheckLog(context.Background(), space); err != nil {
		t.Error(err)
	}
}

func TestDiskFullRefusesWrites(t *testing.T) {
	var mu sync.Mutex
	free := uint64(1 << 30)
	s, _ := openTest(t, Options{
		Logger:            slog.New(slog.DiscardHandler),
		MinFreeBytes:      64 << 20,
		FreeSpaceInterval: time.Nanosecond,
		FreeSpace: func() (uint64, error) {
			mu.Lock()
			defer mu.Unlock()
			return free, nil
		},
	})
	setFree := func(n uint64) { mu.Lock(); free = n; mu.Unlock() }
	w := newWriter()
	space := newID()
	commit(t, s, w.op(space, "notes", newID(), map[string]any{"text": "before"}))

	setFree(10 << 20)
	var published int
	s.OnCommit(func([]server.Committed) { published++ })
	op := w.op(space, "notes", newID(), map[string]any{"text": "while full"})
	if _, err := s.Commit(context.Background(), []record.Op{op}); !errors.Is(err, server.ErrUnavailable) {
		t.Fatalf("commit on a full disk: %v, want ErrUnavailable", err)
	}
	if h, _ := s.Head(context.Background(), space); h != 1 {
		t.Errorf("head %d after refusal, want 1", h)
	}
	if _, err := s.Record(context.Background(), op.Key()); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("refused op's record: %v", err)
	}
	if published != 0 || s.Stats().Refused != 1 {
		t.Errorf("published %d, stats %+v", published, s.Stats())
	}
	if err := s.Healthy(); !errors.Is(err, server.ErrUnavailable) {
		t.Errorf("Healthy on a full disk: %v", err)
	}

	setFree(1 << 30)
	if err := s.Healthy(); err != nil {
		t.Errorf("Healthy after space returned: %v", err)
	}
	res := commit(t, s, op)
	if res[0].Seq != 2 || !res[0].Changed {
		t.Errorf("retry after space returned: %+v", res[0])
	}
}

func TestOversizedRecordRefused(t *testing.T) {
	s, _ := openTest(t, Options{})
	w := newWriter()
	space, id := newID(), newID()
	// 17 ops of 64 KiB to different fields grow one record past 1 MiB.
	var res []server.OpResult
	for i := range 17 {
		var err error
		name := string(rune('a'+i)) + "text"
		res, err = s.Commit(context.Background(), []record.Op{w.op(space, "notes", id, map[string]any{name: text(64 << 10)})})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !errors.Is(res[0].Err, ErrRecordTooLarge) {
		t.Errorf("last op: %+v, want ErrRecordTooLarge", res[0])
	}
	if err := s.CheckLog(context.Background(), space); err != nil {
		t.Error(err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	s := openDir(t, dir, Options{Registry: reg})
	w := newWriter()
	space := newID()
	commit(t, s, w.op(space, "notes", newID(), map[string]any{"text": "a"}), w.op(space, "notes", newID(), map[string]any{"text": "b"}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "plansync_store_group_ops" {
			h := mf.GetMetric()[0].GetHistogram()
			found = h.GetSampleCount() == 1 && h.GetSampleSum() == 2
		}
	}
	if !found {
		t.Error("group size histogram missing or wrong")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening on the same registry works: Close unregistered.
	openDir(t, dir, Options{Registry: reg})
}
