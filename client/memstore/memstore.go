// Package memstore is a client.Store in memory: for tests, for the w3 load
// generator (thousands of simulated devices in one process), and as the
// reference the other stores are checked against (client/storetest).
//
// It keeps everything encoded, exactly as a durable store would, so that an
// engine sharing a value with the store, or a value that does not survive
// encoding, shows up in tests rather than in the browser.
package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("memstore: closed")

// Store is an in-memory client.Store, safe for concurrent use. "Durable"
// here means: survives the engine (a new engine over the same Store sees
// everything), which is what a page reload is to IndexedDB.
type Store struct {
	mu      sync.Mutex
	closed  bool
	meta    []byte
	records map[record.Key][]byte
	outbox  map[uint64][]byte
	cursors map[uuid.UUID]uint64
	journal map[uint64][]byte
	seq     uint64 // highest LocalSeq allocated since the last Reset
}

var _ client.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	s := &Store{}
	s.wipe()
	return s
}

func (s *Store) wipe() {
	s.meta = nil
	s.records = map[record.Key][]byte{}
	s.outbox = map[uint64][]byte{}
	s.cursors = map[uuid.UUID]uint64{}
	s.journal = map[uint64][]byte{}
	s.seq = 0
}

// Reopen makes a closed store usable again with its contents, as reopening
// a database after a restart would.
func (s *Store) Reopen() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = false
	return s
}

// Load implements client.Store.
func (s *Store) Load(ctx context.Context) (*client.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	snap := &client.Snapshot{
		Records: make(map[record.Key]*record.Record, len(s.records)),
		Cursors: make(map[uuid.UUID]uint64, len(s.cursors)),
	}
	if s.meta != nil {
		m, err := client.UnmarshalMeta(s.meta)
		if err != nil {
			return nil, err
		}
		snap.Meta = &m
	}
	for k, b := range s.records {
		r, err := record.Unmarshal(b)
		if err != nil {
			return nil, err
		}
		snap.Records[k] = r
	}
	for _, b := range s.outbox {
		p, err := client.UnmarshalPending(b)
		if err != nil {
			return nil, err
		}
		snap.Outbox = append(snap.Outbox, p)
	}
	sortOutbox(snap.Outbox)
	for q, b := range s.journal {
		if _, ok := s.outbox[q]; ok {
			continue // an outbox op, to be sent (see storetest's OutboxAndJournal)
		}
		j, err := client.UnmarshalJournal(b)
		if err != nil {
			return nil, err
		}
		snap.Journal = append(snap.Journal, j)
	}
	slices.SortFunc(snap.Journal, func(a, b client.JournalOp) int { return cmp.Compare(a.LocalSeq, b.LocalSeq) })
	for sp, c := range s.cursors {
		snap.Cursors[sp] = c
	}
	return snap, nil
}

func sortOutbox(o []client.PendingOp) {
	slices.SortFunc(o, func(a, b client.PendingOp) int { return cmp.Compare(a.LocalSeq, b.LocalSeq) })
}

// AddPending implements client.Store: the number is allocated under the
// store's lock, so engines sharing the store never reuse one.
func (s *Store) AddPending(ctx context.Context, p client.PendingOp) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	// Every number in the outbox is at most s.seq: only AddPending adds to
	// it, raising s.seq to the number it adds, and wipe empties both.
	p.LocalSeq = max(p.LocalSeq, s.seq+1)
	b, err := client.MarshalPending(p)
	if err != nil {
		return 0, err
	}
	s.outbox[p.LocalSeq] = b
	s.seq = p.LocalSeq
	return p.LocalSeq, nil
}

// ApplyChanges implements client.Store.
func (s *Store) ApplyChanges(ctx context.Context, space uuid.UUID, cursor uint64, records []*record.Record) error {
	enc := make([][]byte, len(records))
	for i, r := range records {
		b, err := record.Marshal(r)
		if err != nil {
			return err
		}
		enc[i] = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for i, r := range records {
		s.records[r.Key()] = enc[i]
	}
	s.cursors[space] = cursor
	return nil
}

// RemovePending implements client.Store.
func (s *Store) RemovePending(ctx context.Context, seqs []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, q := range seqs {
		delete(s.outbox, q)
	}
	return nil
}

// DropSpace implements client.Store, in one step.
func (s *Store) DropSpace(ctx context.Context, space uuid.UUID, seqs []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	delete(s.cursors, space)
	for _, q := range seqs {
		delete(s.outbox, q)
	}
	for k := range s.records {
		if k.Space == space {
			delete(s.records, k)
		}
	}
	return nil
}

// UpdatePending implements client.Store.
func (s *Store) UpdatePending(ctx context.Context, ops []client.PendingOp, meta *client.Meta) error {
	enc := make([][]byte, len(ops))
	for i, p := range ops {
		b, err := client.MarshalPending(p)
		if err != nil {
			return err
		}
		enc[i] = b
	}
	var mb []byte
	if meta != nil {
		b, err := client.MarshalMeta(*meta)
		if err != nil {
			return err
		}
		mb = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for i, p := range ops {
		if _, ok := s.outbox[p.LocalSeq]; ok {
			s.outbox[p.LocalSeq] = enc[i]
		}
	}
	if mb != nil {
		s.meta = mb
	}
	return nil
}

// AckPending implements client.Store.
func (s *Store) AckPending(ctx context.Context, acked []client.JournalOp, trim []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, j := range acked {
		pb, ok := s.outbox[j.LocalSeq]
		if !ok {
			continue // not ours any more (Reset since): journal nothing
		}
		delete(s.outbox, j.LocalSeq)
		s.journal[j.LocalSeq] = client.JournalBytes(j.Seq, pb)
	}
	for _, q := range trim {
		delete(s.journal, q)
	}
	return nil
}

// Rebase implements client.Store.
func (s *Store) Rebase(ctx context.Context, m client.Meta) error {
	mb, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	// A journal entry is the seq, then the op's outbox bytes
	// (client.JournalBytes): those go back. An op in the outbox already
	// keeps its outbox copy.
	for q, b := range s.journal {
		if len(b) < 8 {
			return fmt.Errorf("memstore: journal entry %d of %d bytes", q, len(b))
		}
	}
	for q, b := range s.journal {
		if _, ok := s.outbox[q]; !ok {
			s.outbox[q] = b[8:]
		}
	}
	s.journal = map[uint64][]byte{}
	s.records = map[record.Key][]byte{}
	s.cursors = map[uuid.UUID]uint64{}
	s.meta = mb
	return nil
}

// SaveMeta implements client.Store.
func (s *Store) SaveMeta(ctx context.Context, m client.Meta) error {
	b, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.meta = b
	return nil
}

// Reset implements client.Store.
func (s *Store) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.wipe()
	return nil
}

// Close implements client.Store. The contents stay for Reopen.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
