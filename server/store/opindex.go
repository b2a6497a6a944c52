package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// The op index answers one question for the committer: has the store
// already applied this very op? Each applied op leaves o|space|node|hlc ->
// seq|digest, where digest is a hash of the op's canonical encoding (with
// the server-stamped device and author). A retransmit after a lost ack has
// the same key and digest and is answered with its seq; an op that shares
// the key but not the digest (a copied browser profile, a reset clock, a
// device id someone else wrote under) is refused with ErrClockReused so the
// client restamps it, and is never called applied. The record's own clock
// stays a bounded hint for replicas (record.MaxRecordClock); this index is
// the authority and never forgets, so compacting that clock costs nothing.

// opDigestLen is how much of the SHA-256 of an op the index keeps: 128 bits
// makes a collision between two ops of one device at one clock impossible
// in practice, and keeps the index entry at 24 bytes.
const opDigestLen = 16

type opDigest [opDigestLen]byte

// encodeOp returns op's canonical encoding and its digest: the wire writer
// sorts map keys and picks the smallest integer form, so equal ops hash
// alike however they were decoded. The bytes are written into the op's log
// entry too (opWrites), so each op is encoded once per commit.
func encodeOp(op *record.Op) ([]byte, opDigest, error) {
	b, err := wire.Marshal(op)
	if err != nil {
		return nil, opDigest{}, fmt.Errorf("store: encoding op for its digest: %w", err)
	}
	sum := sha256.Sum256(b)
	var d opDigest
	copy(d[:], sum[:opDigestLen])
	return b, d, nil
}

// indexed is one op index entry.
type indexed struct {
	seq    uint64
	digest opDigest
}

func (e indexed) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, seqLen+opDigestLen), e.seq)
	return append(b, e.digest[:]...)
}

// maxOpHighs bounds the committer's cache of each device's highest indexed
// clock (opHighs): past it the cache starts over, costing one index seek
// per device. Devices are bound to sessions (64 per person), so a busy
// server has far fewer writing devices than this.
const maxOpHighs = 1 << 16

// opHighs caches, per (space, device), the highest clock the op index holds
// for that device, or 0 when it holds none. A device's clock only grows, so
// an op above it is new to the index without a read: the honest path (a
// device pushing its next ops) never reads the index. The cache is never
// below the index: it is read from it, and raised with every entry the
// committer writes (the only writer) before that entry is written. Owned by
// the committer.
type opHighs map[opDevice]uint64

type opDevice struct{ space, node uuid.UUID }

// highest returns the device's highest indexed clock, from the cache or
// else from the index in txn.
func (h opHighs) highest(txn *badger.Txn, space, node uuid.UUID) (uint64, error) {
	d := opDevice{space, node}
	if v, ok := h[d]; ok {
		return v, nil
	}
	prefix := opKey(space, node, 0)[:1+2*idLen]
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	it.Seek(opKey(space, node, ^uint64(0)))
	var v uint64
	if it.Valid() {
		k := it.Item().Key()
		if len(k) != len(prefix)+seqLen {
			return 0, fmt.Errorf("store: op index key of %d bytes", len(k))
		}
		v = binary.BigEndian.Uint64(k[len(prefix):])
	}
	if len(h) >= maxOpHighs {
		clear(h)
	}
	h[d] = v
	return v, nil
}

// raise records that the index holds the device's op at ts.
func (h opHighs) raise(space, node uuid.UUID, ts uint64) {
	d := opDevice{space, node}
	if v, ok := h[d]; ok && ts > v {
		h[d] = ts
	}
}

// lookupOp reads op's entry from the group's overlay, then, unless op's
// clock is above every one the index holds for its device, from txn.
func (s *Store) lookupOp(txn *badger.Txn, overlay map[string]indexed, op *record.Op, key []byte) (indexed, bool, error) {
	if e, ok := overlay[string(key)]; ok {
		return e, true, nil
	}
	high, err := s.opHigh.highest(txn, op.Space, op.Node)
	if err != nil {
		return indexed{}, false, err
	}
	if uint64(op.HLC) > high {
		return indexed{}, false, nil
	}
	b, err := getRaw(txn, key)
	if errors.Is(err, server.ErrNotFound) {
		return indexed{}, false, nil
	} else if err != nil {
		return indexed{}, false, err
	}
	if len(b) != seqLen+opDigestLen {
		return indexed{}, false, fmt.Errorf("store: op index entry of %d bytes", len(b))
	}
	var e indexed
	e.seq = binary.BigEndian.Uint64(b)
	copy(e.digest[:], b[seqLen:])
	return e, true, nil
}

// admit decides, before merging, whether op is new, a retransmit of an op
// already applied (dup true, res.Seq set), or refused (res.Err set). now is
// the server's clock.
func (s *Store) admit(txn *badger.Txn, overlay map[string]indexed, cur *record.Record, op *record.Op, key []byte, d opDigest, now hlc.Timestamp) (res server.OpResult, dup bool, err error) {
	limit := hlc.New(now.Time().Add(hlc.MaxDrift).UnixMilli(), 0)
	if op.HLC > limit {
		return server.OpResult{Err: server.ErrClockAhead, Clock: now}, false, nil
	}
	e, ok, err := s.lookupOp(txn, overlay, op, key)
	if err != nil {
		return server.OpResult{}, false, err
	}
	if ok {
		if e.digest == d {
			return server.OpResult{Seq: e.seq}, true, nil
		}
		return server.OpResult{Err: server.ErrClockReused, Clock: max(cur.DeviceClock(op.Node), op.HLC)}, false, nil
	}
	dc := cur.DeviceClock(op.Node)
	if cur == nil || op.HLC > dc {
		return server.OpResult{}, false, nil
	}
	// Not in the index yet at or below the device's clock on this record.
	// Ops applied before the index existed are recognised by their
	// versions still standing in the record: all of the op's writes carry
	// its (clock, device).
	if holdsOp(cur, op) {
		return server.OpResult{Seq: cur.Seq}, true, nil
	}
	return server.OpResult{Err: server.ErrClockReused, Clock: dc}, false, nil
}

// holdsOp reports whether every field op writes still shows op's version,
// visible or kept as a conflict, with op's value.
func holdsOp(rec *record.Record, op *record.Op) bool {
	ref := record.Ref{HLC: op.HLC, Node: op.Node}
	for _, w := range op.Writes {
		f := rec.Fields[w.Name]
		if f == nil {
			return false
		}
		same := func(v record.Version) bool { return v.Ref() == ref && valuesEqual(v.Value, w.Value) }
		if !same(f.Version) && !slices.ContainsFunc(f.Conflicts, same) {
			return false
		}
	}
	return len(op.Writes) > 0
}

func valuesEqual(a, b any) bool {
	ab, err1 := wire.MarshalValue(a)
	bb, err2 := wire.MarshalValue(b)
	return err1 == nil && err2 == nil && string(ab) == string(bb)
}

// quarantined reports a stored record (or log entry) that does not decode.
// It is a security event: the likely cause is a hostile op that slipped a
// limit, or disk corruption; either way an operator must look.
func (s *Store) quarantined(key record.Key, err error) {
	s.metrics.quarantined()
	s.security.Event(secevent.QuarantinedRecord, "space", key.Space, "collection", key.Collection, "id", key.ID, "err", err)
}
