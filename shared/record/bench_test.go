package record

import (
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
)

// BenchmarkApplyCreate merges a five-field create into an empty record.
func BenchmarkApplyCreate(b *testing.B) {
	o := op(nodeA, userA, t0, w("title", "Read nightly", noBase), w("description", "Ten minutes of paired reading every school day", noBase),
		w("status", "open", noBase), w("owner", "user-1@example.com", noBase), w("updatedAt", "2024-01-01T00:00:00.000Z", noBase))
	for b.Loop() {
		if _, _, err := Apply(nil, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyConcurrentEdit merges a same-field edit that collides, the
// expensive path, into a record with a few device clocks.
func BenchmarkApplyConcurrentEdit(b *testing.B) {
	r, _, _ := Apply(nil, op(nodeA, userA, t0, w("title", "x", noBase), w("status", "open", noBase)))
	for i := 0; i < 4; i++ {
		r, _, _ = Apply(r, op(uuid.New(), userB, t0+hlc.Timestamp(i+1), w("status", i, ref(r, "status"))))
	}
	o := op(nodeB, userB, t0+100, w("title", "y", &Ref{HLC: 1, Node: nodeB}))
	for b.Loop() {
		if _, _, err := Apply(r, o); err != nil {
			b.Fatal(err)
		}
	}
}
