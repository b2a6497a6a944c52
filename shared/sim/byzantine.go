package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// Sizes of Config.Byzantine runs.
const (
	// deviceLimit is the device ids one account may hold, as the hub's
	// DefaultMaxDevicesPerUser (server/hub/limits.go; shared code cannot
	// import it).
	deviceLimit = 64
	// swarmAccounts × deviceLimit devices can write the first record:
	// 320, past record.MaxRecordClock, so its clock is compacted in every
	// Byzantine run.
	swarmAccounts = 5
	// swarmTotal is how many throwaway devices a run makes in all
	// (topped up before the heal): 16 per account past deviceLimit, so
	// every account meets device_limit.
	swarmTotal = swarmAccounts * (deviceLimit + 16)
	// swarmBurst is how many come at once in one swarm event mid-run.
	swarmBurst = 40
	// farFuture is issue 11's clock: 200 years ahead.
	farFuture = int64(200 * 365 * 24 * time.Hour / time.Millisecond)
	// farPast is a device whose clock was never set (a dead battery):
	// thirty years behind.
	farPast = int64(30 * 365 * 24 * time.Hour / time.Millisecond)
)

// addByzantine adds Config.Byzantine's devices after the honest ones.
func (w *world) addByzantine() {
	honest := len(w.reps)
	add := func() *replica {
		r := &replica{w: w, idx: len(w.reps), node: w.uuid(4), author: w.uuid(4),
			skew: int64(w.rng.IntN(200)) - 100, server: map[uuid.UUID]*record.Record{}, online: true}
		w.reps = append(w.reps, r)
		return r
	}
	// A spoof of another replica's device id, half the time under the
	// same account (a copied browser profile). Whichever says hello first
	// keeps the id; the other is refused with device_taken.
	victim := w.reps[w.rng.IntN(honest)]
	spoof := add()
	spoof.node = victim.node
	if w.rng.IntN(2) == 0 {
		spoof.author = victim.author
	}
	// 200 years ahead: the spoof itself half the time, as in the issue.
	ahead := spoof
	if w.rng.IntN(2) == 0 {
		ahead = add()
	}
	ahead.skew = farFuture
	// Decades behind, and reset there again now and then (resetClock).
	behind := add()
	behind.skew = -farPast
	behind.resets = true
	for range swarmAccounts {
		w.attackers = append(w.attackers, w.uuid(4))
	}
}

// resetClock sends a replica's clock back decades while its outbox is
// empty: its wall clock is wrong again and the newest clock it had used is
// forgotten. (With ops pending it would not: the engine seeds its clock
// from the outbox at load, so it never stamps at or below a pending op,
// whose refs a restamp remaps.) Its next ops are stamped below what
// records already hold of this device, and are refused with clock_reused.
func (w *world) resetClock() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.resets && len(r.outbox) == 0 })
	if r == nil {
		return false
	}
	r.clock = 0
	r.skew = -farPast
	return true
}

// swarm is issue 11's first attack: throwaway devices of the attacker
// accounts, each signing in with a fresh id and writing one field of the
// first record, based on what its catch-up carried.
func (w *world) swarm() bool {
	for range swarmBurst {
		w.ghost()
	}
	return true
}

func (w *world) ghost() {
	i := w.ghosts
	w.ghosts++
	g := &replica{w: w, idx: -1 - i, node: w.uuid(7), author: w.attackers[i%len(w.attackers)], server: map[uuid.UUID]*record.Record{}, online: true}
	c := &conn{rep: g}
	defer func() {
		c.dead = true
		w.srv.disconnect(c)
	}()
	w.srv.receive(c, w.transmit(&protocol.Hello{Protocol: protocol.Version, Client: g.node}))
	if len(c.down) == 0 {
		return
	}
	if _, ok := c.down[0].(*protocol.Welcome); !ok {
		return // refused at hello
	}
	id := w.ids[0]
	cur := w.srv.recs[id]
	name := w.fields[i%len(w.fields)]
	w.serial++
	op := record.Op{Space: w.space, Collection: w.coll, ID: id, Node: g.node, Author: g.author, HLC: hlc.New(w.now, 0),
		Writes: []record.Write{{Name: name, Value: fmt.Sprintf("g%d-%d", i, w.serial), Base: baseOf(cur, name)}}}
	w.ref.made(op)
	w.stats.Ghosts++
	c.down = nil
	w.srv.receive(c, w.transmit(&protocol.Push{Batch: 1, Ops: []record.Op{op}}))
	for _, m := range c.down {
		if a, ok := m.(*protocol.Ack); ok && len(a.Results) == 1 && a.Results[0].Code == "" {
			w.ref.acked(op)
		}
	}
}

// bind is the store's device binding (server/store BindDevice): the first
// hello with an id binds it to that session (a replica is one session);
// another session is refused, and so is an account past deviceLimit.
func (s *server) bind(r *replica, device uuid.UUID) protocol.Code {
	if holder, ok := s.devices[device]; ok {
		if holder != r {
			s.w.stats.DeviceTaken++
			return protocol.CodeDeviceTaken
		}
		return ""
	}
	if s.held[r.author] >= deviceLimit {
		s.w.stats.DeviceLimit++
		return protocol.CodeDeviceLimit
	}
	s.devices[device] = r
	s.held[r.author]++
	return ""
}

// indexed is an op index entry (server/store opindex.go).
type indexed struct {
	seq    uint64
	digest string
}

// admit is the store's admission of an op before the merge (server/store
// opindex.go admit): refused past the drift, answered from the op index
// when the same op was applied, refused when another op holds its
// (device, clock) or the record has newer of that device. handled is
// false for an op to merge.
func (s *server) admit(cur *record.Record, op *record.Op) (res protocol.Result, handled bool) {
	now := hlc.New(s.w.now, 0)
	if op.HLC > hlc.New(s.w.now+hlc.MaxDrift.Milliseconds(), 0) {
		s.w.stats.ClockAhead++
		return protocol.Result{Code: protocol.CodeClockAhead, Message: "clock ahead", Clock: now}, true
	}
	if e, ok := s.index[refOf(*op)]; ok {
		if e.digest == digest(op) {
			s.w.stats.Duplicates++
			return protocol.Result{Seq: e.seq}, true
		}
		s.w.stats.ClockReused++
		return protocol.Result{Code: protocol.CodeClockReused, Message: "clock reused", Clock: max(cur.DeviceClock(op.Node), op.HLC)}, true
	}
	if dc := cur.DeviceClock(op.Node); cur != nil && op.HLC <= dc {
		s.w.stats.ClockReused++
		return protocol.Result{Code: protocol.CodeClockReused, Message: "clock reused", Clock: dc}, true
	}
	return protocol.Result{}, false
}

// digest is what the op index keeps of an op: its canonical encoding.
func digest(op *record.Op) string {
	b, err := wire.Marshal(op)
	if err != nil {
		panic(err) // a validated op always encodes
	}
	return string(b)
}

// newDevice is the engine's answer to device_taken (PROTOCOL.md,
// client/recover.go newDevice): a new id stamped on every op not yet
// acked, their clocks kept (under a new id they cannot collide), and refs
// to them pointed at the new id.
func (r *replica) newDevice() {
	r.node = r.w.uuid(7)
	r.rewrite(func(*pendingOp) bool { return true }, func(op *record.Op) { op.Node = r.node })
}

// restamp is the engine's answer to clock_ahead and clock_reused for the
// op of outbox seq sent at clock sent (client/recover.go restampAhead,
// restampReused): the op is kept and stamped above h, the clock the
// refusal names. After clock_ahead the device also takes the server's
// time as its own (the offset from h), starts its clock again at h (or
// the newest clock it holds within the drift), and restamps every op
// above the drift limit, which the server would refuse too. It returns
// the lowest outbox seq restamped, 0 for none.
func (r *replica) restamp(seq uint64, sent hlc.Timestamp, code protocol.Code, h hlc.Timestamp) uint64 {
	refused := func(p *pendingOp) bool { return p.seq == seq && p.op.HLC == sent }
	pick := refused
	if code == protocol.CodeClockAhead {
		limit := hlc.New(h.Millis()+hlc.MaxDrift.Milliseconds(), 0)
		r.skew = h.Millis() - r.w.now
		last := h
		for _, rec := range r.server {
			if t := maxHLC(rec); t <= limit {
				last = max(last, t)
			}
		}
		for _, p := range r.outbox {
			if p.op.HLC <= limit {
				last = max(last, p.op.HLC)
			}
		}
		r.clock = last
		pick = func(p *pendingOp) bool { return refused(p) || p.op.HLC > limit }
	} else if slices.ContainsFunc(r.outbox, func(p pendingOp) bool { return refused(&p) }) {
		r.clock = max(r.clock, h)
	}
	return r.rewrite(pick, func(op *record.Op) { op.HLC = r.now() })
}

// rewrite changes the outbox ops pick selects, in outbox order, with
// stamp, and points every ref of any outbox op at a changed op's old
// version to its new one, so that a later op still replaces it rather
// than conflicting with it (client/recover.go rewriteOutbox). Ops are
// copied before they change: pushes in flight share their slices. It
// returns the lowest seq changed, 0 for none.
func (r *replica) rewrite(pick func(*pendingOp) bool, stamp func(*record.Op)) uint64 {
	remap := map[record.Ref]record.Ref{}
	var first uint64
	for j := range r.outbox {
		p := &r.outbox[j]
		if !pick(p) {
			continue
		}
		old := refOf(p.op)
		p.op = cloneOp(p.op)
		stamp(&p.op)
		remap[old] = refOf(p.op)
		r.w.ref.made(p.op)
		r.w.stats.Restamped++
		if first == 0 {
			first = p.seq
		}
	}
	if len(remap) == 0 {
		return 0
	}
	for j := range r.outbox {
		op := &r.outbox[j].op
		if !refsAny(op, remap) {
			continue
		}
		*op = cloneOp(*op)
		re := func(x *record.Ref) {
			if n, ok := remap[*x]; ok {
				*x = n
			}
		}
		for i := range op.Writes {
			if op.Writes[i].Base != nil {
				re(op.Writes[i].Base)
			}
			for k := range op.Writes[i].Resolves {
				re(&op.Writes[i].Resolves[k])
			}
		}
		for k := range op.Seen {
			re(&op.Seen[k])
		}
	}
	return first
}

func refsAny(op *record.Op, remap map[record.Ref]record.Ref) bool {
	for _, w := range op.Writes {
		if w.Base != nil {
			if _, ok := remap[*w.Base]; ok {
				return true
			}
		}
		for _, x := range w.Resolves {
			if _, ok := remap[x]; ok {
				return true
			}
		}
	}
	for _, x := range op.Seen {
		if _, ok := remap[x]; ok {
			return true
		}
	}
	return false
}

// cloneOp copies an op deep enough that its clocks and refs can change
// without touching a push that shares its slices.
func cloneOp(op record.Op) record.Op {
	ws := make([]record.Write, len(op.Writes))
	for i, w := range op.Writes {
		if w.Base != nil {
			b := *w.Base
			w.Base = &b
		}
		w.Resolves = slices.Clone(w.Resolves)
		ws[i] = w
	}
	op.Writes = ws
	op.Seen = slices.Clone(op.Seen)
	return op
}
