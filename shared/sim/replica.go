package sim

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Client-side limits of the model: small, so that pushes split and the
// window fills often (client.DefaultPushWindow and MaxOpsPerPush are 8 and
// 500; the logic is the same).
const (
	pushWindow = 3
	pushOps    = 2
)

var (
	errGap      = errors.New("server skipped changes")
	errProtocol = errors.New("server broke the protocol")
)

// pendingOp is an outbox entry (client.PendingOp).
type pendingOp struct {
	seq uint64
	op  record.Op
}

// replica models one device's engine (client/engine.go, view.go, sync.go):
// the records as the server last sent them with the space's cursor, and
// the outbox of its own ops, all durable, so that a cut connection loses
// nothing of it. What the user sees is the view: the server's record with
// the pending ops laid on top.
type replica struct {
	w      *world
	idx    int
	node   uuid.UUID
	author uuid.UUID
	skew   int64 // this device's wall clock error, milliseconds
	clock  hlc.Timestamp

	server  map[uuid.UUID]*record.Record
	cursor  uint64
	outbox  []pendingOp
	nextSeq uint64

	conn        *conn
	online      bool
	partitioned bool
	resets      bool // its clock is sent back now and then (Config.Byzantine)
}

// now is hlc.Clock.Now on this device's skewed wall clock.
func (r *replica) now() hlc.Timestamp {
	wall := hlc.New(r.w.now+r.skew, 0)
	if wall > r.clock {
		r.clock = wall
	} else {
		r.clock++
	}
	return r.clock
}

// view is client.Engine.relayLocked: the server's record with every pending
// op on it laid on top, skipping one the merge refuses (the server will
// refuse it too).
func (r *replica) view(id uuid.UUID) *record.Record {
	cur := r.server[id]
	for i := range r.outbox {
		if r.outbox[i].op.ID != id {
			continue
		}
		if next, _, err := r.w.cfg.Merge(cur, &r.outbox[i].op); err == nil {
			cur = next
		}
	}
	return cur
}

// edit makes one random edit the way the engine's Put, Delete and Resolve
// build it: every write based on the field's version in the view.
func (r *replica) edit() bool {
	w := r.w
	id := w.ids[w.rng.IntN(len(w.ids))]
	cur := r.view(id)
	op := record.Op{Space: w.space, Collection: w.coll, ID: id, Node: r.node, Author: r.author}
	k := w.rng.IntN(20)
	if cur != nil && cur.Deleted() {
		// The app lists a deleted record only while it has conflicts, to
		// be resolved; otherwise someone edits it only from an old link.
		switch {
		case cur.HasConflicts() && w.rng.IntN(4) != 0:
			k = 2 // resolve
		case w.rng.IntN(8) != 0:
			return false
		}
	}
	switch {
	case cur != nil && k < 2 && !cur.Deleted(): // Delete
		op.Writes = []record.Write{{Name: record.DeletedField, Value: true, Base: baseOf(cur, record.DeletedField)}}
		op.Seen = seen(cur)
	case cur != nil && k < 8 && cur.HasConflicts(): // Resolve
		var names []string
		for _, name := range slices.Sorted(maps.Keys(cur.Fields)) {
			if len(cur.Fields[name].Conflicts) > 0 {
				names = append(names, name)
			}
		}
		name := names[w.rng.IntN(len(names))]
		f := cur.Fields[name]
		var value any
		if name == record.DeletedField {
			value = w.rng.IntN(2) == 0
		} else if w.rng.IntN(2) == 0 {
			value = f.Conflicts[w.rng.IntN(len(f.Conflicts))].Value // keep one side
		} else {
			value = r.value()
		}
		wr := record.Write{Name: name, Value: value, Base: baseOf(cur, name)}
		for _, c := range f.Conflicts {
			wr.Resolves = append(wr.Resolves, c.Ref())
		}
		op.Writes = []record.Write{wr}
		if name == record.DeletedField && value == true && !w.cfg.ResolveWithoutSeen {
			op.Seen = seen(cur)
		}
	default: // Put of one to three fields (a create when cur is nil)
		names := slices.Clone(w.fields)
		w.rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		names = names[:1+w.rng.IntN(len(names))]
		slices.Sort(names)
		for _, name := range names {
			op.Writes = append(op.Writes, record.Write{Name: name, Value: r.value(), Base: baseOf(cur, name)})
		}
	}
	op.HLC = r.now()
	if err := op.Validate(); err != nil {
		w.srv.fatal = fmt.Errorf("replica %d made an invalid op: %v", r.idx, err)
		return false
	}
	r.nextSeq++
	r.outbox = append(r.outbox, pendingOp{seq: r.nextSeq, op: op})
	w.ref.made(op)
	w.stats.Edits++
	if r.conn != nil && r.conn.welcomed {
		r.pump()
	}
	return true
}

// value is a new unique word: a lost one can be told from any other.
func (r *replica) value() string {
	r.w.serial++
	return fmt.Sprintf("r%d-%d", r.idx, r.w.serial)
}

// seen is what client.Engine.Delete names in Op.Seen: the version of every
// field in the view.
func seen(cur *record.Record) []record.Ref {
	var refs []record.Ref
	for _, name := range slices.Sorted(maps.Keys(cur.Fields)) {
		if name != record.DeletedField {
			refs = append(refs, cur.Fields[name].Ref())
		}
	}
	return refs
}

func baseOf(cur *record.Record, name string) *record.Ref {
	if cur == nil || cur.Fields[name] == nil {
		return nil
	}
	ref := cur.Fields[name].Ref()
	return &ref
}

// hello opens the session (client/sync.go session): cursor up, nothing
// pushed until the server welcomes.
func (r *replica) hello() {
	r.conn.up = append(r.conn.up, &protocol.Hello{
		Protocol: protocol.Version,
		Client:   r.node,
		Cursors:  []protocol.Cursor{{Space: r.w.space, Seq: r.cursor}},
	})
}

// receive handles one frame from the server (client/sync.go handle). An
// error ends the session, as it does in the engine.
func (r *replica) receive(m protocol.Message) error {
	c := r.conn
	if !c.welcomed {
		if e, ok := m.(*protocol.Error); ok && e.Code == protocol.CodeDeviceTaken {
			r.newDevice()
			return e
		}
		if _, ok := m.(*protocol.Welcome); !ok {
			return fmt.Errorf("%w: %s before welcome", errProtocol, m.Type())
		}
		c.welcomed = true
		r.pump()
		return nil
	}
	switch m := m.(type) {
	case *protocol.Changes:
		if err := r.changes(m); err != nil {
			r.w.stats.Gaps++
			return err
		}
		return nil
	case *protocol.Ack:
		return r.ack(m)
	case *protocol.Error:
		return m
	}
	return fmt.Errorf("%w: unexpected %s", errProtocol, m.Type())
}

// changes is client.Engine.changes: keep records not older than ours,
// derive the ones sent as our own ops or as patches, refuse a page that
// starts past our cursor, then move the cursor.
func (r *replica) changes(c *protocol.Changes) error {
	if c.Space != r.w.space {
		return fmt.Errorf("%w: changes of another space", errProtocol)
	}
	var keep []*record.Record
	for _, rec := range c.Records {
		if old := r.server[rec.ID]; old != nil && old.Seq > rec.Seq {
			continue
		}
		keep = append(keep, rec)
	}
	for _, o := range c.Own {
		rec, err := r.deriveOwn(o)
		if err != nil {
			return err
		}
		if rec != nil {
			keep = append(keep, rec)
		}
	}
	for i := range c.Patches {
		rec, err := r.derivePatch(&c.Patches[i])
		if err != nil {
			return err
		}
		if rec != nil {
			keep = append(keep, rec)
		}
	}
	if c.From > r.cursor {
		return fmt.Errorf("%w: have %d, page from %d", errGap, r.cursor, c.From)
	}
	for _, rec := range keep {
		r.clock = max(r.clock, maxHLC(rec))
		r.server[rec.ID] = rec
	}
	r.cursor = max(r.cursor, c.To)
	return nil
}

// deriveOwn is client.Engine.deriveOwnLocked: the server's record is our
// copy with our pending op applied.
func (r *replica) deriveOwn(o protocol.Own) (*record.Record, error) {
	base := r.server[o.ID]
	if base != nil && base.Seq >= o.Seq {
		return nil, nil
	}
	for i := range r.outbox {
		p := &r.outbox[i]
		if p.op.ID != o.ID || p.op.HLC != o.HLC {
			continue
		}
		rec, out, err := r.w.cfg.Merge(base, &p.op)
		if err != nil || !out.Changed {
			break
		}
		rec.Seq = o.Seq
		return rec, nil
	}
	return nil, fmt.Errorf("%w: credited with op %s on %s, which we cannot apply", errGap, o.HLC, o.ID)
}

// derivePatch applies an op the server committed to our copy, which is
// current up to the page's From (protocol.Changes.Patches).
func (r *replica) derivePatch(p *protocol.Patch) (*record.Record, error) {
	base := r.server[p.Op.ID]
	if base != nil && base.Seq >= p.Seq {
		return nil, nil
	}
	rec, out, err := r.w.cfg.Merge(base, &p.Op)
	if err != nil || !out.Changed {
		return nil, fmt.Errorf("%w: patch %s on %s does not apply", errGap, p.Op.HLC, p.Op.ID)
	}
	rec.Seq = p.Seq
	return rec, nil
}

func maxHLC(rec *record.Record) hlc.Timestamp {
	var t hlc.Timestamp
	for _, c := range rec.Clock {
		t = max(t, c.HLC)
	}
	return t
}

// pump is client.Engine.pump: push outbox ops not yet sent on this
// connection while the window has room.
func (r *replica) pump() {
	c := r.conn
	for len(c.inflight) < pushWindow {
		var ops []pendingOp
		for _, p := range r.outbox {
			if p.seq <= c.sentSeq {
				continue
			}
			if len(ops) >= pushOps {
				break
			}
			ops = append(ops, p)
		}
		if len(ops) == 0 {
			return
		}
		c.nextBatch++
		push := &protocol.Push{Batch: c.nextBatch, Ops: make([]record.Op, len(ops))}
		for i, p := range ops {
			push.Ops[i] = p.op
		}
		c.up = append(c.up, push)
		c.sentSeq = ops[len(ops)-1].seq
		c.inflight = append(c.inflight, batch{id: push.Batch, ops: ops})
	}
}

// ack is client.Engine.ack and settle: accepted and refused ops both leave
// the outbox; the accepted ones are, from now on, the server's to keep.
func (r *replica) ack(a *protocol.Ack) error {
	c := r.conn
	i := slices.IndexFunc(c.inflight, func(b batch) bool { return b.id == a.Batch })
	if i < 0 {
		return fmt.Errorf("%w: ack of unknown batch %d", errProtocol, a.Batch)
	}
	b := c.inflight[i]
	c.inflight = slices.Delete(c.inflight, i, i+1)
	if len(a.Results) != len(b.ops) {
		return fmt.Errorf("%w: ack of %d results for %d ops", errProtocol, len(a.Results), len(b.ops))
	}
	gone := map[uint64]bool{}
	for i, res := range a.Results {
		p := b.ops[i]
		switch {
		case res.Code == "" || r.w.cfg.AckRefused:
			gone[p.seq] = true
			r.w.ref.acked(p.op)
			r.w.stats.Acked++
		case res.Code == protocol.CodeClockAhead || res.Code == protocol.CodeClockReused:
			// Kept and sent again, restamped (once: a duplicate of this
			// push may bring the refusal again).
			r.w.stats.Refused++
			if first := r.restamp(p.seq, p.op.HLC, res.Code, res.Clock); first > 0 {
				c.sentSeq = min(c.sentSeq, first-1)
			}
		default:
			gone[p.seq] = true
			r.w.stats.Refused++
		}
	}
	r.outbox = slices.DeleteFunc(r.outbox, func(p pendingOp) bool { return gone[p.seq] })
	r.pump()
	return nil
}
