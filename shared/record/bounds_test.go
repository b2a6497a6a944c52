package record

import (
	"errors"
	"fmt"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
)

// The 10,000-device attack of issue 11: every op from a fresh device id
// must leave a record its own decoder reads, and two replicas applying the
// same ops must compact to the same clock.
func TestRecordClockStaysBoundedAndDecodable(t *testing.T) {
	const devices = 10_001
	var a, b *Record
	for i := range devices {
		n := uuid.New()
		o := op(n, userA, t0+hlc.Timestamp(i+1)<<16, w("title", fmt.Sprint("v", i), nil))
		if a != nil {
			o.Writes[0].Base = ref(a, "title")
		}
		a, _ = mustApply(t, a, o)
		b, _ = mustApply(t, b, o)
	}
	if len(a.Clock) != MaxRecordClock {
		t.Fatalf("clock holds %d entries, want the bound %d", len(a.Clock), MaxRecordClock)
	}
	ab, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := Marshal(b)
	if string(ab) != string(bb) {
		t.Fatal("two replicas compacted the same ops to different records")
	}
	back, err := Unmarshal(ab)
	if err != nil {
		t.Fatalf("a record the merge built does not decode: %v", err)
	}
	if got := back.Value("title"); got != fmt.Sprint("v", devices-1) {
		t.Fatalf("title %v, want the last write", got)
	}
	// The newest devices are the ones kept.
	for _, c := range back.Clock {
		if c.HLC <= t0+hlc.Timestamp(devices-MaxRecordClock)<<16 {
			t.Fatalf("kept an old entry %v", c)
		}
	}
}

func TestRecordFieldsBounded(t *testing.T) {
	var r *Record
	for i := 0; i < MaxRecordFields; i += MaxWritesPerOp {
		var ws []Write
		for j := i; j < i+MaxWritesPerOp && j < MaxRecordFields; j++ {
			ws = append(ws, w(fmt.Sprintf("f%d", j), "x", nil))
		}
		r, _ = mustApply(t, r, op(nodeA, userA, t0+hlc.Timestamp(i+1), ws...))
	}
	if _, _, err := Apply(r, op(nodeA, userA, t0+1<<20, w("one_more", "x", nil))); !errors.Is(err, ErrTooManyFields) {
		t.Fatalf("err %v, want ErrTooManyFields", err)
	}
	// Writing an existing field still works at the bound.
	if _, _, err := Apply(r, op(nodeA, userA, t0+1<<21, w("f0", "y", ref(r, "f0")))); err != nil {
		t.Fatal(err)
	}
	if _, err := Marshal(r); err != nil {
		t.Fatal(err)
	}
}
