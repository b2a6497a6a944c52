package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// Store is a device's durable state: the records as the server last sent
// them with a cursor per space, the outbox of edits not yet acknowledged,
// and a little metadata. The engine keeps everything in memory and writes
// through, so a Store only needs to load all at once and take small atomic
// writes; that is the shape an IndexedDB transaction has.
//
// Every write is durable when it returns. Methods may be called from
// different goroutines, but the engine never issues two writes for the same
// thing at once.
type Store interface {
	// Load returns everything stored. On an empty store (first run, or
	// storage the browser evicted) Snapshot.Meta is nil.
	Load(ctx context.Context) (*Snapshot, error)
	// AddPending appends an op to the outbox and returns the LocalSeq it
	// stored it under. The Store allocates that number inside the same
	// atomic write: at least op.LocalSeq (the engine's hint), and greater
	// than every LocalSeq it holds or allocated since the last Reset.
	// Several engines may share one Store (browser tabs on one IndexedDB
	// database, see Engine.Reload), so the number must come from the
	// Store, not from a counter of one engine. When it returns the edit
	// survives a crash: this is when the UI may say "saved on this device".
	AddPending(ctx context.Context, op PendingOp) (uint64, error)
	// ApplyChanges stores records from the server and moves the space's
	// cursor to cursor, atomically: after a crash the stored records are
	// never older than the stored cursor says (records newer than it are
	// harmless; they are sent again and replace themselves).
	ApplyChanges(ctx context.Context, space uuid.UUID, cursor uint64, records []*record.Record) error
	// RemovePending drops ops from the outbox; unknown numbers are ignored.
	RemovePending(ctx context.Context, localSeqs []uint64) error
	// UpdatePending replaces outbox entries by their LocalSeq (restamped
	// with a new clock or device) and, when meta is not nil, the metadata,
	// in one atomic write where the store can: after a crash the device id
	// in Meta and the ops that name it agree. A store that must split a big
	// update (diskstore) writes the metadata last, with the last ops; a
	// crash in between leaves some ops restamped under the old metadata,
	// which the engine repairs by itself (the old id is refused again, a
	// clock still ahead is restamped again). An op whose LocalSeq is no
	// longer in the outbox is not added back.
	UpdatePending(ctx context.Context, ops []PendingOp, meta *Meta) error
	// AckPending moves acknowledged ops from the outbox into the journal
	// of acked ops (see Engine and MaxJournalOps) and drops the journal
	// entries trim names, in one atomic write. Numbers it does not hold
	// are ignored.
	AckPending(ctx context.Context, acked []JournalOp, trim []uint64) error
	// Rebase is for a server restored from a backup (a new incarnation):
	// it drops the server's state (records and cursors), moves every
	// journal entry back into the outbox under its LocalSeq, to be sent
	// again, and saves m (with the new incarnation). Moving the journal and
	// saving m are one atomic write; dropping the server's state may come
	// first, apart (a device's records may exceed one transaction): a
	// crash in between leaves the old incarnation in the metadata, and the
	// engine rebases again on the next Welcome.
	Rebase(ctx context.Context, m Meta) error
	// DropSpace erases a space this device may no longer read (the person
	// was removed from it, see Engine): its records and its cursor, and the
	// outbox entries localSeqs names (the engine has made them Rejections).
	// The cursor goes first; the outbox entries and the records may follow
	// apart (a space can exceed one transaction). A crash in between leaves
	// records or ops of a space without a cursor: the next Welcome drops
	// them again, or, if the space came back, reads it from scratch over
	// them. Never a cursor that claims records the store no longer holds.
	DropSpace(ctx context.Context, space uuid.UUID, localSeqs []uint64) error
	// SaveMeta replaces the metadata.
	SaveMeta(ctx context.Context, m Meta) error
	// Reset erases everything, for sign-out or a store found half wiped.
	Reset(ctx context.Context) error
	// Close releases the store. The engine does not call it: whoever opened
	// the store closes it, after the engine.
	Close() error
}

// Meta is what a device knows about itself.
type Meta struct {
	// Device identifies this copy of the data; the server stamps it on every
	// op as record.Op.Node. A store that lost its data gets a new one, so
	// its fresh clock can never collide with versions the old copy wrote.
	Device uuid.UUID `msgpack:"d"`
	// User is the account last welcomed on this device (uuid.Nil before the
	// first Welcome).
	User uuid.UUID `msgpack:"u"`
	// LastHLC is at or above every timestamp this device issued, so that a
	// restarted clock never reuses one. Ops in the outbox carry theirs too.
	LastHLC hlc.Timestamp `msgpack:"h"`
	// Spaces are the spaces of the last Welcome, so the app can list them
	// offline.
	Spaces []protocol.SpaceInfo `msgpack:"s,omitempty"`
	// Incarnation is the server database's id in the last Welcome
	// (protocol.Welcome.Incarnation); a different one means the server was
	// restored from a backup. Nil before the first Welcome that named one.
	Incarnation uuid.UUID `msgpack:"i,omitempty"`
	// Skew is the server's clock minus this device's, in milliseconds, as
	// last measured (Welcome.ServerTime, clock_ahead refusals): the HLC
	// reads the device's clock corrected by it, so a device whose clock is
	// years off still stamps edits the server takes, even offline.
	Skew int64 `msgpack:"k,omitempty"`
	// Replaced is the device id this one replaced when the server said
	// another session held it (device_taken), so that the app's other tabs
	// on the store (Engine.Reload) follow the change instead of taking the
	// new id for a wiped store.
	Replaced uuid.UUID `msgpack:"r,omitempty"`
}

// PendingOp is an edit in the outbox. LocalSeq orders the outbox; it is the
// order the edits were made and must be the order they reach the server.
type PendingOp struct {
	LocalSeq uint64    `msgpack:"q"`
	Op       record.Op `msgpack:"o"`
}

// JournalOp is an op the server acknowledged, kept after it left the
// outbox so that it can be sent again if the server is restored from a
// backup taken before it (see Store.Rebase). Seq is the space sequence
// number the server acked it at.
type JournalOp struct {
	LocalSeq uint64    `msgpack:"q"`
	Seq      uint64    `msgpack:"s"`
	Op       record.Op `msgpack:"o"`
}

// Snapshot is the whole of a Store.
type Snapshot struct {
	Meta    *Meta                         // nil when the store is empty
	Records map[record.Key]*record.Record // server state, by key
	Outbox  []PendingOp                   // in LocalSeq order
	Cursors map[uuid.UUID]uint64          // per space
	Journal []JournalOp                   // acked ops, in LocalSeq order
}

// storedFormat versions the encodings below. Decoders accept every version
// up to it; a store written by a newer app is refused, not misread.
const storedFormat = 1

type storedPending struct {
	Format uint8 `msgpack:"f"`
	PendingOp
}

type storedMeta struct {
	Format uint8 `msgpack:"f"`
	Meta
}

// EncodeWire writes {f, q, o}.
func (s *storedPending) EncodeWire(w *wire.Writer) {
	w.MapLen(3)
	w.String("f")
	w.Uint(uint64(s.Format))
	w.String("q")
	w.Uint(s.LocalSeq)
	w.String("o")
	s.Op.EncodeWire(w)
}

// DecodeWire reads what EncodeWire writes.
func (s *storedPending) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "f":
			s.Format, err = r.Uint8()
		case "q":
			s.LocalSeq, err = r.Uint()
		case "o":
			err = s.Op.DecodeWire(r)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {f, d, u, h, s?, i?, k?, r?}.
func (s *storedMeta) EncodeWire(w *wire.Writer) {
	n := 4
	if len(s.Spaces) > 0 {
		n++
	}
	if s.Incarnation != uuid.Nil {
		n++
	}
	if s.Skew != 0 {
		n++
	}
	if s.Replaced != uuid.Nil {
		n++
	}
	w.MapLen(n)
	w.String("f")
	w.Uint(uint64(s.Format))
	w.String("d")
	s.Device.EncodeWire(w)
	w.String("u")
	s.User.EncodeWire(w)
	w.String("h")
	s.LastHLC.EncodeWire(w)
	if len(s.Spaces) > 0 {
		w.String("s")
		wire.WriteArray(w, s.Spaces)
	}
	if s.Incarnation != uuid.Nil {
		w.String("i")
		s.Incarnation.EncodeWire(w)
	}
	if s.Skew != 0 {
		w.String("k")
		w.Int(s.Skew)
	}
	if s.Replaced != uuid.Nil {
		w.String("r")
		s.Replaced.EncodeWire(w)
	}
}

// DecodeWire reads what EncodeWire writes.
func (s *storedMeta) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "f":
			s.Format, err = r.Uint8()
		case "d":
			err = s.Device.DecodeWire(r)
		case "u":
			err = s.User.DecodeWire(r)
		case "h":
			err = s.LastHLC.DecodeWire(r)
		case "s":
			err = wire.ReadArray(r, &s.Spaces)
		case "i":
			err = s.Incarnation.DecodeWire(r)
		case "k":
			s.Skew, err = r.Int()
		case "r":
			err = s.Replaced.DecodeWire(r)
		default:
			err = r.Skip()
		}
		return err
	})
}

// ErrStoredFormat means stored bytes were written by a newer version of the
// app; the data is left alone.
var ErrStoredFormat = errors.New("client: stored data is from a newer app version")

// MarshalPending encodes an outbox entry for a Store that keeps bytes.
func MarshalPending(p PendingOp) ([]byte, error) {
	return wire.Marshal(&storedPending{Format: storedFormat, PendingOp: p})
}

// UnmarshalPending decodes MarshalPending's bytes, normalizing values as
// record.Op.Validate does so that a reloaded op equals the one saved.
func UnmarshalPending(b []byte) (PendingOp, error) {
	var s storedPending
	if err := wire.Unmarshal(b, &s); err != nil {
		return PendingOp{}, fmt.Errorf("client: pending op: %w", err)
	}
	if s.Format == 0 || s.Format > storedFormat {
		return PendingOp{}, ErrStoredFormat
	}
	if err := s.Op.Normalize(); err != nil {
		return PendingOp{}, fmt.Errorf("client: pending op: %w", err)
	}
	return s.PendingOp, nil
}

// A journal entry, as memstore and idbstore keep it, is the server's seq
// (8 bytes, big-endian) then the op's outbox bytes (MarshalPending) as
// they were: a store that holds those bytes moves an acked op with
// JournalBytes instead of encoding it again (an encode per acked op made
// w1, 10,000 records pushed, measurably slower). diskstore does not move
// them at all: it marks the outbox entry acked (see its package).

// JournalBytes is the journal entry of an op acked at seq whose outbox
// bytes are pending.
func JournalBytes(seq uint64, pending []byte) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(pending)), seq)
	return append(b, pending...)
}

// MarshalJournal encodes a journal entry for a Store that does not hold
// the op's outbox bytes at hand.
func MarshalJournal(j JournalOp) ([]byte, error) {
	pb, err := MarshalPending(PendingOp{LocalSeq: j.LocalSeq, Op: j.Op})
	if err != nil {
		return nil, err
	}
	return JournalBytes(j.Seq, pb), nil
}

// UnmarshalJournal decodes a journal entry, normalizing the op as
// UnmarshalPending does.
func UnmarshalJournal(b []byte) (JournalOp, error) {
	if len(b) < 8 {
		return JournalOp{}, fmt.Errorf("client: journal op of %d bytes", len(b))
	}
	p, err := UnmarshalPending(b[8:])
	if err != nil {
		return JournalOp{}, fmt.Errorf("client: journal op: %w", err)
	}
	return JournalOp{LocalSeq: p.LocalSeq, Seq: binary.BigEndian.Uint64(b), Op: p.Op}, nil
}

// MarshalMeta encodes Meta for a Store that keeps bytes.
func MarshalMeta(m Meta) ([]byte, error) {
	return wire.Marshal(&storedMeta{Format: storedFormat, Meta: m})
}

// UnmarshalMeta decodes MarshalMeta's bytes.
func UnmarshalMeta(b []byte) (Meta, error) {
	var s storedMeta
	if err := wire.Unmarshal(b, &s); err != nil {
		return Meta{}, fmt.Errorf("client: meta: %w", err)
	}
	if s.Format == 0 || s.Format > storedFormat {
		return Meta{}, ErrStoredFormat
	}
	return s.Meta, nil
}
