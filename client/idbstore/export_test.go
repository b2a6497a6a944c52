//go:build js && wasm

package idbstore

import (
	"context"

	"github.com/plansync/plansync/client"
)

// PlantJournal puts j into the journal as it is, outbox or not, for
// storetest's OutboxAndJournal case.
func (s *Store) PlantJournal(ctx context.Context, j client.JournalOp) error {
	b, err := client.MarshalJournal(j)
	if err != nil {
		return err
	}
	t, err := s.begin(readWrite, durabilityDefault, storeJournal)
	if err != nil {
		return err
	}
	journal, err := t.store(storeJournal)
	if err == nil {
		_, err = call(journal, "put", bytesToJS(b), float64(j.LocalSeq))
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finish(ctx, t)
}
