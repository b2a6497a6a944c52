// Package diskstore is a client.Store on disk for native clients (a CLI,
// the load generator when it must survive restarts), using badger. It is
// its own package so the wasm build never links badger.
//
// Every write is committed with SyncWrites on: the outbox entry is on disk
// when AddPending returns, which is the promise "saved on this device"
// makes. A process killed at any point reopens with its outbox intact.
package diskstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

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
	prefixAcked   = 'a' // 'a' big-endian LocalSeq(8) → big-endian seq(8)
	prefixJournal = 'j' // 'j' big-endian LocalSeq(8) → client.JournalBytes (older stores)
)

// The journal of acked ops is the outbox entries that carry an acked mark:
// an ack writes 'a' LocalSeq → seq beside the op's 'o' entry and leaves the
// entry as it is. Moving each acked op's bytes to a journal key instead
// (read, delete, write again) made an ack write every op a second time, and
// syncing those bytes made w1 (10,000 records pushed) measurably slower; a
// mark is 17 bytes. Rebase then only drops marks. Every write that deletes
// an outbox entry deletes its mark too, and a mark is only ever written in
// the transaction that finds its entry, so no mark outlives its entry
// (LocalSeqs restart after Reset, and a stray mark would hide a new edit).
// Stores written before the marks may hold 'j' entries (the seq, then the
// op's outbox bytes): Load reads them, trimming deletes them, Rebase moves
// them into the outbox.

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

	// older is set when the store holds (or held since Open) journal
	// entries of the older layout, which trimming must delete too.
	older atomic.Bool
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
	s := &Store{db: db}
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixJournal}})
		defer it.Close()
		it.Rewind()
		s.older.Store(it.Valid())
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("diskstore: open %s: %w", dir, err)
	}
	return s, nil
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

func ackedKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixAcked}, seq)
}

func journalKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixJournal}, seq)
}

func cursorKey(space uuid.UUID) []byte {
	return append([]byte{prefixCursor}, space[:]...)
}

// Load implements client.Store. Keys sort by prefix, so the acked marks
// ('a') are read before the outbox entries ('o') they mark.
func (s *Store) Load(ctx context.Context) (*client.Snapshot, error) {
	snap := &client.Snapshot{Records: map[record.Key]*record.Record{}, Cursors: map[uuid.UUID]uint64{}}
	acked := map[uint64]uint64{} // LocalSeq → seq, from the marks
	var older []client.JournalOp // 'j' entries
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if k[0] == prefixAcked && len(k) == 9 {
				err := item.Value(func(v []byte) error {
					if len(v) != 8 {
						return fmt.Errorf("diskstore: acked mark of %d bytes", len(v))
					}
					acked[binary.BigEndian.Uint64(k[1:])] = binary.BigEndian.Uint64(v)
					return nil
				})
				if err != nil {
					return err
				}
				continue
			}
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
			case k[0] == prefixOutbox && len(k) == 9:
				p, err := client.UnmarshalPending(v)
				if err != nil {
					return err
				}
				if seq, ok := acked[binary.BigEndian.Uint64(k[1:])]; ok {
					snap.Journal = append(snap.Journal, client.JournalOp{LocalSeq: p.LocalSeq, Seq: seq, Op: p.Op})
				} else {
					snap.Outbox = append(snap.Outbox, p) // keys sort by LocalSeq
				}
			case k[0] == prefixJournal:
				j, err := client.UnmarshalJournal(v)
				if err != nil {
					return err
				}
				older = append(older, j)
				s.older.Store(true)
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
	if len(older) > 0 {
		snap.Journal = mergeOlder(snap.Journal, older, snap.Outbox)
	}
	return snap, nil
}

// mergeOlder adds the journal entries of the older layout to marked, in
// LocalSeq order, leaving out those whose op is in the outbox (a Rebase
// of that layout that stopped between transactions leaves an op in both:
// it is to be sent again, as the outbox says) or marked already.
func mergeOlder(marked, older []client.JournalOp, outbox []client.PendingOp) []client.JournalOp {
	have := make(map[uint64]bool, len(marked)+len(outbox))
	for _, p := range outbox {
		have[p.LocalSeq] = true
	}
	for _, j := range marked {
		have[j.LocalSeq] = true
	}
	for _, j := range older {
		if !have[j.LocalSeq] {
			marked = append(marked, j)
		}
	}
	slices.SortFunc(marked, func(a, b client.JournalOp) int { return cmp.Compare(a.LocalSeq, b.LocalSeq) })
	return marked
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

// RemovePending implements client.Store. An op acked meanwhile is in the
// journal, not the outbox, and stays there.
func (s *Store) RemovePending(ctx context.Context, seqs []uint64) error {
	return s.removeOutbox(seqs)
}

// removeOutbox deletes the outbox entries seqs names that carry no acked
// mark, in transactions that read the mark and delete the entry together
// (so an ack racing with it conflicts instead of leaving a mark on nothing),
// as many as the entries need.
func (s *Store) removeOutbox(seqs []uint64) error {
	p := s.pieces()
	defer p.discard()
	for _, q := range seqs {
		err := p.do(func(txn *badger.Txn) error {
			if _, err := txn.Get(ackedKey(q)); err == nil {
				return nil // in the journal
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			return txn.Delete(outboxKey(q))
		})
		if err != nil {
			return err
		}
	}
	return p.commit()
}

// DropSpace implements client.Store: the cursor first, then the outbox
// entries (removeOutbox) and the records in a write batch (deletes are
// idempotent, and a space's records may exceed one transaction).
func (s *Store) DropSpace(ctx context.Context, space uuid.UUID, seqs []uint64) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(cursorKey(space)) }); err != nil {
		return err
	}
	if err := s.removeOutbox(seqs); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
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
// still ahead is restamped again at the next Welcome). An entry with an
// acked mark is in the journal, not the outbox, and is left as it was.
func (s *Store) UpdatePending(ctx context.Context, ops []client.PendingOp, meta *client.Meta) error {
	var mb []byte
	if meta != nil {
		b, err := client.MarshalMeta(*meta)
		if err != nil {
			return err
		}
		mb = b
	}
	p := s.pieces()
	defer p.discard()
	for _, op := range ops {
		b, err := client.MarshalPending(op)
		if err != nil {
			return err
		}
		err = p.do(func(txn *badger.Txn) error {
			k := outboxKey(op.LocalSeq)
			if _, err := txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			if _, err := txn.Get(ackedKey(op.LocalSeq)); err == nil {
				return nil
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			return txn.Set(k, b)
		})
		if err != nil {
			return err
		}
	}
	if mb != nil {
		if err := p.do(func(txn *badger.Txn) error { return txn.Set([]byte{prefixMeta}, mb) }); err != nil {
			return err
		}
	}
	return p.commit()
}

// AckPending implements client.Store: a mark per acked op still in the
// outbox (see the layout above), and trimming deletes entries with their
// marks. One ack carries at most a push (500 ops), and trimming drops as
// many: one transaction.
func (s *Store) AckPending(ctx context.Context, acked []client.JournalOp, trim []uint64) error {
	seqs := make([]uint64, len(acked))
	for i, j := range acked {
		seqs[i] = j.LocalSeq
	}
	return s.db.Update(func(txn *badger.Txn) error {
		inOutbox, err := present(txn, prefixOutbox, seqs)
		if err != nil {
			return err
		}
		for _, j := range acked {
			if !inOutbox[j.LocalSeq] {
				continue
			}
			if err := txn.Set(ackedKey(j.LocalSeq), binary.BigEndian.AppendUint64(nil, j.Seq)); err != nil {
				return err
			}
		}
		marked, err := present(txn, prefixAcked, trim)
		if err != nil {
			return err
		}
		for _, q := range trim {
			if marked[q] {
				if err := txn.Delete(outboxKey(q)); err != nil {
					return err
				}
				if err := txn.Delete(ackedKey(q)); err != nil {
					return err
				}
				if !s.older.Load() {
					continue
				}
			}
			// An entry of the older layout, or nothing (an unmarked outbox
			// entry is not the journal's to drop).
			if err := txn.Delete(journalKey(q)); err != nil {
				return err
			}
		}
		return nil
	})
}

// present reports which of seqs have a key prefix|seq in txn. The numbers
// of one ack or one trim are mostly consecutive, so it walks their range
// with one iterator over keys only (cheaper than a Get each, since most
// are flushed to tables by then) unless they are too sparse in it.
func present(txn *badger.Txn, prefix byte, seqs []uint64) (map[uint64]bool, error) {
	found := make(map[uint64]bool, len(seqs))
	if len(seqs) == 0 {
		return found, nil
	}
	lo, hi := slices.Min(seqs), slices.Max(seqs)
	if len(seqs) < 8 || hi-lo > 4*uint64(len(seqs)) {
		for _, q := range seqs {
			k := binary.BigEndian.AppendUint64([]byte{prefix}, q)
			if _, err := txn.Get(k); err == nil {
				found[q] = true
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return nil, err
			}
		}
		return found, nil
	}
	want := make(map[uint64]bool, len(seqs))
	for _, q := range seqs {
		want[q] = true
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
	defer it.Close()
	for it.Seek(binary.BigEndian.AppendUint64([]byte{prefix}, lo)); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 9 {
			continue
		}
		q := binary.BigEndian.Uint64(k[1:])
		if q > hi {
			break
		}
		if want[q] {
			found[q] = true
		}
	}
	return found, nil
}

// Rebase implements client.Store in steps. First the records and cursors
// go, in as many batches as they need (a device may hold more records
// than one badger transaction takes); a crash then leaves the old
// incarnation in the metadata, so the engine rebases again on the next
// Welcome. Then the journal returns to the outbox: each acked mark is
// deleted (its entry is the op's outbox bytes already), and each entry of
// the older layout moves to the outbox unless its op is there. A journal
// too big for one transaction goes in several, and the metadata with the
// last: a crash before it leaves the rest to go at the next Welcome; an op
// is in the outbox or the journal at every step, never lost.
func (s *Store) Rebase(ctx context.Context, m client.Meta) error {
	mb, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	var (
		marks [][]byte
		older []kv // 'j' key, the op's outbox bytes
	)
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			switch k := it.Item().Key(); k[0] {
			case prefixRecord, prefixCursor:
				if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
					return err
				}
			case prefixAcked:
				marks = append(marks, it.Item().KeyCopy(nil))
			case prefixJournal:
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				if len(v) < 8 || len(k) != 9 {
					return fmt.Errorf("diskstore: journal entry %q of %d bytes", k, len(v))
				}
				older = append(older, kv{it.Item().KeyCopy(nil), v[8:]})
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
	p := s.pieces()
	defer p.discard()
	for _, k := range marks {
		if err := p.do(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
			return err
		}
	}
	for _, e := range older {
		err := p.do(func(txn *badger.Txn) error {
			ok := outboxKey(binary.BigEndian.Uint64(e.k[1:]))
			if _, err := txn.Get(ok); errors.Is(err, badger.ErrKeyNotFound) {
				if err := txn.Set(ok, e.v); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			return txn.Delete(e.k)
		})
		if err != nil {
			return err
		}
	}
	if err := p.do(func(txn *badger.Txn) error { return txn.Set([]byte{prefixMeta}, mb) }); err != nil {
		return err
	}
	return p.commit()
}

type kv struct{ k, v []byte }

// pieces is a write in as many transactions as it needs: each step runs in
// the current transaction, or, when that is full, in a new one after the
// current commits. A step must be whole by itself (a crash between two
// transactions leaves every step before it done and none after), and may
// run twice: a step that filled the transaction part-way runs again whole
// in the next.
type pieces struct {
	db  *badger.DB
	txn *badger.Txn
}

func (s *Store) pieces() *pieces { return &pieces{db: s.db, txn: s.db.NewTransaction(true)} }

func (p *pieces) do(step func(*badger.Txn) error) error {
	err := step(p.txn)
	if !errors.Is(err, badger.ErrTxnTooBig) {
		return err
	}
	if err := p.txn.Commit(); err != nil {
		return err
	}
	p.txn = p.db.NewTransaction(true)
	return step(p.txn)
}

func (p *pieces) commit() error { return p.txn.Commit() }

func (p *pieces) discard() { p.txn.Discard() }

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
