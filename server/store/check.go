package store

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// CheckLog verifies one space's log invariants, which Changes and History
// rely on:
//   - the log holds every seq from 1 to the head, and nothing past it;
//   - each entry's record exists with a Seq at or above the entry's, and
//     the entry is in that record's history index;
//   - each record's Seq is a log entry that names it.
//
// It reads the whole space; it is meant for tests, the crash harness and an
// admin check command, not for the request path.
func (s *Store) CheckLog(ctx context.Context, space uuid.UUID) error {
	return s.db.View(func(txn *badger.Txn) error {
		head, err := readHead(txn, space)
		if err != nil {
			return err
		}
		named := map[uint64]record.Key{}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = logPrefix(space)
		it := txn.NewIterator(opts)
		defer it.Close()
		want := uint64(1)
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			seq := seqSuffix(it.Item().Key())
			if seq != want {
				return fmt.Errorf("store: log of %s: found seq %d, want %d", space, seq, want)
			}
			want++
			var ref logRef
			if err := it.Item().Value(func(v []byte) error { return unmarshal(v, &ref) }); err != nil {
				return fmt.Errorf("store: log of %s at %d: %w", space, seq, err)
			}
			key := record.Key{Space: space, Collection: ref.Op.Collection, ID: ref.Op.ID}
			named[seq] = key
			rec, err := getRecord(txn, recordKey(key))
			if err != nil {
				return fmt.Errorf("store: log of %s at %d: record %s/%s: %w", space, seq, key.Collection, key.ID, err)
			}
			if rec.Seq < seq {
				return fmt.Errorf("store: log of %s at %d: record %s/%s has older seq %d", space, seq, key.Collection, key.ID, rec.Seq)
			}
			if _, err := txn.Get(historyKey(key, seq)); err != nil {
				return fmt.Errorf("store: log of %s at %d: history index: %w", space, seq, err)
			}
		}
		if want-1 != head {
			return fmt.Errorf("store: log of %s ends at %d, head is %d", space, want-1, head)
		}
		return checkRecordSeqs(txn, space, named)
	})
}

// checkRecordSeqs verifies that each record of space is named by the log
// entry at its Seq.
func checkRecordSeqs(txn *badger.Txn, space uuid.UUID, named map[uint64]record.Key) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = idKey(kindRecord, space)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var rec *record.Record
		err := it.Item().Value(func(v []byte) (err error) {
			rec, err = record.Unmarshal(v)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: record %x: %w", it.Item().Key(), err)
		}
		if k, ok := named[rec.Seq]; !ok || k != rec.Key() {
			return fmt.Errorf("store: record %s/%s at seq %d: no log entry names it", rec.Collection, rec.ID, rec.Seq)
		}
	}
	return nil
}
