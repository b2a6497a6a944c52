// Package record holds what a plan is made of, records of fields with their
// versions, and the merge rules that combine edits made offline by different
// people without losing a word.
//
// The server is the serialization point: it applies ops in the order they
// reach it and every replica adopts the server's records, laying its own
// pending ops on top (see Apply). Because a client's outbox is first-in
// first-out and a client only bases a write on a version it has seen (its own
// earlier write, or one the server sent it), the server always receives an op
// after every op it depends on. The merge rules lean on that and stay simple:
// no vector clocks. The server's op index (server/store) is the one authority
// on whether an op was already applied; a record's Clock is only a bounded
// hint replicas use to skip their own acked ops (see MaxRecordClock).
package record

import (
	"bytes"
	"slices"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
)

// FormatVersion is the encoding format of a Record and an Op. Every encoded
// record carries it; decoders accept every version up to it and refuse newer
// ones with a clear error.
const FormatVersion = 1

// DeletedField is the reserved field whose value true marks a record deleted.
// A delete is a field write like any other, so it merges like one: it never
// erases the fields, and an edit made concurrently with it is surfaced as a
// conflict on this field (see Apply).
const DeletedField = "_deleted"

// Ref names one written version: the clock of the write and the device that
// made it. The pair is unique because each device's clock is strictly
// increasing.
type Ref struct {
	HLC  hlc.Timestamp `msgpack:"h"`
	Node uuid.UUID     `msgpack:"n"`
}

// Less orders refs by clock, then device, so every replica picks the same
// winner for concurrent writes.
func (r Ref) Less(o Ref) bool {
	if r.HLC != o.HLC {
		return r.HLC < o.HLC
	}
	return bytes.Compare(r.Node[:], o.Node[:]) < 0
}

// Version is one value someone wrote, with who and when.
type Version struct {
	Value  any           `msgpack:"v"`
	HLC    hlc.Timestamp `msgpack:"h"`
	Node   uuid.UUID     `msgpack:"n"`
	Author uuid.UUID     `msgpack:"a"`
}

// Ref is the version's identity.
func (v Version) Ref() Ref { return Ref{HLC: v.HLC, Node: v.Node} }

// Field is the visible version of a field and the versions it collided with.
// Conflicts holds every concurrent value nobody has yet chosen between; it
// empties only through a write that saw those values (Write.Resolves).
type Field struct {
	Version
	Conflicts []Version `msgpack:"c,omitempty"`
}

// NodeClock is the newest clock of one device's writes applied to a record.
type NodeClock struct {
	Node uuid.UUID     `msgpack:"n"`
	HLC  hlc.Timestamp `msgpack:"h"`
}

// Record is one item of a space: a goal, a note, a service in the directory.
//
// Invariants: Clock holds, per device, the newest op clock applied to this
// record, and only grows; Seq is the space sequence number of the record's
// latest change and only grows. An op whose clock is at or below its device's
// entry in Clock was already applied, so applying it again changes nothing.
type Record struct {
	Format     uint8             `msgpack:"f"`
	Space      uuid.UUID         `msgpack:"s"`
	Collection string            `msgpack:"c"`
	ID         uuid.UUID         `msgpack:"i"`
	Seq        uint64            `msgpack:"q,omitempty"`
	Fields     map[string]*Field `msgpack:"d"`
	Clock      []NodeClock       `msgpack:"k,omitempty"`
}

// Key identifies a record within the whole system.
type Key struct {
	Space      uuid.UUID
	Collection string
	ID         uuid.UUID
}

// Key returns the record's identity.
func (r *Record) Key() Key { return Key{r.Space, r.Collection, r.ID} }

// Deleted reports whether the record's visible state is deleted.
func (r *Record) Deleted() bool {
	f := r.Fields[DeletedField]
	if f == nil {
		return false
	}
	b, _ := f.Value.(bool)
	return b
}

// HasConflicts reports whether any field holds unresolved concurrent values.
func (r *Record) HasConflicts() bool {
	for _, f := range r.Fields {
		if len(f.Conflicts) > 0 {
			return true
		}
	}
	return false
}

// Value returns the visible value of a field, nil when absent.
func (r *Record) Value(name string) any {
	if f := r.Fields[name]; f != nil {
		return f.Value
	}
	return nil
}

// Clone returns a copy that can be merged into without touching r. Values
// are shared: they are immutable once decoded.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Fields = make(map[string]*Field, len(r.Fields))
	for k, f := range r.Fields {
		nf := *f
		nf.Conflicts = slices.Clone(f.Conflicts)
		c.Fields[k] = &nf
	}
	c.Clock = slices.Clone(r.Clock)
	return &c
}

// MaxRecordClock bounds the device entries a record's Clock keeps. The
// clock only lets a replica skip an op it already holds while laying its own
// pending ops on top of the server's record; the server's authority on
// "already applied" is its op index (server/store), which never forgets. So
// dropping the entry of the device that wrote longest ago keeps merge correct
// everywhere that matters: that device's pending ops, if it still has any,
// are newer than its entry was, so they are not skipped wrongly, and the
// server answers a true retransmit from its index. 256 is far above the
// devices that really edit one goal (a family, a teacher, a few staff) and
// far below wire.MaxArrayLen, so no number of device ids can make a record
// its own decoder refuses (issue 11's 10,000-device attack).
const MaxRecordClock = 256

// DeviceClock returns the newest clock of device n applied to the record,
// 0 when the record holds none (never written by n, or its entry was
// compacted away past MaxRecordClock).
func (r *Record) DeviceClock(n uuid.UUID) hlc.Timestamp {
	if r == nil {
		return 0
	}
	return r.nodeClock(n)
}

func (r *Record) nodeClock(n uuid.UUID) hlc.Timestamp {
	for _, c := range r.Clock {
		if c.Node == n {
			return c.HLC
		}
	}
	return 0
}

// setNodeClock records t for device n, dropping the oldest entries past
// MaxRecordClock. The oldest is the lowest clock, ties broken by device id,
// so every replica compacts the same record to the same clock.
func (r *Record) setNodeClock(n uuid.UUID, t hlc.Timestamp) {
	for i := range r.Clock {
		if r.Clock[i].Node == n {
			r.Clock[i].HLC = t
			return
		}
	}
	r.Clock = append(r.Clock, NodeClock{Node: n, HLC: t})
	for len(r.Clock) > MaxRecordClock {
		oldest := 0
		for i, c := range r.Clock {
			o := r.Clock[oldest]
			if c.HLC < o.HLC || (c.HLC == o.HLC && bytes.Compare(c.Node[:], o.Node[:]) < 0) {
				oldest = i
			}
		}
		r.Clock = slices.Delete(r.Clock, oldest, oldest+1)
	}
}

// Write sets one field. Base is the version the author saw when they made
// the edit (nil when the field was empty to them). Resolves lists the
// conflicting versions the author saw and chose between; they are cleared.
//
// BaseText, set only on a text written over a text Base, is the base's
// text: with it, an edit made concurrently with another edit of the same
// text merges word by word instead of becoming a conflict (see Apply), on
// every replica alike, since the op carries all the merge needs. It costs
// little on the wire (a push is deflated, and the base repeats most of
// Value); the server's log keeps it with the op. Ops of earlier builds
// carry none and merge as they always did; decoders of earlier builds skip
// it.
type Write struct {
	Name     string `msgpack:"n"`
	Value    any    `msgpack:"v"`
	Base     *Ref   `msgpack:"b,omitempty"`
	Resolves []Ref  `msgpack:"r,omitempty"`
	BaseText string `msgpack:"t,omitempty"`
}

// Op is one person's edit of one record: some fields written at one clock.
// Node and Author are stamped by the server from the connection and session,
// never taken from the client, so a client cannot write in someone's name.
type Op struct {
	Space      uuid.UUID     `msgpack:"s"`
	Collection string        `msgpack:"c"`
	ID         uuid.UUID     `msgpack:"i"`
	HLC        hlc.Timestamp `msgpack:"h"`
	Node       uuid.UUID     `msgpack:"n,omitempty"`
	Author     uuid.UUID     `msgpack:"a,omitempty"`
	Writes     []Write       `msgpack:"w"`
	// Seen lists the versions of the record's fields the author saw, sent
	// only with a delete, so that an edit the deleter never saw is surfaced
	// as a conflict instead of disappearing under the tombstone.
	Seen []Ref `msgpack:"e,omitempty"`
}

// Key returns the identity of the record the op edits.
func (o *Op) Key() Key { return Key{o.Space, o.Collection, o.ID} }

// IsDelete reports whether the op marks its record deleted.
func (o *Op) IsDelete() bool {
	for _, w := range o.Writes {
		if w.Name == DeletedField {
			b, _ := w.Value.(bool)
			return b
		}
	}
	return false
}
