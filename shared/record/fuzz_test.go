package record

import (
	"reflect"
	"runtime"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

func fuzzSeeds() (recs []*Record, ops []*Op) {
	sp := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	id := uuid.MustParse("01900000-0000-7000-8000-000000000002")
	a := uuid.MustParse("01900000-0000-7000-8000-000000000003")
	b := uuid.MustParse("01900000-0000-7000-8000-000000000004")
	ts := hlc.New(1_700_000_000_000, 1)
	base := Ref{HLC: ts - 3, Node: b}
	ops = []*Op{
		{Space: sp, Collection: "goals", ID: id, HLC: ts, Node: a, Author: a, Writes: []Write{{Name: "title", Value: "read every night"}}},
		{Space: sp, Collection: "goals", ID: id, HLC: ts + 1, Node: b, Author: b, Writes: []Write{
			{Name: "title", Value: "read", Base: &base, Resolves: []Ref{{HLC: ts - 2, Node: a}}},
			{Name: "minutes", Value: int64(20)}, {Name: "score", Value: 2.5},
			{Name: "tags", Value: []any{"a", int64(1), map[string]any{"k": []byte{1}}}},
		}},
		{Space: sp, Collection: "goals", ID: id, HLC: ts + 2, Node: a, Author: a, Writes: []Write{{Name: DeletedField, Value: true}}, Seen: []Ref{{HLC: ts, Node: a}}},
	}
	var r *Record
	for _, op := range ops {
		r, _, _ = Apply(r, op)
		recs = append(recs, r.Clone())
	}
	return recs, ops
}

// FuzzUnmarshal feeds arbitrary bytes to the record decoder the store and
// every client run on what they read. It must not panic, and a record it
// accepts must encode, decode, and from then on round-trip unchanged. (The
// first trip may change a value's type: compact floats turn 3.0 into 3.)
func FuzzUnmarshal(f *testing.F) {
	recs, _ := fuzzSeeds()
	for _, r := range recs {
		b, err := Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x81, 0xa1, 'd', 0xdf, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Unmarshal(b)
		if err != nil {
			return
		}
		enc, err := Marshal(r)
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		again, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		enc, err = Marshal(again)
		if err != nil {
			t.Fatalf("re-decoded record does not encode: %v", err)
		}
		third, err := Unmarshal(enc)
		if err != nil || !reflect.DeepEqual(again, third) {
			t.Fatalf("record does not round-trip (%v):\n%#v\n%#v", err, again, third)
		}
	})
}

// FuzzOpValidate decodes arbitrary bytes as an op, as the server does with
// every pushed op, and validates it. Validate must not panic; an op it
// accepts must round-trip (after a first trip, which may turn 3.0 into 3),
// validate again, and merge: applying it
// must not panic, and applying it twice must change nothing the second
// time.
func FuzzOpValidate(f *testing.F) {
	recs, ops := fuzzSeeds()
	for _, op := range ops {
		b, err := wire.Marshal(op)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(len(recs)))
	}
	f.Fuzz(func(t *testing.T, b []byte, on uint8) {
		var op Op
		if wire.Unmarshal(b, &op) != nil {
			return
		}
		if op.Validate() != nil {
			return
		}
		enc, err := wire.Marshal(&op)
		if err != nil {
			t.Fatalf("valid op does not encode: %v", err)
		}
		var again Op
		if err := wire.Unmarshal(enc, &again); err != nil {
			t.Fatalf("valid op does not decode: %v", err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("valid op invalid after a round trip: %v", err)
		}
		if enc, err = wire.Marshal(&again); err != nil {
			t.Fatalf("valid op does not encode twice: %v", err)
		}
		var third Op
		if err := wire.Unmarshal(enc, &third); err != nil || third.Validate() != nil || !reflect.DeepEqual(again, third) {
			t.Fatalf("op does not round-trip (%v):\n%#v\n%#v", err, again, third)
		}
		// Merge it into a seed record (retargeted at the op's key) or
		// into nothing.
		var cur *Record
		if i := int(on); i < len(recs) {
			cur = recs[i].Clone()
			cur.Space, cur.Collection, cur.ID = op.Space, op.Collection, op.ID
		}
		next, out, err := Apply(cur, &op)
		if err != nil {
			return
		}
		if !out.Changed {
			return // at or below the device's clock: already applied
		}
		if _, out2, err := Apply(next, &op); err != nil || out2.Changed {
			t.Fatalf("applying an op twice changed the record again (%v, %v)", out2, err)
		}
	})
}

// TestUnmarshalAllocationIsBoundedByInput decodes records that declare
// huge maps, arrays and strings in a few bytes.
func TestUnmarshalAllocationIsBoundedByInput(t *testing.T) {
	for name, b := range map[string][]byte{
		"map32 fields":      {0x81, 0xa1, 'd', 0xdf, 0x7f, 0xff, 0xff, 0xff},
		"array32 clock":     {0x81, 0xa1, 'k', 0xdd, 0x7f, 0xff, 0xff, 0xff},
		"str32 collection":  {0x81, 0xa1, 'c', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'},
		"array16 conflicts": {0x81, 0xa1, 'd', 0x81, 0xa1, 't', 0x81, 0xa1, 'c', 0xdc, 0xff, 0xff},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 4 {
			_, _ = Unmarshal(b)
			var op Op
			_ = wire.Unmarshal(b, &op)
		}
		runtime.ReadMemStats(&after)
		if got := (after.TotalAlloc - before.TotalAlloc) / 4; got > 64<<10 {
			t.Errorf("%s: %d-byte input allocated %d bytes", name, len(b), got)
		}
	}
}
