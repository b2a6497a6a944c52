package cluster

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// BenchmarkCommit is one client's acked write, one op at a time: through
// a three-node cluster (publish, quorum ack with sync_always, local apply
// with badger's fsync) beside single-node badger on the same machine.
// Three nodes on one machine share its cores and disk: this measures the
// added latency of the log, not what three machines would do.
func BenchmarkCommit(b *testing.B) {
	ctx := context.Background()
	space := uuid.Must(uuid.NewV7())
	run := func(b *testing.B, commit func([]record.Op) error) {
		w := newWriter()
		b.ReportAllocs()
		for b.Loop() {
			if err := commit([]record.Op{w.op(space, uuid.Must(uuid.NewV7()), "t", "x")}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("badger", func(b *testing.B) {
		s, err := store.Open(filepath.Join(b.TempDir(), "db"), store.Options{Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, func(ops []record.Op) error { _, err := s.Commit(ctx, ops); return err })
	})
	b.Run("cluster3", func(b *testing.B) {
		tr := newTrio(b)
		run(b, func(ops []record.Op) error { _, err := tr.members[0].store.Commit(ctx, ops); return err })
	})
}
