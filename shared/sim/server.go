package sim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// conn is one WebSocket connection: a FIFO each way. The client side's
// session state (client/sync.go session) lives here too, since it dies
// with the connection.
type conn struct {
	rep  *replica
	up   []protocol.Message // client to server, in order
	down []protocol.Message // server to client, in order
	dead bool

	// Server side.
	live bool      // welcomed and caught up: gets every commit as it happens
	node uuid.UUID // the device id its hello gave, stamped on its ops

	// Client side (client/sync.go session).
	welcomed  bool
	sentSeq   uint64 // highest LocalSeq pushed on this connection
	nextBatch uint64
	inflight  []batch
}

// batch is a push awaiting its ack.
type batch struct {
	id  uint64
	ops []pendingOp
}

// logEntry is one op that changed a record, in commit order.
type logEntry struct {
	seq uint64
	op  record.Op
}

// server models the hub and the store for one space: ops are merged in the
// order they arrive (server/store/merge.go), each changed record gets the
// next sequence number, and every live connection is sent the change at
// once, before the pusher's ack (server/hub fanOut, flushAcks).
type server struct {
	w     *world
	recs  map[uuid.UUID]*record.Record
	head  uint64
	log   []logEntry
	conns []*conn // connections the server believes open
	// fatal is set when the server's own merge fails in a way the real
	// store would report as an internal error.
	fatal error
	// devices binds each device id to the session (replica) that said
	// hello with it first; held counts an account's ids (bind).
	devices map[uuid.UUID]*replica
	held    map[uuid.UUID]int
	// index is the op index: (clock, device) of every applied op (admit).
	index map[record.Ref]indexed
}

func newServer(w *world) *server {
	return &server{w: w, recs: map[uuid.UUID]*record.Record{}, devices: map[uuid.UUID]*replica{},
		held: map[uuid.UUID]int{}, index: map[record.Ref]indexed{}}
}

func (s *server) send(c *conn, m protocol.Message) {
	if !c.dead {
		c.down = append(c.down, m)
	}
}

func (s *server) disconnect(c *conn) {
	s.conns = slices.DeleteFunc(s.conns, func(x *conn) bool { return x == c })
}

// receive handles one frame from c.
func (s *server) receive(c *conn, m protocol.Message) {
	switch m := m.(type) {
	case *protocol.Hello:
		s.hello(c, m)
	case *protocol.Push:
		s.push(c, m)
	default:
		s.fatal = fmt.Errorf("server got unexpected %s", m.Type())
	}
}

// hello welcomes a connection and catches it up from its cursor: every
// record changed since, whole, in pages (server/hub catchUp).
func (s *server) hello(c *conn, h *protocol.Hello) {
	if !s.w.cfg.Unguarded {
		if code := s.bind(c.rep, h.Client); code != "" {
			s.send(c, &protocol.Error{Code: code, Message: "refused at hello"})
			s.disconnect(c)
			return
		}
	}
	c.node = h.Client
	if !slices.Contains(s.conns, c) {
		s.conns = append(s.conns, c)
	}
	s.send(c, &protocol.Welcome{User: c.rep.author, Spaces: []protocol.SpaceInfo{{ID: s.w.space, Head: s.head}}, Heartbeat: 20_000})
	var cursor uint64
	for _, cu := range h.Cursors {
		if cu.Space == s.w.space {
			cursor = cu.Seq
		}
	}
	var items []item
	for _, id := range s.w.ids {
		if r := s.recs[id]; r != nil && r.Seq > cursor {
			items = append(items, item{seq: r.Seq, rec: r})
		}
	}
	s.page(c, cursor, s.head, items)
	c.live = true
}

// item is one entry of a Changes page.
type item struct {
	seq   uint64
	rec   *record.Record
	own   *protocol.Own
	patch *protocol.Patch
}

// page sends the change (from, to] as one or more Changes frames split at
// random sequence numbers, each range exact (server/hub encodePages).
func (s *server) page(c *conn, from, to uint64, items []item) {
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.seq, b.seq) })
	pg := &protocol.Changes{Space: s.w.space, From: from}
	for i, it := range items {
		switch {
		case it.own != nil:
			pg.Own = append(pg.Own, *it.own)
		case it.patch != nil:
			pg.Patches = append(pg.Patches, *it.patch)
		default:
			pg.Records = append(pg.Records, it.rec)
		}
		if i+1 < len(items) && s.w.rng.IntN(3) == 0 {
			pg.To, pg.More = it.seq, true
			s.send(c, pg)
			pg = &protocol.Changes{Space: s.w.space, From: it.seq}
		}
	}
	pg.To = to
	s.send(c, pg)
}

// push merges a push's ops in order as one group, tells every live
// connection, then acks (server/store/merge.go, server/hub).
func (s *server) push(c *conn, p *protocol.Push) {
	if !slices.Contains(s.conns, c) {
		s.send(c, &protocol.Error{Code: protocol.CodeBadRequest, Message: "push before hello"})
		return
	}
	from := s.head
	ack := &protocol.Ack{Batch: p.Batch, Results: make([]protocol.Result, len(p.Ops))}
	var changed []uuid.UUID            // records changed, first change first
	sole := map[uuid.UUID]*record.Op{} // the one op that changed a record; nil once two did
	for i := range p.Ops {
		op := p.Ops[i]
		op.Node, op.Author = c.node, c.rep.author // stamped from the session
		if err := op.Validate(); err != nil {
			s.fatal = fmt.Errorf("server refused a replica's op as invalid: %v", err)
			return
		}
		if op.Space != s.w.space || !slices.Contains(s.w.ids, op.ID) {
			s.fatal = fmt.Errorf("op for an unknown record %v", op.Key())
			return
		}
		cur := s.recs[op.ID]
		if !s.w.cfg.Unguarded {
			if res, handled := s.admit(cur, &op); handled {
				ack.Results[i] = res
				if res.Code != "" {
					s.w.ref.refused(op)
				}
				continue
			}
		}
		next, out, err := s.w.cfg.Merge(cur, &op)
		if errors.Is(err, record.ErrTooManyConflicts) {
			ack.Results[i] = protocol.Result{Code: protocol.CodeConflictLimit, Message: err.Error()}
			s.w.ref.refused(op)
			continue
		}
		if err != nil {
			s.fatal = fmt.Errorf("merge failed: %v", err)
			return
		}
		if !out.Changed {
			s.w.stats.Duplicates++
			ack.Results[i] = protocol.Result{Seq: cur.Seq}
			continue
		}
		s.head++
		next.Seq = s.head
		s.recs[op.ID] = next
		s.index[refOf(op)] = indexed{seq: s.head, digest: digest(&op)}
		s.log = append(s.log, logEntry{seq: s.head, op: op})
		s.w.stats.Applied++
		if out.Conflict {
			s.w.stats.Conflicts++
		}
		for _, wr := range op.Writes {
			for _, x := range wr.Resolves {
				if slices.ContainsFunc(next.Fields[wr.Name].Conflicts, func(c record.Version) bool { return c.Ref() == x }) {
					s.w.stats.Reraised++
				}
			}
		}
		ack.Results[i] = protocol.Result{Seq: s.head}
		if _, seen := sole[op.ID]; seen {
			sole[op.ID] = nil
		} else {
			changed = append(changed, op.ID)
			opc := op
			sole[op.ID] = &opc
		}
	}
	if s.head != from {
		for _, sub := range s.conns {
			if sub.live {
				s.page(sub, from, s.head, s.itemsFor(sub, c, changed, sole))
			}
		}
	}
	s.send(c, ack)
}

// itemsFor is a committed change as one connection is sent it: a record
// one op alone changed goes as a reference to the connection that sent it
// (protocol.Own) and as the op to every other (protocol.Patch), the same
// device's other connections included; a record several ops changed goes
// whole (server/hub encodeFor). Only the sending connection may derive
// the record from its own copy of the op: a device may have rewritten
// that copy since (a restamp points its refs at the restamped op) while an
// older connection still carried the op as it was.
func (s *server) itemsFor(sub, sender *conn, changed []uuid.UUID, sole map[uuid.UUID]*record.Op) []item {
	items := make([]item, 0, len(changed))
	for _, id := range changed {
		r := s.recs[id]
		op := sole[id]
		switch {
		case op == nil || (s.w.cfg.NoPatches && sub != sender):
			items = append(items, item{seq: r.Seq, rec: r})
		case sub == sender:
			items = append(items, item{seq: r.Seq, own: &protocol.Own{Collection: r.Collection, ID: r.ID, HLC: op.HLC, Seq: r.Seq}})
		default:
			items = append(items, item{seq: r.Seq, patch: &protocol.Patch{Seq: r.Seq, Op: *op}})
		}
	}
	return items
}
