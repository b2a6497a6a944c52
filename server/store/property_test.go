package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/vmihailenco/msgpack/v5"
)

// Sizes of TestEveryStoredRecordDecodes: past every record bound, little
// enough to run in seconds.
const (
	// propDevices exceeds record.MaxRecordClock, so the clock compacts.
	propDevices = record.MaxRecordClock + 64
	// propFields exceeds record.MaxRecordFields, so ops meet that bound.
	propFields = record.MaxRecordFields + 88
	// propCommits groups of propOps/2 to propOps ops are committed, each
	// group checked: about 800 ops on the first record, past its clock
	// bound whatever the seed.
	propCommits = 30
	propOps     = 48
	// propValues is how many random values the writer and reader are
	// held to the same verdict on.
	propValues = 3000
)

// propRand is seeded from PLANSYNC_SEED when set, fresh otherwise, and
// says its seed so a failure replays.
func propRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PLANSYNC_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (replay with PLANSYNC_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// propValue draws a value an op may carry: scalars, strings up to
// record.MaxValueBytes, lists and maps up to record.MaxValueItems, nested
// up to record.MaxValueDepth; about budget bytes at most.
func propValue(rng *rand.Rand, depth, budget int) any {
	switch k := rng.IntN(10); {
	case k == 0:
		return nil
	case k == 1:
		return rng.IntN(2) == 0
	case k == 2:
		return rng.Int64() - rng.Int64()
	case k == 3:
		return rng.NormFloat64() * 1e6
	case k < 7 || depth >= record.MaxValueDepth-1 || budget < 64:
		n := rng.IntN(min(budget, 120) + 1)
		if rng.IntN(100) == 0 {
			n = min(budget, record.MaxValueBytes) // at the bound, now and then
		}
		return strings.Repeat(string(rune('a'+rng.IntN(26))), n)
	case k < 9:
		n := rng.IntN(8)
		if rng.IntN(50) == 0 {
			n = min(record.MaxValueItems, budget/8) // at the bound
		}
		l := make([]any, n)
		for i := range l {
			l[i] = propValue(rng, depth+1, budget/max(n, 1))
		}
		return l
	default:
		n := rng.IntN(8)
		if rng.IntN(50) == 0 {
			n = min(record.MaxValueItems, budget/16) // at the bound
		}
		m := make(map[string]any, n)
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = propValue(rng, depth+1, budget/max(n, 1))
		}
		return m
	}
}

// TestEveryStoredRecordDecodes is a property test of the store: random
// op sequences (many devices past the record's clock bound, many fields
// past its field bound, values up to their limits, unbased writes piling
// up conflicts, reused and far-future clocks) are
// committed, and after every commit each record touched reads back
// through the store's own decoder, within record.MaxRecordClock,
// record.MaxRecordFields and MaxRecordBytes, and re-encodes to the bytes
// stored; at the end every history decodes. Every op refused is refused with one
// of the store's named errors, never by failing the group.
func TestEveryStoredRecordDecodes(t *testing.T) {
	rng := propRand(t)
	s, _ := openTest(t, Options{Registry: prometheus.NewRegistry()})
	ctx := context.Background()
	space := newID()
	devices := make([]uuid.UUID, propDevices)
	for i := range devices {
		devices[i] = newID()
	}
	clocks := map[uuid.UUID]hlc.Timestamp{}
	keys := make([]record.Key, 2)
	for i := range keys {
		keys[i] = record.Key{Space: space, Collection: "goals", ID: newID()}
	}
	named := []error{record.ErrTooManyConflicts, record.ErrTooManyFields, server.ErrRecordTooLarge,
		server.ErrClockReused, server.ErrClockAhead, server.ErrQuotaExceeded}
	refused := map[string]int{}
	committed := 0
	turn := map[record.Key]int{} // each record's next device in turn
	for c := range propCommits {
		// What the writers saw: the records as of the last commit, then
		// each op of the group laid on.
		seen := map[record.Key]*record.Record{}
		for _, k := range keys {
			cur, err := s.Record(ctx, k)
			if err != nil && !errors.Is(err, server.ErrNotFound) {
				t.Fatalf("commit %d: %s does not read: %v", c, k.ID, err)
			}
			seen[k] = cur
		}
		var ops []record.Op
		for range propOps/2 + rng.IntN(propOps/2) {
			// Most ops on the first record, so that it meets more devices
			// than its clock keeps in few commits.
			k := keys[0]
			if rng.IntN(4) == 0 {
				k = keys[1+rng.IntN(len(keys)-1)]
			}
			cur := seen[k]
			// Mostly the record's next device in turn, so it meets more
			// devices than its clock keeps; sometimes any.
			turn[k]++
			dev := devices[turn[k]%len(devices)]
			if rng.IntN(3) == 0 {
				dev = devices[rng.IntN(len(devices))]
			}
			ts := max(hlc.New(time.Now().UnixMilli(), 0), clocks[dev]+1)
			refusable := true
			switch rng.IntN(30) {
			case 0:
				ts = clocks[dev] // reuse the device's last clock
			case 1:
				ts = hlc.New(time.Now().Add(hlc.MaxDrift+time.Hour).UnixMilli(), 0)
			default:
				refusable = false
			}
			clocks[dev] = max(clocks[dev], ts)
			op := record.Op{Space: space, Collection: k.Collection, ID: k.ID, HLC: ts, Node: dev, Author: dev}
			{
				budget := record.MaxOpValueBytes
				names := map[string]bool{}
				n := 1 + rng.IntN(8)
				if rng.IntN(20) == 0 {
					n = record.MaxWritesPerOp
				}
				for range n {
					// Mostly fields the record may already hold, so ops
					// still commit once it is full; sometimes any.
					name := fmt.Sprintf("f%03d", rng.IntN(record.MaxRecordFields*3/4))
					if rng.IntN(4) == 0 {
						name = fmt.Sprintf("f%03d", rng.IntN(propFields))
					}
					if names[name] {
						continue
					}
					names[name] = true
					// Values up to their limits on the other records; the
					// first, which takes most ops, stays small enough that
					// re-encoding it on every op keeps the test quick.
					vb := budget / 2
					if k == keys[0] {
						vb = min(vb, 2<<10)
					}
					v := propValue(rng, 0, vb)
					w := record.Write{Name: name, Value: v}
					if rng.IntN(8) != 0 {
						w.Base = baseRef(cur, name)
					}
					op.Writes = append(op.Writes, w)
				}
			}
			if op.Validate() != nil {
				continue // over an op's own limits: the hub refuses it before the store
			}
			ops = append(ops, op)
			// The next op bases on this one, as a device that saw it would
			// (the store merges with the same record.Apply), unless the
			// store is about to refuse it.
			if next, _, err := record.Apply(cur, &op); err == nil && !refusable {
				seen[k] = next
			}
		}
		res, err := s.Commit(ctx, ops)
		if err != nil {
			t.Fatalf("commit %d of %d ops failed as a group: %v", c, len(ops), err)
		}
		for i, r := range res {
			switch {
			case r.Err == nil:
				committed++
			case errorIn(r.Err, named):
				refused[fmt.Sprint(r.Err)]++
			default:
				t.Fatalf("commit %d op %d refused with an unnamed error: %v", c, i, r.Err)
			}
		}
		for _, k := range keys {
			checkStored(t, s, k)
		}
	}
	t.Logf("%d ops committed; refused %v", committed, refused)
	for _, k := range keys {
		if h, err := s.History(ctx, k); err != nil || len(h) == 0 {
			t.Errorf("history of %s: %d entries, %v", k.ID, len(h), err)
		}
	}
	var entries []int
	for _, k := range keys {
		if r, err := s.Record(ctx, k); err == nil {
			entries = append(entries, len(r.Clock))
		}
	}
	if len(entries) == 0 || entries[0] != record.MaxRecordClock {
		t.Errorf("the records' clocks hold %v entries: the first did not reach record.MaxRecordClock (%d), the property missed the bound", entries, record.MaxRecordClock)
	}
	var m dto.Metric
	if err := s.metrics.quarantine.Write(&m); err != nil {
		t.Fatal(err)
	}
	if q := m.GetCounter().GetValue(); q != 0 {
		t.Errorf("%v stored reads quarantined", q)
	}
}

func errorIn(err error, named []error) bool {
	for _, n := range named {
		if errors.Is(err, n) {
			return true
		}
	}
	return false
}

func baseRef(cur *record.Record, name string) *record.Ref {
	if cur == nil || cur.Fields[name] == nil {
		return nil
	}
	r := cur.Fields[name].Ref()
	return &r
}

// checkStored holds one stored record to the property.
func checkStored(t *testing.T, s *Store, k record.Key) {
	t.Helper()
	var raw []byte
	err := s.db.View(func(txn *badger.Txn) (err error) {
		raw, err = getRaw(txn, recordKey(k))
		return err
	})
	if errors.Is(err, server.ErrNotFound) {
		return
	} else if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Unmarshal(raw) // what getRecord decodes with
	if err != nil {
		t.Fatalf("stored record %s (%d bytes) does not decode: %v", k.ID, len(raw), err)
	}
	if len(raw) > MaxRecordBytes || len(rec.Clock) > record.MaxRecordClock || len(rec.Fields) > record.MaxRecordFields {
		t.Fatalf("stored record %s: %d bytes, %d clock entries, %d fields; bounds %d, %d, %d",
			k.ID, len(raw), len(rec.Clock), len(rec.Fields), MaxRecordBytes, record.MaxRecordClock, record.MaxRecordFields)
	}
	again, err := marshal(rec)
	if err != nil || !bytes.Equal(again, raw) {
		t.Fatalf("stored record %s does not re-encode to its bytes: %v", k.ID, err)
	}
}

// TestWireWriterRefusesWhatReaderRefuses: for random values near and past
// the reader's limits (wire.MaxDepth, wire.MaxArrayLen, wire.MaxMapLen),
// the wire writer fails exactly when the reader would refuse the bytes an
// unchecked encoder (the msgpack library) writes for the same value, and
// what it writes reads back as the same value. So the store can never
// write a record its own reader refuses.
func TestWireWriterRefusesWhatReaderRefuses(t *testing.T) {
	rng := propRand(t)
	verdicts := map[bool]int{}
	for i := range propValues {
		v := edgeValue(rng, 0)
		wb, werr := wire.MarshalValue(v)
		var lib bytes.Buffer
		enc := msgpack.NewEncoder(&lib)
		enc.UseCompactInts(true)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		_, rerr := wire.UnmarshalValue(lib.Bytes())
		if (werr == nil) != (rerr == nil) {
			t.Fatalf("value %d (%s): writer says %v, reader of the unchecked bytes says %v", i, describe(v), werr, rerr)
		}
		verdicts[werr == nil]++
		if werr != nil {
			continue
		}
		back, err := wire.UnmarshalValue(wb)
		if err != nil || !reflect.DeepEqual(normal(back), normal(v)) {
			t.Fatalf("value %d (%s): written bytes read back as something else: %v", i, describe(v), err)
		}
	}
	t.Logf("%d values: %d written, %d refused by both", propValues, verdicts[true], verdicts[false])
	if verdicts[true] == 0 || verdicts[false] == 0 {
		t.Errorf("verdicts %v: the values never reached one side of the limits", verdicts)
	}
}

// edgeValue draws values whose shape sits near a wire limit: arrays and
// maps of about their maximum length, nesting about the maximum depth.
func edgeValue(rng *rand.Rand, depth int) any {
	near := func(limit int) int { return max(0, limit-2+rng.IntN(5)) }
	switch rng.IntN(6) {
	case 0:
		if depth == 0 {
			var v any = int64(1)
			for range near(wire.MaxDepth) {
				v = []any{v}
			}
			return v
		}
		return "x"
	case 1:
		if depth == 0 {
			return make([]any, near(wire.MaxArrayLen))
		}
		return nil
	case 2:
		if depth == 0 {
			m := map[string]any{}
			for i := range near(wire.MaxMapLen) {
				m[strconv.Itoa(i)] = int64(i)
			}
			return m
		}
		return true
	case 3:
		if depth < 2 {
			l := make([]any, 1+rng.IntN(3))
			for i := range l {
				l[i] = edgeValue(rng, depth+1)
			}
			return l
		}
		return int64(-1)
	case 4:
		return strings.Repeat("y", rng.IntN(100))
	default:
		return rng.Float64()
	}
}

// normal makes decoded and drawn values comparable: integers as int64.
func normal(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normal(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normal(e)
		}
		return out
	case uint64:
		return int64(x)
	case int:
		return int64(x)
	}
	return v
}

func describe(v any) string {
	s := fmt.Sprintf("%T", v)
	if l, ok := v.([]any); ok {
		s += fmt.Sprintf(" of %d", len(l))
	} else if m, ok := v.(map[string]any); ok {
		s += fmt.Sprintf(" of %d", len(m))
	}
	return s
}
