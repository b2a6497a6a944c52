// Package diskstore is a client.Store on disk for native clients (a CLI,
// the load generator when it must survive restarts), using badger. It is
// its own package so the wasm build never links badger.
//
// Every write is committed with SyncWrites on: the outbox entry is on disk
// when AddPending returns, which is the promise "saved on this device"
// makes. A process killed at any point reopens with its outbox intact.
package diskstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Memory settings: one device's data is megabytes, not gigabytes, and the
// process often runs beside many others (load generator).
const (
	memTableBytes   = 16 << 20 // also bounds one transaction to 15% of it
	numMemtables    = 2
	blockCacheBytes = 8 << 20
	indexCacheBytes = 4 << 20
	vlogFileBytes   = 32 << 20
	baseTableBytes  = 2 << 20
)

// Key prefixes, one key space per kind.
const (
	prefixMeta    = 'm' // 'm' → client.MarshalMeta
	prefixRecord  = 'r' // 'r' space(16) id(16) collection → record.Marshal
	prefixOutbox  = 'o' // 'o' big-endian LocalSeq(8) → client.MarshalPending
	prefixCursor  = 'c' // 'c' space(16) → big-endian seq(8)
	prefixJournal = 'j' // 'j' big-endian LocalSeq(8) → client.JournalBytes
)

// Store is a client.Store in a badger directory.
type Store struct {
	db *badger.DB

	// seqMu serializes AddPending, which allocates LocalSeq: one more
	// than seq, the highest allocated (or found in the outbox when first
	// needed). Badger locks the directory to one process, so a counter in
	// memory is the store's own; reading the outbox inside the write
	// transaction instead would make it conflict with RemovePending.
	seqMu   sync.Mutex
	seq     uint64
	seqRead bool
}

var _ client.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir. Badger locks the
// directory: one process at a time.
func Open(dir string) (*Store, error) {
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(nil).
		WithMemTableSize(memTableBytes).
		WithNumMemtables(numMemtables).
		WithNumLevelZeroTables(numMemtables).
		WithNumLevelZeroTablesStall(numMemtables * 2).
		WithBlockCacheSize(blockCacheBytes).
		WithIndexCacheSize(indexCacheBytes).
		WithValueLogFileSize(vlogFileBytes).
		WithBaseTableSize(baseTableBytes).
		WithNumCompactors(2)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("diskstore: open %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

func recordKey(k record.Key) []byte {
	b := make([]byte, 0, 1+16+16+len(k.Collection))
	b = append(b, prefixRecord)
	b = append(b, k.Space[:]...)
	b = append(b, k.ID[:]...)
	return append(b, k.Collection...)
}

func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixOutbox}, seq)
}

func journalKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixJournal}, seq)
}

func cursorKey(space uuid.UUID) []byte {
	return append([]byte{prefixCursor}, space[:]...)
}

// Load implements client.Store.
func (s *Store) Load(ctx context.Context) (*client.Snapshot, error) {
	snap := &client.Snapshot{Records: map[record.Key]*record.Record{}, Cursors: map[uuid.UUID]uint64{}}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			switch {
			case len(k) == 1 && k[0] == prefixMeta:
				m, err := client.UnmarshalMeta(v)
				if err != nil {
					return err
				}
				snap.Meta = &m
			case k[0] == prefixRecord:
				r, err := record.Unmarshal(v)
				if err != nil {
					return err
				}
				snap.Records[r.Key()] = r
			case k[0] == prefixOutbox:
				p, err := client.UnmarshalPending(v)
				if err != nil {
					return err
				}
				snap.Outbox = append(snap.Outbox, p) // keys sort by LocalSeq
			case k[0] == prefixJournal:
				j, err := client.UnmarshalJournal(v)
				if err != nil {
					return err
				}
				snap.Journal = append(snap.Journal, j) // keys sort by LocalSeq
			case k[0] == prefixCursor && len(k) == 17 && len(v) == 8:
				snap.Cursors[uuid.UUID(k[1:])] = binary.BigEndian.Uint64(v)
			default:
				return fmt.Errorf("diskstore: unknown key %q", k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// AddPending implements client.Store. The number is one more than the
// highest outbox key, read in the same transaction, or the engine's hint
// when that is higher (the hint covers numbers removed since: one process
// holds a badger database, so one engine allocates).
func (s *Store) AddPending(ctx context.Context, p client.PendingOp) (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if !s.seqRead {
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{prefixOutbox}})
			defer it.Close()
			it.Seek(outboxKey(^uint64(0)))
			if it.Valid() {
				if k := it.Item().Key(); len(k) == 9 {
					s.seq = max(s.seq, binary.BigEndian.Uint64(k[1:]))
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		s.seqRead = true
	}
	p.LocalSeq = max(p.LocalSeq, s.seq+1)
	b, err := client.MarshalPending(p)
	if err != nil {
		return 0, err
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(outboxKey(p.LocalSeq), b) }); err != nil {
		return 0, err
	}
	s.seq = p.LocalSeq
	return p.LocalSeq, nil
}

// ApplyChanges implements client.Store. A page normally commits as one
// transaction. A page too big for one (badger bounds a transaction by the
// memtable size) commits its records in several and the cursor in the
// last: a crash in between leaves records newer than the cursor, which the
// next sync sends again, never a cursor past its records.
func (s *Store) ApplyChanges(ctx context.Context, space uuid.UUID, cursor uint64, records []*record.Record) error {
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, r := range records {
		b, err := record.Marshal(r)
		if err != nil {
			return err
		}
		k := recordKey(r.Key())
		if err := txn.Set(k, b); errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return err
			}
			txn = s.db.NewTransaction(true)
			if err := txn.Set(k, b); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	if err := txn.Set(cursorKey(space), binary.BigEndian.AppendUint64(nil, cursor)); errors.Is(err, badger.ErrTxnTooBig) {
		if err := txn.Commit(); err != nil {
			return err
		}
		txn = s.db.NewTransaction(true)
		if err := txn.Set(cursorKey(space), binary.BigEndian.AppendUint64(nil, cursor)); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return txn.Commit()
}

// RemovePending implements client.Store.
func (s *Store) RemovePending(ctx context.Context, seqs []uint64) error {
	wb := s.db.NewWriteBatch() // deletes are idempotent: no need for one transaction
	defer wb.Cancel()
	for _, q := range seqs {
		if err := wb.Delete(outboxKey(q)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// DropSpace implements client.Store: the cursor first, then the outbox
// entries and the records in a write batch (deletes are idempotent, and a
// space's records may exceed one transaction).
func (s *Store) DropSpace(ctx context.Context, space uuid.UUID, seqs []uint64) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(cursorKey(space)) }); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, q := range seqs {
		if err := wb.Delete(outboxKey(q)); err != nil {
			return err
		}
	}
	prefix := append([]byte{prefixRecord}, space[:]...)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

// UpdatePending implements client.Store: one transaction when it fits,
// so the ops and the device id in the metadata agree after a crash. An
// update bigger than one transaction (a restamp of a big offline outbox)
// commits in pieces, ops first and the metadata with the last piece; a
// crash in between leaves some ops restamped under the old metadata, which
// the engine repairs by itself (the old device id is refused again, a clock
// still ahead is restamped again at the next Welcome).
func (s *Store) UpdatePending(ctx context.Context, ops []client.PendingOp, meta *client.Meta) error {
	var mb []byte
	if meta != nil {
		b, err := client.MarshalMeta(*meta)
		if err != nil {
			return err
		}
		mb = b
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	set := func(k, v []byte) error {
		err := txn.Set(k, v)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return err
			}
			txn = s.db.NewTransaction(true)
			err = txn.Set(k, v)
		}
		return err
	}
	for _, p := range ops {
		k := outboxKey(p.LocalSeq)
		if _, err := txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
			continue
		} else if err != nil {
			return err
		}
		b, err := client.MarshalPending(p)
		if err != nil {
			return err
		}
		if err := set(k, b); err != nil {
			return err
		}
	}
	if mb != nil {
		if err := set([]byte{prefixMeta}, mb); err != nil {
			return err
		}
	}
	return txn.Commit()
}

// AckPending implements client.Store. One ack carries at most a push (500
// ops), and trimming drops as many: one transaction.
func (s *Store) AckPending(ctx context.Context, acked []client.JournalOp, trim []uint64) error {
	return s.db.Update(func(txn *badger.Txn) error {
		for _, j := range acked {
			k := outboxKey(j.LocalSeq)
			item, err := txn.Get(k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			} else if err != nil {
				return err
			}
			var b []byte
			if err := item.Value(func(v []byte) error { b = client.JournalBytes(j.Seq, v); return nil }); err != nil {
				return err
			}
			if err := txn.Delete(k); err != nil {
				return err
			}
			if err := txn.Set(journalKey(j.LocalSeq), b); err != nil {
				return err
			}
		}
		for _, q := range trim {
			if err := txn.Delete(journalKey(q)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Rebase implements client.Store in steps. First the records and cursors
// go, in as many batches as they need (a device may hold more records
// than one badger transaction takes); a crash then leaves the old
// incarnation in the metadata, so the engine rebases again on the next
// Welcome. Then each journal entry moves to the outbox in a transaction
// that deletes it from the journal, so none is lost or doubled; a journal
// too big for one transaction moves in several, and the metadata goes with
// the last: a crash before it leaves the rest of the journal to move at
// the next Welcome.
func (s *Store) Rebase(ctx context.Context, m client.Meta) error {
	mb, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	var moves []client.JournalOp
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			switch k := it.Item().Key(); k[0] {
			case prefixRecord, prefixCursor:
				if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
					return err
				}
			case prefixJournal:
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				j, err := client.UnmarshalJournal(v)
				if err != nil {
					return err
				}
				moves = append(moves, j)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for start := 0; start < len(moves); {
		n, err := moveJournal(txn, moves[start:])
		if err != nil {
			return err
		}
		start += n
		if start < len(moves) {
			if err := txn.Commit(); err != nil {
				return err
			}
			txn = s.db.NewTransaction(true)
		}
	}
	if err := txn.Set([]byte{prefixMeta}, mb); errors.Is(err, badger.ErrTxnTooBig) {
		if err := txn.Commit(); err != nil {
			return err
		}
		txn = s.db.NewTransaction(true)
		if err := txn.Set([]byte{prefixMeta}, mb); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return txn.Commit()
}

// moveJournal moves entries of js from the journal to the outbox in txn
// until it is full, and returns how many it moved. Each entry's outbox
// write goes before its journal delete, so a full transaction never drops
// an entry: at worst the one it stopped at is in both until the next
// transaction moves it again.
func moveJournal(txn *badger.Txn, js []client.JournalOp) (int, error) {
	for i, j := range js {
		b, err := client.MarshalPending(client.PendingOp{LocalSeq: j.LocalSeq, Op: j.Op})
		if err != nil {
			return i, err
		}
		err = txn.Set(outboxKey(j.LocalSeq), b)
		if err == nil {
			err = txn.Delete(journalKey(j.LocalSeq))
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			if i == 0 {
				return 0, err // one entry bigger than a transaction
			}
			return i, nil
		} else if err != nil {
			return i, err
		}
	}
	return len(js), nil
}

// SaveMeta implements client.Store.
func (s *Store) SaveMeta(ctx context.Context, m client.Meta) error {
	b, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte{prefixMeta}, b) })
}

// Reset implements client.Store.
func (s *Store) Reset(ctx context.Context) error {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if err := s.db.DropAll(); err != nil {
		return err
	}
	s.seq, s.seqRead = 0, true
	return nil
}

// Close implements client.Store.
func (s *Store) Close() error {
	return s.db.Close()
}
