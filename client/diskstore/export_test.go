package diskstore

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/client"
)

// PlantJournal writes j as a journal entry of the older layout ('j'), for
// storetest's OutboxAndJournal case: the state that layout's Rebase left
// when it stopped between two transactions.
func (s *Store) PlantJournal(j client.JournalOp) error {
	b, err := client.MarshalJournal(j)
	if err != nil {
		return err
	}
	s.older.Store(true)
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(journalKey(j.LocalSeq), b) })
}
