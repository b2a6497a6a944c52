package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/plansync/plansync/server"
)

// TestQuotas: a member filling a plan is refused with ErrQuotaExceeded once
// the plan's quota is reached, nothing refused is stored or acked, the other
// members of other plans go on, a person's quota spans plans, and usage
// survives a restart.
func TestQuotas(t *testing.T) {
	opts := Options{SpaceQuota: 64 << 10, UserQuota: 96 << 10}
	s, dir := openTest(t, opts)
	hostile, honest := newWriter(), newWriter()
	full, other := newID(), newID()
	big := strings.Repeat("x", 4<<10)

	var refused, applied int
	for i := range 40 {
		res := commitRaw(t, s, hostile.op(full, "notes", newID(), map[string]any{"text": big}))
		switch {
		case errors.Is(res[0].Err, server.ErrQuotaExceeded):
			refused++
			if res[0].Changed || res[0].Seq != 0 {
				t.Fatalf("op %d refused but reported %+v", i, res[0])
			}
		case res[0].Err != nil:
			t.Fatalf("op %d: %v", i, res[0].Err)
		default:
			applied++
		}
	}
	if refused == 0 || applied < 10 || applied > 16 {
		t.Fatalf("%d applied, %d refused: the 64 KiB plan quota should stop 4 KiB notes after about 15", applied, refused)
	}
	head, err := s.Head(t.Context(), full)
	if err != nil || head != uint64(applied) {
		t.Fatalf("head %d (%v), want %d: refused ops left a trace", head, err, applied)
	}
	// Another person in another plan is not held back by the full one.
	if res := commit(t, s, honest.op(other, "notes", newID(), map[string]any{"text": big})); res[0].Err != nil {
		t.Fatalf("honest op in another plan: %v", res[0].Err)
	}
	// The hostile person's own quota spans plans: 96 KiB in all.
	var elsewhere int
	for range 20 {
		res := commitRaw(t, s, hostile.op(other, "notes", newID(), map[string]any{"text": big}))
		if errors.Is(res[0].Err, server.ErrQuotaExceeded) {
			break
		}
		elsewhere++
	}
	if elsewhere == 0 || applied+elsewhere > 24 {
		t.Fatalf("%d more ops in the other plan after %d: the person quota did not hold", elsewhere, applied)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, opts)
	if res := commitRaw(t, s, hostile.op(full, "notes", newID(), map[string]any{"text": big})); !errors.Is(res[0].Err, server.ErrQuotaExceeded) {
		t.Fatalf("after a restart the full plan took an op: %+v", res[0])
	}
	if res := commit(t, s, honest.op(other, "notes", newID(), map[string]any{"text": "still fine"})); res[0].Err != nil {
		t.Fatalf("after a restart: %v", res[0].Err)
	}
}
