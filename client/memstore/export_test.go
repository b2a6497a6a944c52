package memstore

import "github.com/plansync/plansync/client"

// PlantJournal puts j into the journal as it is, outbox or not, for
// storetest's OutboxAndJournal case.
func (s *Store) PlantJournal(j client.JournalOp) error {
	b, err := client.MarshalJournal(j)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal[j.LocalSeq] = b
	return nil
}
