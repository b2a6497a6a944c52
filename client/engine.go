package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Errors returned by the Engine.
var (
	ErrClosed     = errors.New("client: engine is not open")
	ErrNotFound   = errors.New("client: no such record")
	ErrOutboxFull = fmt.Errorf("client: more than %d edits waiting to sync", MaxPendingOps)
	ErrReserved   = errors.New("client: field is written by Delete and Resolve only")
	ErrStopped    = errors.New("client: syncing stopped")
)

// Logger receives the engine's diagnostics; *log.Logger is one. (log/slog
// would pull encoding/json into the wasm binary.)
type Logger interface {
	Printf(format string, v ...any)
}

// Options configure an Engine. Store and Transport are required.
type Options struct {
	Store     Store
	Transport Transport
	// Token is the session token sent in Hello.
	Token string
	// Logger receives diagnostics; nil discards them.
	Logger Logger
	// Now reads the device's wall clock; nil is time.Now. The HLC reads it
	// corrected by the skew measured against the server (Meta.Skew).
	Now func() time.Time
	// BackoffBase and BackoffMax shape reconnect delays (DefaultBackoffBase,
	// DefaultBackoffMax when zero).
	BackoffBase, BackoffMax time.Duration
	// MergesText says which fields are prose (plan.MergesTextAnyKind): an
	// edit of one carries the text it replaced, so that a concurrent edit
	// of other words merges instead of conflicting. Nil: none (ops as
	// earlier builds sent them).
	MergesText func(collection, field string) bool
	// HealthyAfter is how long a connection must last before the backoff
	// resets (DefaultHealthyAfter when zero).
	HealthyAfter time.Duration
	// DialTimeout bounds dialing and waiting for Welcome
	// (DefaultDialTimeout when zero).
	DialTimeout time.Duration
	// PushWindow is how many pushes may await their ack at once
	// (DefaultPushWindow when zero).
	PushWindow int
	// Rand draws backoff jitter; nil seeds one from the runtime.
	Rand *rand.Rand
	// Offline starts the engine paused, as if SetOnline(false) were called
	// (the browser reported no network at startup).
	Offline bool
	// OnAck, when set, is called once for each op of this device the
	// server acknowledged (committed durably), with the space sequence
	// number the server reported, as the Ack is processed and before the
	// op leaves the outbox. It runs on the sync goroutine and must not
	// block. It lets a test harness record exactly which edits the server
	// promised to keep (server/crash); an app reads Pending instead.
	OnAck func(op record.Op, seq uint64)
}

// Status says what the sync loop is doing.
type Status string

// Statuses.
const (
	StatusOffline    Status = "offline"    // not connected; retrying after a delay, or paused by SetOnline(false)
	StatusConnecting Status = "connecting" // dialing, waiting for Welcome
	StatusSyncing    Status = "syncing"    // connected, catching up or pushing
	StatusSynced     Status = "synced"     // connected, caught up, outbox empty
	StatusStopped    Status = "stopped"    // not retrying until SetToken: see SyncState.Reason
)

// SyncState is the engine's state for the UI.
type SyncState struct {
	Status Status
	// Reason is set with StatusStopped: protocol.CodeUnauthorized (sign in
	// again, then SetToken), protocol.CodeUpgradeRequired (reload the app),
	// protocol.CodeDeviceLimit (the account holds too many device ids in
	// live sessions: sign out on a device no longer used, then SetToken),
	// or CodeUserChanged. The outbox is kept in every case.
	Reason protocol.Code
	// Pending is the number of edits in the outbox.
	Pending int
	// LastError describes the last connection failure, for display.
	LastError string
}

// CodeUserChanged stops syncing when the server welcomes a different user
// than the one whose unsynced edits are in the outbox: pushing them would
// write them in the new user's name. The app signs the old user back in
// or discards the device's data (Store.Reset).
const CodeUserChanged protocol.Code = "user_changed"

// Rejection is an edit the server refused, or an unsent edit of a space
// the person was removed from (code forbidden, message droppedMessage; see
// AccessChanged): the server would refuse it the same way.
type Rejection struct {
	Op      record.Op
	Code    protocol.Code
	Message string
	At      time.Time
	// Held says the edit was not refused for good: the server could not
	// take it now (protocol.CodeQuota, protocol.CodeUnreadable), so it
	// stays in the outbox and is sent again on the next connection.
	Held bool
}

// Engine is a device's sync engine; see the package comment.
//
// Invariants (under mu): view[k] is server[k] with byKey[k] applied in
// order; outbox is in LocalSeq order, which is also the order ops reach
// the server and their HLC order, except that an op restamped after
// clock_reused sorts after the ops that follow it (a later op on its
// record is then refused in turn and restamped after it, recover.go);
// cursors[s] never passes what the Store holds.
type Engine struct {
	opts  Options
	store Store
	now   func() time.Time
	hub   hub
	kick  chan struct{} // capacity 1: "look at the outbox / retry now"

	// editMu serializes local edits, so that LocalSeq, HLC and outbox
	// order agree. Held across Store.AddPending; never taken by the loop.
	editMu sync.Mutex

	// applyMu makes the sync loop's store writes and the memory updates
	// that follow one step for Reload, which must not read the store
	// between the two. Taken before mu, never while holding it.
	applyMu sync.Mutex

	mu         sync.Mutex
	open       bool
	closed     bool
	meta       Meta
	clock      *hlc.Clock
	server     map[record.Key]*record.Record
	view       map[record.Key]*record.Record
	outbox     []*PendingOp
	byKey      map[record.Key][]*PendingOp
	nextSeq    uint64
	cursors    map[uuid.UUID]uint64
	heads      map[uuid.UUID]uint64 // highest seq known to exist per space
	more       map[uuid.UUID]bool   // last page of the space said More
	welcomed   bool                 // the current connection got Welcome
	online     bool
	token      string
	stopReason protocol.Code
	state      SyncState
	stateWait  chan struct{} // closed and replaced on every state change
	rejections []Rejection
	pushLimit  int // ops per push; lowered when the server refuses a batch as a whole
	// journal mirrors the Store's journal of acked ops (LocalSeq and
	// encoded size, oldest first), to trim it to MaxJournalOps and
	// MaxJournalBytes without reading it back. Owned by the sync loop.
	journal      []journalEntry
	journalBytes int

	// skew is Meta.Skew (milliseconds), read by now on every timestamp.
	skew atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns an engine; Open loads the store and starts syncing.
func New(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	if opts.HealthyAfter <= 0 {
		opts.HealthyAfter = DefaultHealthyAfter
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.PushWindow <= 0 {
		opts.PushWindow = DefaultPushWindow
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	e := &Engine{
		opts:      opts,
		store:     opts.Store,
		kick:      make(chan struct{}, 1),
		token:     opts.Token,
		online:    !opts.Offline,
		state:     SyncState{Status: StatusOffline},
		stateWait: make(chan struct{}),
		pushLimit: MaxOpsPerPush,
	}
	e.now = func() time.Time { return opts.Now().Add(time.Duration(e.skew.Load()) * time.Millisecond) }
	return e
}

// journalEntry is one op of the journal, as the engine counts it.
type journalEntry struct {
	localSeq uint64
	size     int
}

func (e *Engine) logf(format string, v ...any) {
	if e.opts.Logger != nil {
		e.opts.Logger.Printf("client: "+format, v...)
	}
}

// Open loads the local copy and starts the sync loop. A store without
// metadata was never used or was wiped (browsers evict storage): it is
// reset, given a new device id and synced from scratch.
func (e *Engine) Open(ctx context.Context) error {
	if e.store == nil || e.opts.Transport == nil {
		return errors.New("client: Options.Store and Options.Transport are required")
	}
	e.mu.Lock()
	if e.open || e.closed {
		e.mu.Unlock()
		return errors.New("client: Open called twice")
	}
	e.mu.Unlock()
	snap, err := e.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("client: load: %w", err)
	}
	if snap.Meta == nil {
		if len(snap.Records) > 0 || len(snap.Outbox) > 0 || len(snap.Cursors) > 0 {
			// Half a store: trust none of it.
			e.logf("store has data but no metadata; resetting")
		}
		if err := e.store.Reset(ctx); err != nil {
			return fmt.Errorf("client: reset: %w", err)
		}
		snap = &Snapshot{Meta: &Meta{Device: uuid.Must(uuid.NewV7())}}
		if err := e.store.SaveMeta(ctx, *snap.Meta); err != nil {
			return fmt.Errorf("client: save meta: %w", err)
		}
	}

	e.mu.Lock()
	e.meta = *snap.Meta
	e.skew.Store(e.meta.Skew)
	e.setJournalLocked(snap.Journal)
	e.server = make(map[record.Key]*record.Record, len(snap.Records))
	e.view = make(map[record.Key]*record.Record, len(snap.Records))
	e.byKey = make(map[record.Key][]*PendingOp)
	e.cursors = make(map[uuid.UUID]uint64, len(snap.Cursors))
	e.heads = make(map[uuid.UUID]uint64)
	e.more = make(map[uuid.UUID]bool)
	last := e.meta.LastHLC
	for k, r := range snap.Records {
		e.server[k] = r
		last = max(last, maxHLC(r, e.now()))
	}
	for s, c := range snap.Cursors {
		e.cursors[s] = c
		e.heads[s] = c
	}
	outbox := slices.Clone(snap.Outbox)
	// sort.Slice, not slices.SortFunc: each element type of a generic sort
	// is another ~15 KB of wasm for the browser build (issue 5's budget).
	sort.Slice(outbox, func(i, j int) bool { return outbox[i].LocalSeq < outbox[j].LocalSeq })
	for i := range outbox {
		p := &outbox[i]
		e.outbox = append(e.outbox, p)
		e.byKey[p.Op.Key()] = append(e.byKey[p.Op.Key()], p)
		e.nextSeq = max(e.nextSeq, p.LocalSeq)
		last = max(last, p.Op.HLC)
	}
	e.clock = hlc.NewClock(e.now, last)
	// A key without pending ops shows the server's record as is, which is
	// what relayLocked would make of it; only pending keys need the merge.
	for k, r := range e.server {
		if _, ok := e.byKey[k]; !ok {
			e.view[k] = r
		}
	}
	for k := range e.byKey {
		e.relayLocked(k)
	}
	e.open = true
	e.state.Pending = len(e.outbox)
	e.mu.Unlock()

	loopCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.run(loopCtx)
	}()
	return nil
}

// maxHLC is the newest timestamp in r that is not implausibly far in the
// future (hlc.MaxDrift), for seeding the clock at load.
func maxHLC(r *record.Record, now time.Time) hlc.Timestamp {
	limit := hlc.New(now.Add(hlc.MaxDrift).UnixMilli(), 0)
	var m hlc.Timestamp
	see := func(t hlc.Timestamp) {
		if t > m && t <= limit {
			m = t
		}
	}
	for _, f := range r.Fields {
		see(f.HLC)
		for _, c := range f.Conflicts {
			see(c.HLC)
		}
	}
	return m
}

// Close stops the sync loop, waits for it, saves the clock and ends every
// subscription. It does not close the Store.
func (e *Engine) Close() error {
	e.mu.Lock()
	if !e.open {
		e.closed = true
		e.mu.Unlock()
		return nil
	}
	e.open = false
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	e.editMu.Lock() // let an edit in flight finish its store write
	defer e.editMu.Unlock()
	e.mu.Lock()
	m := e.meta
	m.LastHLC = e.clock.Last()
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultDialTimeout)
	defer cancel()
	err := e.store.SaveMeta(ctx, m)
	e.hub.close()
	return err
}

// Kick asks the sync loop to act now: push new edits, or retry a
// connection without waiting out the backoff (the browser's "online"
// event, a "sync now" button).
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// SetOnline pauses (false) or resumes (true) syncing, following the
// browser's online and offline events. Paused, the engine drops its
// connection and does not dial; edits still queue.
func (e *Engine) SetOnline(online bool) {
	e.mu.Lock()
	e.online = online
	e.mu.Unlock()
	e.Kick()
}

// SetToken replaces the session token (after the person signed in again)
// and resumes a loop stopped by an error.
func (e *Engine) SetToken(token string) {
	e.mu.Lock()
	e.token = token
	var evs []Event
	if e.stopReason != "" {
		e.stopReason = ""
		evs = e.setStateLocked(StatusOffline, "")
	}
	e.mu.Unlock()
	e.hub.publish(evs...)
	e.Kick()
}

// Subscribe returns a channel of events and a function that ends the
// subscription. The engine never waits for a subscriber: when the channel's
// buffer is full, events are dropped. So treat an event as "something
// changed" and re-read (Get, List, State, Rejections); in particular a
// dropped StateChanged is recovered by reading State. The channel closes
// when the engine closes or cancel is called.
func (e *Engine) Subscribe(buffer int) (<-chan Event, func()) {
	return e.hub.subscribe(buffer)
}

// State returns the current sync state.
func (e *Engine) State() SyncState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// Device returns this device's id (valid after Open). It changes when the
// server says another session holds it (device_taken, see recover.go).
func (e *Engine) Device() uuid.UUID {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.meta.Device
}

// Spaces returns the spaces of the last Welcome (remembered offline).
func (e *Engine) Spaces() []protocol.SpaceInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.meta.Spaces)
}

// Rejections returns the most recent refused edits, oldest first (at most
// MaxRejections).
func (e *Engine) Rejections() []Rejection {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.rejections)
}

// Pending returns a copy of the outbox, in order.
func (e *Engine) Pending() []PendingOp {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]PendingOp, len(e.outbox))
	for i, p := range e.outbox {
		out[i] = *p
	}
	return out
}

// WaitSynced waits until every edit made so far is acknowledged and every
// space is caught up with the server. It returns ErrStopped when syncing
// stops, or the context's error.
func (e *Engine) WaitSynced(ctx context.Context) error {
	for {
		e.mu.Lock()
		st, wait := e.state, e.stateWait
		open := e.open
		e.mu.Unlock()
		switch {
		case !open:
			return ErrClosed
		case st.Status == StatusSynced:
			return nil
		case st.Status == StatusStopped:
			return fmt.Errorf("%w: %s", ErrStopped, st.Reason)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// setStateLocked recomputes the state from the engine's fields and returns
// the event to publish when it changed. status "" keeps the connection part
// of the state as it is. Caller holds mu.
func (e *Engine) setStateLocked(status Status, lastErr string) []Event {
	next := e.state
	if status != "" {
		next.Status = status
	}
	if lastErr != "" {
		next.LastError = lastErr
	}
	next.Pending = len(e.outbox)
	next.Reason = ""
	if e.stopReason != "" {
		next.Status, next.Reason = StatusStopped, e.stopReason
	} else if next.Status == StatusSyncing || next.Status == StatusSynced {
		next.Status = StatusSyncing
		if e.caughtUpLocked() {
			next.Status = StatusSynced
			next.LastError = ""
		}
	}
	if next == e.state {
		return nil
	}
	e.state = next
	close(e.stateWait)
	e.stateWait = make(chan struct{})
	return []Event{StateChanged{State: next}}
}

// caughtUpLocked: welcomed, nothing pending, every known space at or past
// its known head with no page outstanding. Caller holds mu.
func (e *Engine) caughtUpLocked() bool {
	if !e.welcomed || len(e.outbox) > 0 {
		return false
	}
	for s, h := range e.heads {
		if e.cursors[s] < h || e.more[s] {
			return false
		}
	}
	return true
}
