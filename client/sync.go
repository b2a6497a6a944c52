package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// Reasons a session ends that are not the server's error codes.
var (
	errPaused     = errors.New("paused: device is offline")
	errDead       = errors.New("connection silent for two heartbeats")
	errHandshake  = errors.New("no welcome from the server in time")
	errGap        = errors.New("server skipped changes; resyncing from the cursor")
	errProtocol   = errors.New("server broke the protocol")
	errBatchLimit = errors.New("server refused a whole push; retrying with smaller pushes")
)

// run is the sync loop: connect, sync until the connection ends, wait out
// the backoff, again, until ctx ends. Started by Open, stopped by Close.
func (e *Engine) run(ctx context.Context) {
	bo := &backoff{base: e.opts.BackoffBase, max: e.opts.BackoffMax, rand: e.opts.Rand}
	quick := 0 // prompt reconnects in a row after access changes
	for ctx.Err() == nil {
		e.mu.Lock()
		online, stopped := e.online, e.stopReason != ""
		e.mu.Unlock()
		if !online || stopped {
			e.publishState(StatusOffline, "")
			select {
			case <-ctx.Done():
				return
			case <-e.kick:
				continue
			}
		}

		healthy, err := e.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if healthy {
			bo.reset()
			quick = 0
		}
		var pe *protocol.Error
		accessChanged := errors.As(err, &pe) && pe.Code == protocol.CodeAccessChanged || errors.Is(err, errRoleChanged)
		if errors.As(err, &pe) && pe.Code == protocol.CodeDeviceTaken {
			// Another session holds our device id: take a new one and
			// reconnect (after the backoff, so that a server answering
			// every id this way is not hammered).
			if derr := e.newDevice(ctx); derr != nil {
				e.logf("taking a new device id: %v", derr)
			}
		}
		if errors.As(err, &pe) && !protocol.StatusOf(pe.Code).Retry &&
			(pe.Code == protocol.CodeUnauthorized || pe.Code == protocol.CodeUpgradeRequired || pe.Code == protocol.CodeDeviceLimit) {
			// Retrying cannot help until the person acts (signs in again,
			// reloads the app, signs out on a device no longer used):
			// stop, and say why. The outbox is kept.
			e.mu.Lock()
			e.stopReason = pe.Code
			e.mu.Unlock()
			e.logf("syncing stopped: %v", err)
			e.publishState(StatusStopped, err.Error())
			continue
		}
		if errors.Is(err, errPaused) {
			continue
		}
		e.mu.Lock()
		stopped = e.stopReason != ""
		e.mu.Unlock()
		if stopped {
			e.publishState(StatusStopped, "")
			continue
		}
		var delay time.Duration
		if accessChanged && quick < maxQuickReconnects {
			// The server closed the socket because the person's spaces
			// changed, not because anything failed: reconnect at once to
			// see the new ones (the jitter spreads the person's devices,
			// closed at the same moment), not after a long backoff.
			quick++
			delay = time.Duration(e.opts.Rand.Int64N(int64(accessReconnectJitter) + 1))
		} else {
			delay = bo.next()
		}
		msg := "disconnected"
		if err != nil {
			msg = err.Error()
		}
		e.logf("connection ended (%v); retrying in %v", err, delay)
		e.publishState(StatusOffline, msg)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

func (e *Engine) publishState(st Status, lastErr string) {
	e.mu.Lock()
	if st != StatusSyncing && st != StatusSynced {
		e.welcomed = false
	}
	evs := e.setStateLocked(st, lastErr)
	e.mu.Unlock()
	e.hub.publish(evs...)
}

// inbound is one decoded frame, or the error that ended reading.
type inbound struct {
	msg protocol.Message
	err error
}

// batch is a push awaiting its ack.
type batch struct {
	id  uint64
	ops []PendingOp
}

// session is one connection's state, owned by the sync loop goroutine.
type session struct {
	conn      Conn
	in        chan inbound // from the reader
	out       chan []byte  // to the writer
	writeErr  chan error   // capacity 1: the writer's failure
	heartbeat time.Duration
	lastRecv  time.Time
	// sent holds the LocalSeqs pushed on this connection and not yet
	// settled. A set, not a high-water mark: Reload can bring in ops of
	// another tab numbered below ones already pushed.
	sent     map[uint64]bool
	restamps map[uint64]int // LocalSeq → restamps on this connection (maxRestamps)
	// stale holds LocalSeqs in flight with a clock since replaced: pump
	// sends nothing past the first of them until its ack frees it.
	stale     map[uint64]bool
	nextBatch uint64
	inflight  []batch
	healthy   bool
	start     time.Time
}

// session runs one connection until it fails, the server ends it, the
// device goes offline or ctx ends. It owns two goroutines, a reader and a
// writer, and returns only after both stopped. healthy says the connection
// was welcomed and then reached "synced" or lasted HealthyAfter.
func (e *Engine) session(ctx context.Context) (healthy bool, err error) {
	e.publishState(StatusConnecting, "")
	dctx, dcancel := context.WithTimeout(ctx, e.opts.DialTimeout)
	conn, err := e.opts.Transport.Dial(dctx)
	dcancel()
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &session{
		conn:     conn,
		in:       make(chan inbound, inboundQueue),
		out:      make(chan []byte, e.opts.PushWindow+outboundSlack),
		writeErr: make(chan error, 1),
		lastRecv: time.Now(),
		start:    time.Now(),
		sent:     map[uint64]bool{},
		stale:    map[uint64]bool{},
	}
	done := make(chan struct{}, 2)
	defer func() {
		cancel()
		_ = conn.Close()
		<-done
		<-done
	}()
	go func() { defer func() { done <- struct{}{} }(); s.read(sctx) }()
	go func() { defer func() { done <- struct{}{} }(); s.write(sctx) }()

	e.mu.Lock()
	hello := &protocol.Hello{Protocol: protocol.Version, Client: e.meta.Device, Token: e.token}
	for sp, c := range e.cursors {
		hello.Cursors = append(hello.Cursors, protocol.Cursor{Space: sp, Seq: c})
	}
	e.mu.Unlock()
	cs := hello.Cursors // sort.Slice: see Engine.Open
	sort.Slice(cs, func(i, j int) bool { return bytes.Compare(cs[i].Space[:], cs[j].Space[:]) < 0 })
	if err := s.send(hello); err != nil {
		return false, err
	}

	dead := time.NewTimer(e.opts.DialTimeout)
	defer dead.Stop()
	var ping <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return s.healthy, ctx.Err()
		case err := <-s.writeErr:
			return s.healthy, err
		case <-dead.C:
			if s.heartbeat == 0 {
				return false, errHandshake
			}
			idle := time.Since(s.lastRecv)
			if idle >= 2*s.heartbeat {
				return s.healthy, errDead
			}
			dead.Reset(2*s.heartbeat - idle)
		case <-ping:
			s.trySend(&protocol.Ping{Time: time.Now().UnixMilli()})
		case <-e.kick:
			e.mu.Lock()
			online, stopped := e.online, e.stopReason != ""
			e.mu.Unlock()
			if !online || stopped {
				return s.healthy, errPaused
			}
			if s.heartbeat > 0 {
				if err := e.pump(s); err != nil {
					return s.healthy, err
				}
			}
		case in := <-s.in:
			if in.err != nil {
				return s.healthy, in.err
			}
			s.lastRecv = time.Now()
			welcomed := s.heartbeat > 0
			if err := e.handle(ctx, s, in.msg); err != nil {
				return s.healthy, err
			}
			if !welcomed && s.heartbeat > 0 {
				t := time.NewTicker(s.heartbeat / 2)
				defer t.Stop()
				ping = t.C
				dead.Reset(2 * s.heartbeat)
			}
			if !s.healthy && s.heartbeat > 0 && (e.State().Status == StatusSynced || time.Since(s.start) >= e.opts.HealthyAfter) {
				s.healthy = true
			}
		}
	}
}

// read is the connection's reader: it decodes frames and hands them over,
// waiting when the engine is behind (bounded by inboundQueue).
func (s *session) read(ctx context.Context) {
	for {
		b, err := s.conn.ReadMessage(ctx)
		var m protocol.Message
		if err == nil {
			m, err = protocol.Decode(b)
		}
		select {
		case s.in <- inbound{msg: m, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// write is the connection's writer.
func (s *session) write(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-s.out:
			if err := s.conn.WriteMessage(ctx, b); err != nil {
				s.writeErr <- err
				return
			}
		}
	}
}

// send queues a frame that must go out. The queue has room by
// construction (see outboundSlack); if not, the connection is unusable.
func (s *session) send(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	select {
	case s.out <- b:
		return nil
	default:
		return fmt.Errorf("%w: send queue full", errProtocol)
	}
}

// trySend queues a frame that may be dropped (pings, pongs).
func (s *session) trySend(m protocol.Message) {
	if b, err := protocol.Encode(m); err == nil {
		select {
		case s.out <- b:
		default:
		}
	}
}

// handle processes one message from the server.
func (e *Engine) handle(ctx context.Context, s *session, m protocol.Message) error {
	if s.heartbeat == 0 {
		switch m := m.(type) {
		case *protocol.Welcome:
			return e.welcome(ctx, s, m)
		case *protocol.Error:
			return m
		default:
			return fmt.Errorf("%w: %s before welcome", errProtocol, m.Type())
		}
	}
	switch m := m.(type) {
	case *protocol.Changes:
		return e.changes(ctx, m)
	case *protocol.Ack:
		return e.ack(ctx, s, m)
	case *protocol.Error:
		if m.Batch != 0 {
			return e.batchError(ctx, s, m)
		}
		return m
	case *protocol.Ping:
		s.trySend(&protocol.Pong{Time: m.Time})
	case *protocol.Pong:
	default:
		return fmt.Errorf("%w: unexpected %s", errProtocol, m.Type())
	}
	return nil
}

func (e *Engine) welcome(ctx context.Context, s *session, w *protocol.Welcome) error {
	s.heartbeat = time.Duration(w.Heartbeat) * time.Millisecond
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeat
	}
	e.mu.Lock()
	if e.meta.User != uuid.Nil && e.meta.User != w.User {
		if len(e.outbox) > 0 {
			e.stopReason = CodeUserChanged
			e.mu.Unlock()
			return fmt.Errorf("welcomed as %s but the outbox holds edits of %s", w.User, e.meta.User)
		}
		// Another account on this device, nothing unsynced: start over
		// with its data.
		e.mu.Unlock()
		e.applyMu.Lock()
		defer e.applyMu.Unlock()
		if err := e.store.Reset(ctx); err != nil {
			return err
		}
		e.mu.Lock()
		e.server = make(map[record.Key]*record.Record)
		e.cursors = make(map[uuid.UUID]uint64)
		e.heads = make(map[uuid.UUID]uint64)
		e.more = make(map[uuid.UUID]bool)
		e.journal, e.journalBytes = nil, 0
		var evs []Event
		for k := range e.view {
			evs = append(evs, e.relayLocked(k)...)
		}
		e.meta.User = w.User
		e.mu.Unlock()
		e.hub.publish(evs...)
		// The Hello carried the old user's cursors: reconnect with none.
		return errors.New("signed in as another user; resyncing")
	}
	if w.Incarnation != uuid.Nil && e.meta.Incarnation != uuid.Nil && w.Incarnation != e.meta.Incarnation {
		// A restored database: our cursors and records describe the old
		// one, and the acked edits of ours it lost are in the journal.
		e.mu.Unlock()
		if err := e.rebase(ctx, w.Incarnation); err != nil {
			return err
		}
		return errRestored
	}
	// Spaces the person left (or now holds under another role) are
	// dropped before the metadata lists the new ones: after a crash in
	// between, the next Welcome finds them still listed and drops them
	// again, never the other way round.
	gone, reread := e.accessDiffLocked(w.Spaces)
	e.mu.Unlock()
	for _, sp := range gone {
		if err := e.dropSpace(ctx, sp, true, ""); err != nil {
			return err
		}
	}
	for _, sp := range w.Spaces {
		if role, ok := reread[sp.ID]; ok {
			if err := e.dropSpace(ctx, sp.ID, false, role); err != nil {
				return err
			}
		}
	}
	e.mu.Lock()
	if w.Incarnation != uuid.Nil {
		e.meta.Incarnation = w.Incarnation
	}
	e.meta.User = w.User
	e.meta.Spaces = slices.Clone(w.Spaces)
	for _, sp := range w.Spaces {
		e.heads[sp.ID] = max(e.heads[sp.ID], sp.Head)
	}
	var serverNow hlc.Timestamp
	if w.ServerTime > 0 {
		serverNow = hlc.New(w.ServerTime, 0)
		e.measureSkewLocked(serverNow)
	}
	e.mu.Unlock()
	if serverNow != 0 {
		// Edits stamped by a clock far ahead (made offline, or before the
		// skew was known) would all be refused: restamp them before the
		// first push, in order, so none is overtaken by a newer edit.
		if _, err := e.restampAhead(ctx, serverNow, nil); err != nil {
			return err
		}
	}
	e.mu.Lock()
	e.meta.LastHLC = e.clock.Last()
	m := e.meta
	e.mu.Unlock()
	if err := e.store.SaveMeta(ctx, m); err != nil {
		return err
	}
	if len(reread) > 0 {
		// This connection serves those spaces from the old cursors: read
		// them again from scratch on the next one (see run).
		return errRoleChanged
	}
	e.mu.Lock()
	e.welcomed = true
	evs := e.setStateLocked(StatusSyncing, "")
	e.mu.Unlock()
	e.hub.publish(evs...)
	return e.pump(s)
}

// changes applies a page from the server: durably first, then to memory.
func (e *Engine) changes(ctx context.Context, c *protocol.Changes) error {
	e.applyMu.Lock() // store, then memory, as one step for Reload
	defer e.applyMu.Unlock()
	e.mu.Lock()
	cur := e.cursors[c.Space]
	var keep []*record.Record
	for _, r := range c.Records {
		if r.Space != c.Space {
			e.mu.Unlock()
			return fmt.Errorf("%w: record of space %s in changes of %s", errProtocol, r.Space, c.Space)
		}
		if old := e.server[r.Key()]; old != nil && old.Seq > r.Seq {
			continue // we hold a newer state already
		}
		keep = append(keep, r)
	}
	for _, o := range c.Own {
		r, err := e.deriveOwnLocked(c.Space, o)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		if r != nil {
			keep = append(keep, r)
		}
	}
	for i := range c.Patches {
		r, err := e.patchLocked(c.Space, &c.Patches[i])
		if err != nil {
			e.mu.Unlock()
			return err
		}
		if r != nil {
			keep = append(keep, r)
		}
	}
	e.mu.Unlock()
	if c.From > cur {
		return fmt.Errorf("%w (space %s: have %d, page from %d)", errGap, c.Space, cur, c.From)
	}
	to := max(cur, c.To)
	if len(keep) > 0 || to != cur {
		if err := e.store.ApplyChanges(ctx, c.Space, to, keep); err != nil {
			return fmt.Errorf("client: store changes: %w", err)
		}
	}

	e.mu.Lock()
	var evs []Event
	for _, r := range keep {
		_ = e.clock.Update(maxHLC(r, e.now())) // maxHLC already skips ErrDrift's cases
		e.server[r.Key()] = r
		evs = append(evs, e.relayLocked(r.Key())...)
	}
	e.cursors[c.Space] = to
	e.heads[c.Space] = max(e.heads[c.Space], to)
	e.more[c.Space] = c.More
	evs = append(evs, e.setStateLocked("", "")...)
	e.mu.Unlock()
	e.hub.publish(evs...)
	return nil
}

// deriveOwnLocked rebuilds a record the server committed from one of our
// own pending ops instead of sending it back (protocol.Changes.Own): the
// server's record is our copy with that op applied, by the same merge code.
// It returns nil when we already hold a newer state. The caller must hold
// e.mu.
func (e *Engine) deriveOwnLocked(space uuid.UUID, o protocol.Own) (*record.Record, error) {
	key := record.Key{Space: space, Collection: o.Collection, ID: o.ID}
	base := e.server[key]
	if base != nil && base.Seq >= o.Seq {
		return nil, nil
	}
	for _, p := range e.byKey[key] {
		if p.Op.HLC != o.HLC {
			continue
		}
		// The server stamped the op with this connection's device and
		// user: an op made before the first Welcome names no user, and
		// one another tab made while the device id changed names the old
		// id.
		op := p.Op
		op.Node, op.Author = e.meta.Device, e.meta.User
		r, out, err := record.Apply(base, &op)
		if err != nil || !out.Changed {
			break
		}
		r.Seq = o.Seq
		return r, nil
	}
	return nil, fmt.Errorf("%w (space %s: the server credits us with op %s on %s/%s, which we cannot apply)", errGap, space, o.HLC, o.Collection, o.ID)
}

// patchLocked applies an op someone else made, committed at p.Seq, to our
// copy of its record (protocol.Changes.Patches). It returns nil when we
// already hold a newer state. The caller must hold e.mu.
func (e *Engine) patchLocked(space uuid.UUID, p *protocol.Patch) (*record.Record, error) {
	if p.Op.Space != space {
		return nil, fmt.Errorf("%w: patch for space %s in changes of %s", errProtocol, p.Op.Space, space)
	}
	key := p.Op.Key()
	base := e.server[key]
	if base != nil && base.Seq >= p.Seq {
		return nil, nil
	}
	r, out, err := record.Apply(base, &p.Op)
	if err != nil || !out.Changed {
		return nil, fmt.Errorf("%w (space %s: patch at seq %d does not apply to our copy of %s/%s)", errGap, space, p.Seq, p.Op.Collection, p.Op.ID)
	}
	r.Seq = p.Seq
	return r, nil
}

// pump pushes outbox ops not yet sent on this connection, while the window
// has room.
func (e *Engine) pump(s *session) error {
	var w wire.Writer // measures each op's encoded size, reused across ops
	for len(s.inflight) < e.opts.PushWindow {
		e.mu.Lock()
		limit := e.pushLimit
		var ops []PendingOp
		size := 0
		for _, p := range e.outbox {
			if s.stale[p.LocalSeq] {
				break // see ack: a restamped op goes out before anything after it
			}
			if s.sent[p.LocalSeq] {
				continue
			}
			if len(ops) >= limit {
				break
			}
			w.Reset()
			p.Op.EncodeWire(&w)
			if err := w.Err(); err != nil {
				e.mu.Unlock()
				return err
			}
			n := len(w.Bytes())
			if len(ops) > 0 && size+n > MaxPushBytes {
				break
			}
			size += n
			ops = append(ops, *p)
		}
		e.mu.Unlock()
		if len(ops) == 0 {
			return nil
		}
		s.nextBatch++
		push := &protocol.Push{Batch: s.nextBatch, Ops: make([]record.Op, len(ops))}
		for i, p := range ops {
			push.Ops[i] = p.Op
		}
		if err := s.send(push); err != nil {
			return err
		}
		for _, p := range ops {
			s.sent[p.LocalSeq] = true
		}
		s.inflight = append(s.inflight, batch{id: push.Batch, ops: ops})
	}
	return nil
}

// inFlight returns the LocalSeqs of the pushes awaiting their ack (at most
// PushWindow pushes of MaxOpsPerPush ops).
func (s *session) inFlight() map[uint64]bool {
	m := map[uint64]bool{}
	for _, b := range s.inflight {
		for _, p := range b.ops {
			m[p.LocalSeq] = true
		}
	}
	return m
}

// takeBatch removes and returns the in-flight batch id.
func (s *session) takeBatch(id uint64) (batch, bool) {
	for i, b := range s.inflight {
		if b.id == id {
			s.inflight = slices.Delete(s.inflight, i, i+1)
			for _, p := range b.ops {
				delete(s.sent, p.LocalSeq)
				delete(s.stale, p.LocalSeq)
			}
			return b, true
		}
	}
	return batch{}, false
}

// ack settles a push: accepted ops are in server state already (the server
// sends their Changes before the Ack) and move to the journal; refused ones
// become Rejections; both leave the outbox. Ops refused for their clock
// (clock_ahead, clock_reused) stay: they are restamped and sent again.
func (e *Engine) ack(ctx context.Context, s *session, a *protocol.Ack) error {
	b, ok := s.takeBatch(a.Batch)
	if !ok {
		return fmt.Errorf("%w: ack of unknown batch %d", errProtocol, a.Batch)
	}
	if len(a.Results) != len(b.ops) {
		return fmt.Errorf("%w: ack of %d results for %d ops", errProtocol, len(a.Results), len(b.ops))
	}
	var (
		acked   []JournalOp
		removed []uint64
		refused []Rejection
		held    []Rejection
		// LocalSeq → the clock it was sent with, and the server's hint
		ahead, reused = map[uint64]hlc.Timestamp{}, map[uint64]hlc.Timestamp{}
		hints         = map[uint64]hlc.Timestamp{}
		serverNow     hlc.Timestamp
		broken        error // a server that keeps refusing a clock
	)
	for i, r := range a.Results {
		p := b.ops[i]
		switch r.Code {
		case "":
		case protocol.CodeClockAhead, protocol.CodeClockReused:
			if s.restamps == nil {
				s.restamps = map[uint64]int{}
			}
			s.restamps[p.LocalSeq]++
			if s.restamps[p.LocalSeq] > maxRestamps {
				// Settle the rest of the ack first, then end the
				// connection; the op stays in the outbox.
				broken = fmt.Errorf("%w: edit %d refused with %s %d times", errProtocol, p.LocalSeq, r.Code, maxRestamps+1)
				continue
			}
			if r.Code == protocol.CodeClockAhead {
				ahead[p.LocalSeq] = p.Op.HLC
				serverNow = max(serverNow, r.Clock)
			} else {
				reused[p.LocalSeq] = p.Op.HLC
				hints[p.LocalSeq] = r.Clock
			}
			continue
		case protocol.CodeQuota, protocol.CodeUnreadable:
			// Not the edit's fault, and perhaps not for long (space freed,
			// record repaired): it stays in the outbox, and is sent again
			// on the next connection rather than on this one, in a loop.
			s.sent[p.LocalSeq] = true
			held = append(held, Rejection{Op: p.Op, Code: r.Code, Message: r.Message, At: e.now(), Held: true})
			continue
		default:
			refused = append(refused, Rejection{Op: p.Op, Code: r.Code, Message: r.Message, At: e.now()})
			removed = append(removed, p.LocalSeq)
			continue
		}
		acked = append(acked, JournalOp{LocalSeq: p.LocalSeq, Seq: r.Seq, Op: p.Op})
		e.mu.Lock()
		sp := p.Op.Space
		e.heads[sp] = max(e.heads[sp], r.Seq)
		e.mu.Unlock()
		if e.opts.OnAck != nil {
			e.opts.OnAck(p.Op, r.Seq)
		}
	}
	if err := e.settle(ctx, acked, removed, refused); err != nil {
		return err
	}
	if len(held) > 0 {
		e.mu.Lock()
		evs := e.rejectLocked(held)
		e.mu.Unlock()
		e.hub.publish(evs...)
	}
	if broken != nil {
		return broken
	}
	if len(ahead) > 0 {
		if serverNow == 0 { // an older server sends no clock: trust the refusal
			serverNow = hlc.New(e.now().UnixMilli(), 0)
		}
		seqs, err := e.restampAhead(ctx, serverNow, ahead)
		if err != nil {
			return err
		}
		// Restamped ops still in flight carry their old clocks there and
		// will come back refused. Until each is resent, nothing after it
		// may go out: a newer edit would reach the server first, and the
		// restamped one would then be older than what it holds.
		if len(seqs) > 0 {
			flying := s.inFlight()
			for _, q := range seqs {
				if flying[q] {
					s.stale[q] = true
				}
			}
		}
	}
	if len(reused) > 0 {
		if _, err := e.restampReused(ctx, reused, hints); err != nil {
			return err
		}
	}
	return e.pump(s)
}

// batchError handles an Error naming one of our pushes. A retryable code
// ends the connection (everything unacked is resent after reconnecting). A
// final one refuses the op when the push held one; with more, the server
// refused the push as a whole, so pushes shrink and are resent.
func (e *Engine) batchError(ctx context.Context, s *session, m *protocol.Error) error {
	b, ok := s.takeBatch(m.Batch)
	if !ok || protocol.StatusOf(m.Code).Retry {
		return m
	}
	if len(b.ops) > 1 {
		e.mu.Lock()
		e.pushLimit = max(1, len(b.ops)/2)
		e.mu.Unlock()
		return fmt.Errorf("%w: %v", errBatchLimit, m)
	}
	rej := []Rejection{{Op: b.ops[0].Op, Code: m.Code, Message: m.Message, At: e.now()}}
	if err := e.settle(ctx, nil, []uint64{b.ops[0].LocalSeq}, rej); err != nil {
		return err
	}
	return e.pump(s)
}

// settle removes ops from the outbox, durably then in memory: acked ones
// into the journal (trimmed to its bounds), refused ones (removed) with
// their Rejections.
func (e *Engine) settle(ctx context.Context, acked []JournalOp, removed []uint64, refused []Rejection) error {
	gone := make(map[uint64]bool, len(acked)+len(removed))
	for _, j := range acked {
		gone[j.LocalSeq] = true
	}
	for _, q := range removed {
		gone[q] = true
	}
	if len(gone) == 0 {
		return nil
	}
	e.applyMu.Lock() // store, then memory, as one step for Reload
	defer e.applyMu.Unlock()
	if len(acked) > 0 {
		e.mu.Lock()
		journal, jbytes, trim := e.planJournalLocked(acked)
		e.mu.Unlock()
		if err := e.store.AckPending(ctx, acked, trim); err != nil {
			return fmt.Errorf("client: remove acked edits: %w", err)
		}
		e.mu.Lock()
		e.journal, e.journalBytes = journal, jbytes
		e.mu.Unlock()
	}
	if len(removed) > 0 {
		if err := e.store.RemovePending(ctx, removed); err != nil {
			return fmt.Errorf("client: remove refused edits: %w", err)
		}
	}
	e.mu.Lock()
	keys := map[record.Key]bool{}
	e.outbox = slices.DeleteFunc(e.outbox, func(p *PendingOp) bool {
		if gone[p.LocalSeq] {
			keys[p.Op.Key()] = true
			return true
		}
		return false
	})
	var evs []Event
	for k := range keys {
		e.byKey[k] = slices.DeleteFunc(e.byKey[k], func(p *PendingOp) bool { return gone[p.LocalSeq] })
		if len(e.byKey[k]) == 0 {
			delete(e.byKey, k)
		}
		evs = append(evs, e.relayLocked(k)...)
	}
	// A held edit that has now applied is no longer "not on the server".
	e.rejections = slices.DeleteFunc(e.rejections, func(o Rejection) bool {
		return o.Held && slices.ContainsFunc(acked, func(j JournalOp) bool { return sameOp(&o.Op, &j.Op) })
	})
	evs = append(evs, e.rejectLocked(refused)...)
	evs = append(evs, e.setStateLocked("", "")...)
	e.mu.Unlock()
	e.hub.publish(evs...)
	return nil
}

// rejectLocked records refused (or held) edits for Rejections and returns
// their events. Caller holds mu.
func (e *Engine) rejectLocked(refused []Rejection) []Event {
	var evs []Event
	for _, r := range refused {
		if r.Held {
			// Held again on a later connection: one entry, the latest.
			e.rejections = slices.DeleteFunc(e.rejections, func(o Rejection) bool { return o.Held && sameOp(&o.Op, &r.Op) })
			e.logf("server holds back edit of %v, kept for the next connection: %s %s", r.Op.Key(), r.Code, r.Message)
		} else {
			e.logf("server refused edit of %v: %s %s", r.Op.Key(), r.Code, r.Message)
		}
		evs = append(evs, Rejected{Op: r.Op, Code: r.Code, Message: r.Message, Held: r.Held})
	}
	e.rejections = append(e.rejections, refused...)
	if over := len(e.rejections) - MaxRejections; over > 0 {
		e.rejections = slices.Delete(e.rejections, 0, over)
	}
	return evs
}

// sameOp reports whether a and b are one outbox op as stamped.
func sameOp(a, b *record.Op) bool { return a.HLC == b.HLC && a.Key() == b.Key() }
