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

// resetClock sends a replica's clock back decades (a device whose clock
// state was lost): its next ops reuse clocks it already wrote under.
func (w *world) resetClock() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.resets })
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

// newDevice is the engine's answer to device_taken (PROTOCOL.md): a new
// id, and what it has not had acked restamped under it.
func (r *replica) newDevice() {
	r.node = r.w.uuid(7)
	for j := range r.outbox {
		old := refOf(r.outbox[j].op)
		r.outbox[j].op.Node = r.node
		r.outbox[j].op.HLC = r.now()
		r.rebase(j, old)
		r.w.ref.made(r.outbox[j].op)
	}
}

// restamp is the engine's answer to clock_ahead and clock_reused
// (PROTOCOL.md): the op is kept and stamped above h, the clock the
// refusal names. After clock_ahead the device also takes the server's
// time as its own (its offset from h), or every next op would be refused
// too.
func (r *replica) restamp(j int, code protocol.Code, h hlc.Timestamp) {
	if code == protocol.CodeClockAhead {
		r.skew = h.Millis() - r.w.now
		r.clock = h
	}
	r.clock = max(r.clock, h)
	// Later ops that named its old version are not rebased: they may be
	// in flight and applied already, and a resend must be the same op. At
	// the server they merge as concurrent with it, keeping both words.
	r.outbox[j].op.HLC = r.now()
	r.w.ref.made(r.outbox[j].op)
	r.w.stats.Restamped++
}

// rebase points the outbox ops after j that named op j's old version (as
// a base, a resolved conflict or a version a delete saw) at its new one;
// only for ops never sent. Writes are copied: pushes share them.
func (r *replica) rebase(j int, old record.Ref) {
	now := refOf(r.outbox[j].op)
	swap := func(x record.Ref) record.Ref {
		if x == old {
			return now
		}
		return x
	}
	for k := j + 1; k < len(r.outbox); k++ {
		op := &r.outbox[k].op
		op.Writes = slices.Clone(op.Writes)
		for i := range op.Writes {
			wr := &op.Writes[i]
			if wr.Base != nil {
				b := swap(*wr.Base)
				wr.Base = &b
			}
			wr.Resolves = slices.Clone(wr.Resolves)
			for x := range wr.Resolves {
				wr.Resolves[x] = swap(wr.Resolves[x])
			}
		}
		op.Seen = slices.Clone(op.Seen)
		for x := range op.Seen {
			op.Seen[x] = swap(op.Seen[x])
		}
	}
}
