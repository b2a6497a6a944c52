package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Defaults of Config.
const (
	// DefaultStream is the JetStream stream holding the log.
	DefaultStream = "PLANSYNC"
	// DefaultReplicas is how many nodes hold each entry: three survive one
	// node lost and need two for every write.
	DefaultReplicas = 3
	// DefaultProposeTimeout bounds the wait for the log's quorum ack: past
	// it the write is refused with server.ErrUnavailable (it may still be
	// applied later, which a retry finds done: see the op index).
	DefaultProposeTimeout = 3 * time.Second
	// DefaultApplyTimeout bounds the wait, after the quorum ack, for this
	// node to apply the entry.
	DefaultApplyTimeout = 10 * time.Second
	// DefaultMaxEntryBytes bounds one log entry; a Commit whose ops encode
	// to more is split into several entries. The embedded node's
	// max_payload is set above it (see Node).
	DefaultMaxEntryBytes = 4 << 20 // bytes
)

// maxInFlight bounds the proposals one node has waiting for their acks
// (and so the waiter map); more wait for a slot until their context ends.
const maxInFlight = 1024

// maxCatchUps bounds concurrent read-miss catch-ups (see lookup): each asks
// the stream leader for its last sequence, and a flood of unknown tokens
// must not turn into a flood of those.
const maxCatchUps = 4

// catchUpTimeout bounds how long a read miss waits for this node to apply
// what the log held when it asked.
const catchUpTimeout = 5 * time.Second

// markName is the badger mark of the last stream sequence applied.
const markName = "cluster.applied"

// Subjects of the log's entries (one stream, one order for everything).
const (
	subjectOps      = "plansync.log.ops"
	subjectAccounts = "plansync.log.accounts"
	subjects        = "plansync.log.>"
)

// Config configures a cluster Store.
type Config struct {
	// Conn is a connection to the NATS cluster (an embedded Node's, or an
	// operator's cluster). The Store does not close it.
	Conn *nats.Conn
	// Local is this node's badger view, opened with Options.Now set to
	// Clock.Now. The Store closes it.
	Local *store.Store
	Clock *Clock
	// Stream, Replicas, ProposeTimeout, ApplyTimeout, MaxEntryBytes: zero
	// means the defaults above.
	Stream         string
	Replicas       int
	ProposeTimeout time.Duration
	ApplyTimeout   time.Duration
	MaxEntryBytes  int
	Logger         *slog.Logger
}

// Store is server.Store in cluster mode: every write is proposed to the
// replicated log and answered once this node has applied it; every read
// is served by the local badger view.
type Store struct {
	cfg    Config
	js     jetstream.JetStream
	local  *store.Store
	log    *slog.Logger
	incarn uuid.UUID

	inflight chan struct{} // proposal slots
	catchUps chan struct{} // read-miss catch-up slots

	wmu     sync.Mutex
	waiters map[string]chan result // entry id -> its proposer

	amu     sync.Mutex
	applied uint64        // last stream sequence applied
	advance chan struct{} // closed and replaced at each advance

	revoke atomic.Pointer[func([32]byte) int]
	access atomic.Pointer[func(uuid.UUID) int]

	ctx    context.Context // ends at Close: stops the applier
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	stats  Stats
}

// Stats counts a Store's work since Open.
type Stats struct {
	Proposed  atomic.Uint64 // entries acked by the log's quorum
	Refused   atomic.Uint64 // proposals refused unavailable
	Applied   atomic.Uint64 // entries applied here
	Replayed  atomic.Uint64 // entries delivered again and skipped
	Undecoded atomic.Uint64 // entries that did not decode (skipped on every node alike)
	Stalls    atomic.Uint64 // consumers made again because they stopped delivering
}

type result struct {
	val any
	err error
}

var _ server.Store = (*Store)(nil)

// Open creates the stream when it does not exist (or checks the one that
// does), starts applying the log from after the local mark, and waits
// until this node has caught up with what the log held at Open, so a node
// serves nothing older than the cluster at start.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Conn == nil || cfg.Local == nil || cfg.Clock == nil {
		return nil, errors.New("cluster: Open needs Conn, Local and Clock")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = DefaultReplicas
	}
	if cfg.ProposeTimeout == 0 {
		cfg.ProposeTimeout = DefaultProposeTimeout
	}
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = DefaultApplyTimeout
	}
	if cfg.MaxEntryBytes == 0 {
		cfg.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if max := int(cfg.Conn.MaxPayload()) - 64<<10; max > 0 && cfg.MaxEntryBytes > max {
		cfg.MaxEntryBytes = max
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	st, err := ensureStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	mark, err := cfg.Local.Mark(markName)
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the applied mark: %w", err)
	}
	info, err := streamInfo(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the log's state: %w", err)
	}
	s := &Store{
		cfg:      cfg,
		js:       js,
		local:    cfg.Local,
		log:      cfg.Logger,
		incarn:   incarnation(cfg.Stream, info.Created),
		inflight: make(chan struct{}, maxInFlight),
		catchUps: make(chan struct{}, maxCatchUps),
		waiters:  map[string]chan result{},
		applied:  mark,
		advance:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.runApplier()
	last := info.State.LastSeq
	s.log.Info("cluster: applying the log", "stream", cfg.Stream, "from", mark+1, "last", last)
	if err := s.waitApplied(ctx, last); err != nil {
		s.cancel()
		s.wg.Wait()
		return nil, fmt.Errorf("cluster: catching up with the log (at %d of %d): %w", s.Applied(), last, err)
	}
	return s, nil
}

// ensureStream creates the log's stream, or finds it.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	sc := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Plansync: every write, in the one order every node applies",
		Subjects:    []string{subjects},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		// The log is the state: nothing expires, nothing is discarded.
		Retention:  jetstream.LimitsPolicy,
		MaxMsgSize: int32(cfg.MaxEntryBytes + 64<<10),
		Duplicates: 2 * time.Minute,
	}
	var lastErr error
	// The meta leader may not be elected yet right after the nodes start.
	for range 60 {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := js.CreateStream(actx, sc)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = js.Stream(actx, cfg.Stream)
		}
		cancel()
		if err == nil {
			return st, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: creating stream %s: %w (last: %v)", cfg.Stream, ctx.Err(), lastErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("cluster: creating stream %s: %w", cfg.Stream, lastErr)
}

// streamInfo reads the stream's state, retrying while the stream made a
// moment ago through another node is not known here yet.
func streamInfo(ctx context.Context, st jetstream.Stream) (*jetstream.StreamInfo, error) {
	var lastErr error
	for range 40 {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		info, err := st.Info(actx)
		cancel()
		if err == nil {
			return info, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), lastErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil, lastErr
}

// incarnation names the log: a stream made again (a restore into a new
// cluster) has a new one, and clients re-read their spaces.
func incarnation(stream string, created time.Time) uuid.UUID {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d", stream, created.UnixNano()))
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x80 // version 8: custom
	id[8] = id[8]&0x3f | 0x80
	return id
}

// Incarnation identifies the log (the hub's Welcome carries it): the same
// on every node of a cluster.
func (s *Store) Incarnation(context.Context) (uuid.UUID, error) { return s.incarn, nil }

// Local is this node's badger view.
func (s *Store) Local() *store.Store { return s.local }

// Applied returns the last stream sequence this node applied.
func (s *Store) Applied() uint64 {
	s.amu.Lock()
	defer s.amu.Unlock()
	return s.applied
}

// StatsSnapshot returns the counters so far.
func (s *Store) StatsSnapshot() (proposed, refused, applied, replayed uint64) {
	return s.stats.Proposed.Load(), s.stats.Refused.Load(), s.stats.Applied.Load(), s.stats.Replayed.Load()
}

// SetHooks sets what an applied revocation or change of access tells this
// node's hub: every node applies every entry, so a session ended through
// any node closes its sockets on all of them.
func (s *Store) SetHooks(revoke func([32]byte) int, access func(uuid.UUID) int) {
	s.revoke.Store(&revoke)
	s.access.Store(&access)
}

// Healthy reports whether this node can take writes: its badger view can
// (disk space), and the log has a leader with a quorum behind it.
func (s *Store) Healthy() error {
	if err := s.local.Healthy(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return fmt.Errorf("cluster: log unreachable (%v): %w", err, server.ErrUnavailable)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("cluster: log unreachable (%v): %w", err, server.ErrUnavailable)
	}
	if info.Cluster == nil {
		return nil // a single NATS server: no replicas to count
	}
	if info.Cluster.Leader == "" {
		return fmt.Errorf("cluster: the log has no leader (a quorum of nodes is down): %w", server.ErrUnavailable)
	}
	// The leader keeps its title for a while after losing its followers:
	// count the replicas it has heard from lately.
	up := 1
	for _, p := range info.Cluster.Replicas {
		if !p.Offline && p.Active < peerSeen {
			up++
		}
	}
	if need := s.cfg.Replicas/2 + 1; up < need {
		return fmt.Errorf("cluster: the log's leader hears from %d of the %d nodes a write needs: %w", up, need, server.ErrUnavailable)
	}
	return nil
}

// peerSeen is how recently the log's leader must have heard from a
// replica for Healthy to count it.
const peerSeen = 3 * time.Second

// Close stops the applier and closes the badger view. Proposals waiting
// are answered server.ErrUnavailable.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		err = s.local.Close()
	})
	return err
}

// propose appends e to the log and returns what applying it here gave,
// once the log's quorum has it and this node applied it.
func (s *Store) propose(ctx context.Context, e *entry) (any, error) {
	select {
	case s.inflight <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, fmt.Errorf("cluster: closing: %w", server.ErrUnavailable)
	}
	defer func() { <-s.inflight }()
	e.At = time.Now().UnixMilli()
	b, err := encodeEntry(e)
	if err != nil {
		return nil, err
	}
	id := newID()
	w := make(chan result, 1)
	s.wmu.Lock()
	s.waiters[id] = w
	s.wmu.Unlock()
	defer func() {
		s.wmu.Lock()
		delete(s.waiters, id)
		s.wmu.Unlock()
	}()
	subj := subjectAccounts
	if e.Kind == kCommit {
		subj = subjectOps
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.ProposeTimeout)
	_, err = s.js.PublishMsg(pctx, &nats.Msg{Subject: subj, Data: b}, jetstream.WithMsgID(id), jetstream.WithExpectStream(s.cfg.Stream))
	cancel()
	if err != nil {
		s.stats.Refused.Add(1)
		return nil, fmt.Errorf("cluster: the log did not take the write (%v): %w", err, server.ErrUnavailable)
	}
	s.stats.Proposed.Add(1)
	t := time.NewTimer(s.cfg.ApplyTimeout)
	defer t.Stop()
	select {
	case r := <-w:
		return r.val, r.err
	case <-t.C:
		return nil, fmt.Errorf("cluster: the write is in the log but this node has not applied it in %v: %w", s.cfg.ApplyTimeout, server.ErrUnavailable)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, fmt.Errorf("cluster: closing: %w", server.ErrUnavailable)
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// waitApplied waits until this node has applied seq.
func (s *Store) waitApplied(ctx context.Context, seq uint64) error {
	for {
		s.amu.Lock()
		done, ch := s.applied >= seq, s.advance
		s.amu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ctx.Done():
			return fmt.Errorf("cluster: closing: %w", server.ErrUnavailable)
		}
	}
}

// catchUp waits until this node has applied everything the log holds now.
// A read that missed calls it before reading again: a login made through
// another node a moment ago may not be applied here yet. It does nothing
// (reports false) when too many catch-ups run already.
func (s *Store) catchUp(ctx context.Context) bool {
	select {
	case s.catchUps <- struct{}{}:
	default:
		return false
	}
	defer func() { <-s.catchUps }()
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	st, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return false
	}
	info, err := st.Info(ctx)
	if err != nil {
		return false
	}
	if info.State.LastSeq <= s.Applied() {
		return false
	}
	return s.waitApplied(ctx, info.State.LastSeq) == nil
}

// Commit implements server.Store: the ops go to the log (split into
// entries of at most MaxEntryBytes) and the results are this node's
// apply of them, the same on every node.
func (s *Store) Commit(ctx context.Context, ops []record.Op) ([]server.OpResult, error) {
	if len(ops) == 0 {
		return []server.OpResult{}, nil
	}
	enc, err := encodeOps(ops)
	if err != nil {
		return nil, err
	}
	out := make([]server.OpResult, 0, len(ops))
	for start := 0; start < len(enc); {
		end, size := start, 0
		for end < len(enc) && (end == start || size+len(enc[end]) <= s.cfg.MaxEntryBytes) {
			size += len(enc[end])
			end++
		}
		v, err := s.propose(ctx, &entry{Kind: kCommit, Ops: enc[start:end]})
		if err != nil {
			return nil, err
		}
		res, _ := v.([]server.OpResult)
		if len(res) != end-start {
			return nil, fmt.Errorf("cluster: %d results for %d ops", len(res), end-start)
		}
		out = append(out, res...)
		start = end
	}
	return out, nil
}

// OnCommit implements server.Store: the badger view publishes what each
// applied entry changed, on every node, so a node's sockets get the
// writes made through any node.
func (s *Store) OnCommit(fn func([]server.Committed)) { s.local.OnCommit(fn) }
