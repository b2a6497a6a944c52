package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// group is the outcome of merging one group of Commit calls, not yet
// written.
type group struct {
	results   [][]server.OpResult // per request, per op
	writes    [][]kv              // per changed op: record, log, history, head
	committed []server.Committed  // per space touched, in first-touch order
	changed   int                 // ops that changed a record
}

// kv is one key to set. An op's writes are kept together so a transaction
// split never separates a record from its log entry and head.
type kv struct{ k, v []byte }

// spaceChange tracks one space's part of a group.
type spaceChange struct {
	c    server.Committed
	keys []string // records changed, first change first
	// sole maps each record changed to the one op that changed it, or nil
	// once two did; a key's presence says the record was changed already.
	sole map[string]*record.Op
}

// merge applies every op of the group, in order, against the stored records
// plus an overlay of records already changed earlier in the group. It
// assigns sequence numbers and returns what to write; nothing is written.
// Only the committer goroutine calls it.
func (s *Store) merge(reqs []*commitReq) (*group, error) {
	txn := s.db.NewTransaction(false)
	defer txn.Discard()

	g := &group{results: make([][]server.OpResult, len(reqs))}
	overlay := map[string]*record.Record{} // record key -> newest state; nil: absent
	opsSeen := map[string]indexed{}        // op index entries this group adds
	now := hlc.New(s.opts.Now().UnixMilli(), 0)
	var spaces []*spaceChange
	bySpace := map[uuid.UUID]*spaceChange{}

	for i, req := range reqs {
		res := make([]server.OpResult, len(req.ops))
		for j := range req.ops {
			op := &req.ops[j]
			if op.Collection == "" || strings.IndexByte(op.Collection, 0) >= 0 {
				res[j].Err = errBadKey
				continue
			}
			rk := string(recordKey(op.Key()))
			cur, ok := overlay[rk]
			if !ok {
				var err error
				cur, err = getRecord(txn, []byte(rk))
				if errors.Is(err, errUndecodable) {
					// Quarantined: this op waits in its author's outbox;
					// every other op of the group and space goes on.
					s.quarantined(op.Key(), err)
					res[j].Err = server.ErrUnreadable
					continue
				} else if err != nil && !errors.Is(err, server.ErrNotFound) {
					return nil, err
				}
				overlay[rk] = cur
			}
			ik := opKey(op.Space, op.Node, uint64(op.HLC))
			ob, digest, err := encodeOp(op)
			if err != nil {
				res[j].Err = err
				continue
			}
			ar, dup, err := s.admit(txn, opsSeen, cur, op, ik, digest, now)
			if err != nil {
				return nil, err
			}
			if dup || ar.Err != nil {
				res[j] = ar
				continue
			}
			next, out, err := record.Apply(cur, op)
			if err != nil {
				res[j].Err = err
				continue
			}
			if !out.Changed {
				res[j].Seq = cur.Seq
				continue
			}
			head, err := s.head(txn, op.Space)
			if err != nil {
				return nil, err
			}
			seq := head + 1
			next.Seq = seq
			w, err := opWrites(op, ob, next, seq, out.Conflict)
			if errors.Is(err, ErrRecordTooLarge) || errors.Is(err, wire.ErrShape) {
				res[j].Err = ErrRecordTooLarge
				continue
			} else if err != nil {
				return nil, err
			}
			cost := int64(len(w[1].v)) + quotaEntryOverhead // the log entry
			qw, err := s.charge(txn, op.Space, op.Author, cost)
			if errors.Is(err, server.ErrQuotaExceeded) {
				s.security.Event(secevent.QuotaExceeded, "user", op.Author, "space", op.Space, "err", err)
				res[j].Err = err
				continue
			} else if err != nil {
				return nil, err
			}
			w = append(w, qw...)
			entry := indexed{seq: seq, digest: digest}
			w = append(w, kv{ik, entry.encode()})
			opsSeen[string(ik)] = entry
			s.opHigh.raise(op.Space, op.Node, uint64(op.HLC))
			g.writes = append(g.writes, w)
			g.changed++
			s.heads[op.Space] = seq
			overlay[rk] = next
			res[j] = server.OpResult{Seq: seq, Changed: true, Conflict: out.Conflict}

			sc := bySpace[op.Space]
			if sc == nil {
				sc = &spaceChange{c: server.Committed{Space: op.Space, From: head}, sole: map[string]*record.Op{}}
				bySpace[op.Space] = sc
				spaces = append(spaces, sc)
			}
			sc.c.To = seq
			if _, seen := sc.sole[rk]; !seen {
				sc.keys = append(sc.keys, rk)
				sc.sole[rk] = op
			} else {
				sc.sole[rk] = nil
			}
			if out.Merged {
				// A replica of an earlier build would make a conflict of
				// this op (it ignores the base text): it gets the record.
				sc.sole[rk] = nil
			}
		}
		g.results[i] = res
	}

	for _, sc := range spaces {
		slices.SortFunc(sc.keys, func(a, b string) int { return cmp.Compare(overlay[a].Seq, overlay[b].Seq) })
		sc.c.Records = make([]*record.Record, len(sc.keys))
		sc.c.Sole = make([]*record.Op, len(sc.keys))
		for i, k := range sc.keys {
			sc.c.Records[i] = overlay[k]
			sc.c.Sole[i] = sc.sole[k]
		}
		g.committed = append(g.committed, sc.c)
	}
	return g, nil
}

// opWrites encodes one changed op's keys: the record, its log entry, its
// history index key and the space's new head. ob is the op's encoding
// (encodeOp).
func opWrites(op *record.Op, ob []byte, rec *record.Record, seq uint64, conflict bool) ([]kv, error) {
	rec.Format = record.FormatVersion // the copy fanned out says what is stored
	rb, err := record.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("store: encoding record %s/%s: %w", rec.Collection, rec.ID, err)
	}
	if len(rb) > MaxRecordBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrRecordTooLarge, len(rb), MaxRecordBytes)
	}
	lb, err := wire.Marshal(&logEntryOp{server.LogEntry{Format: record.FormatVersion, Seq: seq, Conflict: conflict}, ob})
	if err != nil {
		return nil, fmt.Errorf("store: encoding log entry %d: %w", seq, err)
	}
	key := op.Key()
	return []kv{
		{recordKey(key), rb},
		{logKey(op.Space, seq), lb},
		{historyKey(key, seq), []byte{}},
		{idKey(kindHead, op.Space), encodeSeq(seq)},
	}, nil
}

// logEntryOp encodes a log entry whose op is given encoded.
type logEntryOp struct {
	e  server.LogEntry // Op unset
	op []byte
}

func (l *logEntryOp) EncodeWire(w *wire.Writer) { l.e.EncodeWireOp(w, l.op) }

// head returns the space's head, from the cache or else from txn. Only the
// committer goroutine calls it.
func (s *Store) head(txn *badger.Txn, space uuid.UUID) (uint64, error) {
	if h, ok := s.heads[space]; ok {
		return h, nil
	}
	h, err := readHead(txn, space)
	if err != nil {
		return 0, err
	}
	s.heads[space] = h
	return h, nil
}

// write sets the group's keys in as few transactions as badger allows.
// When a transaction reports ErrTxnTooBig part-way through an op's keys, it
// is rebuilt without that op and committed, and the op starts the next one:
// every committed transaction holds whole ops and their heads, so the log
// stays dense whatever is lost with the rest. The group is synced after.
func (s *Store) write(writes [][]kv) error {
	for start := 0; start < len(writes); {
		txn := s.db.NewTransaction(true)
		end, err := setOps(txn, writes[start:])
		end += start
		switch {
		case err == nil:
		case errors.Is(err, badger.ErrTxnTooBig) && end > start:
			txn.Discard()
			txn = s.db.NewTransaction(true)
			if _, err := setOps(txn, writes[start:end]); err != nil {
				txn.Discard()
				return fmt.Errorf("store: rebuilding split transaction: %w", err)
			}
		default:
			txn.Discard()
			return fmt.Errorf("store: writing group: %w", err)
		}
		if err := txn.Commit(); err != nil {
			return fmt.Errorf("store: committing group: %w", err)
		}
		s.dirty = true
		start = end
	}
	return nil
}

// setOps sets whole ops into txn until one does not fit; it returns how many
// were set completely.
func setOps(txn *badger.Txn, writes [][]kv) (int, error) {
	for i, w := range writes {
		for _, e := range w {
			if err := txn.Set(e.k, e.v); err != nil {
				return i, err
			}
		}
	}
	return len(writes), nil
}
