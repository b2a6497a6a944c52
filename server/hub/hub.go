// Package hub is the sync endpoint: it speaks the protocol of
// shared/protocol over WebSockets, authenticates sessions, authorizes every
// op, hands ops to the store, and fans committed changes out to the other
// members of a space. It is the only package that imports the WebSocket
// library.
//
// Each connection has one reader, one writer, one pusher (commits the
// connection's pushes in order, several at a time) and one catcher-up (pages
// a space's backlog from the store). The store's commit hook (publish) only
// queues each durable group for the hub's fan-out goroutine (fanOutLoop),
// and waits when that bounded queue is full, so commits stall as long as
// fan-out lags. The hub's subscription maps are therefore guarded by a
// read-write lock rather than owned by one goroutine: fan-out reads them
// under a read lock only long enough to copy a space's subscribers, instead
// of waiting on a channel to a map-owning goroutine that connections also
// keep busy.
//
// Memory: each connection's send queue is bounded (frames and bytes, see
// limits.go), and so is the sum across connections (MaxQueuedBytes). The
// queues mostly share their bytes: a live change is encoded once per space
// and role and the same frame sits in every member's queue, so the sum
// counts each frame once (frame.refs), while the per-connection part,
// catch-up pages, is paced to a quarter of the queue's bounds. The
// 1,000-client soak (make soak) measures the whole.
//
// Sockets are capped per process and per client address before the
// upgrade (HTTP 429), and per user and per session after hello
// (too_many_connections). Every per-connection goroutine recovers its own
// panics: a bug one client reaches costs that client its connection.
package hub

import (
	"cmp"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/clientaddr"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Hub. Zero durations and sizes take the defaults in
// limits.go.
type Options struct {
	Store  server.Store
	Rules  Rules
	Logger *slog.Logger
	// Security receives security events (refused devices, ...); nil means
	// a log on Logger.
	Security *secevent.Log
	// Registry receives the hub's metrics; nil means none are exported.
	Registry prometheus.Registerer
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may open a socket besides the server's own host. Requests without an
	// Origin header (native clients) are allowed: Origin checks defend
	// browsers against cross-site sockets, which always send one.
	AllowedOrigins []string
	Now            func() time.Time

	WriteWait  time.Duration
	PongWait   time.Duration
	PingPeriod time.Duration
	// HelloDeadline is the total time a socket has to say hello
	// (DefaultHelloDeadline); nothing the client sends extends it.
	HelloDeadline   time.Duration
	Heartbeat       time.Duration
	SendQueueFrames int
	MaxPendingBytes int
	PageBytes       int
	PushRate        float64
	PushBurst       int
	MaxRateDelay    time.Duration
	PushQueue       int
	MaxCommitOps    int
	// MaxDevicesPerUser bounds the device ids one user holds in live
	// sessions (DefaultMaxDevicesPerUser).
	MaxDevicesPerUser int

	// MaxConns, MaxConnsPerAddr, MaxConnsPerUser and MaxConnsPerSession
	// cap concurrent sockets (DefaultMaxConns...). The first two are
	// checked before the upgrade (HTTP 429 with Retry-After), the others
	// at hello (too_many_connections).
	MaxConns           int
	MaxConnsPerAddr    int
	MaxConnsPerUser    int
	MaxConnsPerSession int
	// MaxQueuedBytes bounds the bytes queued for writing across all
	// connections (DefaultMaxQueuedBytes).
	MaxQueuedBytes int64
	// ClientAddr names the client a request comes from, for the
	// per-address cap and security events. Nil means the peer address's
	// host, an IPv6 address grouped by its /64 (DefaultClientAddr); behind
	// a reverse proxy, plug in one that trusts its forwarding header.
	ClientAddr func(*http.Request) string
	// Seen is told of every session that says hello, to record when it
	// was last used (auth.Service.Seen, which writes at most once a
	// minute); nil records nothing.
	Seen func(*server.Session)
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.WriteWait, DefaultWriteWait)
	def(&o.PongWait, DefaultPongWait)
	if o.PingPeriod == 0 {
		// Ping below PongWait, so a live peer always answers in time.
		o.PingPeriod = o.PongWait * 9 / 10
	}
	def(&o.HelloDeadline, DefaultHelloDeadline)
	def(&o.Heartbeat, DefaultHeartbeat)
	def(&o.MaxRateDelay, DefaultMaxRateDelay)
	defInt(&o.SendQueueFrames, DefaultSendQueueFrames)
	defInt(&o.MaxPendingBytes, DefaultMaxPendingBytes)
	defInt(&o.PageBytes, DefaultPageBytes)
	defInt(&o.PushBurst, DefaultPushBurst)
	defInt(&o.PushQueue, DefaultPushQueue)
	defInt(&o.MaxCommitOps, DefaultMaxCommitOps)
	defInt(&o.MaxDevicesPerUser, DefaultMaxDevicesPerUser)
	defInt(&o.MaxConns, DefaultMaxConns)
	defInt(&o.MaxConnsPerAddr, DefaultMaxConnsPerAddr)
	defInt(&o.MaxConnsPerUser, DefaultMaxConnsPerUser)
	defInt(&o.MaxConnsPerSession, DefaultMaxConnsPerSession)
	if o.MaxQueuedBytes == 0 {
		o.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if o.ClientAddr == nil {
		o.ClientAddr = DefaultClientAddr
	}
	if o.PushRate == 0 {
		o.PushRate = DefaultPushRate
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Security == nil {
		o.Security = secevent.New(o.Logger)
	}
	if o.Rules == nil {
		o.Rules = MembersOnly{}
	}
}

// Hub serves sync connections. Create it with New, serve it as an
// http.Handler, and Close it before closing the store.
type Hub struct {
	opts     Options
	log      *slog.Logger
	upgrader websocket.Upgrader
	m        *metrics

	mu        sync.RWMutex
	closing   bool
	conns     map[*conn]struct{}
	bySpace   map[uuid.UUID]map[*conn]struct{}
	bySession map[[32]byte]map[*conn]struct{}
	byUser    map[uuid.UUID]map[*conn]struct{} // signed-in sockets per user: Revalidate reads only theirs
	open      int                              // sockets, counting those in their handshake
	byAddr    map[string]int                   // open, per client address

	queued atomic.Int64 // bytes of the frames queued to any connection, each counted once

	wg sync.WaitGroup // every connection goroutine

	fanq       chan []server.Committed // durable groups awaiting fan-out, in commit order
	fanDone    chan struct{}           // closed by Close: stop fanning out
	fanStopped chan struct{}           // closed when fanOutLoop has returned
}

// New returns a hub over opts.Store and registers its fan-out as the
// store's commit hook.
func New(opts Options) *Hub {
	opts.setDefaults()
	h := &Hub{
		opts:      opts,
		log:       opts.Logger.With("component", "hub"),
		m:         newMetrics(opts.Registry),
		conns:     map[*conn]struct{}{},
		bySpace:   map[uuid.UUID]map[*conn]struct{}{},
		bySession: map[[32]byte]map[*conn]struct{}{},
		byUser:    map[uuid.UUID]map[*conn]struct{}{},
		byAddr:    map[string]int{},
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "plansync_hub_queued_bytes",
			Help: "Bytes queued for writing across connections, each shared frame counted once (bound: MaxQueuedBytes).",
		}, func() float64 { return float64(h.queued.Load()) }))
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:    4096,
		WriteBufferSize:   4096,
		EnableCompression: false, // the read limit must count wire bytes
		CheckOrigin:       h.checkOrigin,
		HandshakeTimeout:  10 * time.Second,
	}
	h.fanq = make(chan []server.Committed, DefaultFanOutQueue)
	h.fanDone = make(chan struct{})
	h.fanStopped = make(chan struct{})
	go h.fanOutLoop()
	opts.Store.OnCommit(h.publish)
	return h
}

// publish hands a durable group to the fan-out goroutine. It runs on the
// store's commit goroutine: encoding and compressing pages there would hold
// the next group's commit back (measured: a third of a 10,000-op offline
// push), so it only queues. A full queue holds the committer back, which
// bounds memory; after Close, groups are dropped (no one is connected).
func (h *Hub) publish(batches []server.Committed) {
	select {
	case h.fanq <- batches:
	case <-h.fanDone:
	}
}

// DefaultClientAddr is the default Options.ClientAddr: the peer address,
// keyed as server/clientaddr keys it for rate limits (an IPv6 address by
// its /64, which one household or school line holds whole, so rotating
// through it gains nothing), believing no forwarding header.
func DefaultClientAddr(r *http.Request) string { return noProxies.Key(r) }

var noProxies = clientaddr.New(nil)

// QueuedBytes returns the bytes queued for writing across connections,
// each shared frame counted once.
func (h *Hub) QueuedBytes() int64 { return h.queued.Load() }

// fanOutLoop offers groups to connections in commit order.
func (h *Hub) fanOutLoop() {
	defer close(h.fanStopped)
	for {
		select {
		case b := <-h.fanq:
			h.fanOut(b)
		case <-h.fanDone:
			return
		}
	}
}

func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// ServeHTTP upgrades a request to a sync connection.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	closing := h.closing
	h.mu.RUnlock()
	if closing {
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	if !h.checkOrigin(r) {
		h.m.disconnects.WithLabelValues("bad_origin").Inc()
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	addr := h.opts.ClientAddr(r)
	if which := h.reserve(addr); which != "" {
		h.m.disconnects.WithLabelValues(string(protocol.CodeTooManyConns)).Inc()
		h.opts.Security.Event(secevent.ConnectionRefused, "client", addr, "cap", which)
		w.Header().Set("Retry-After", strconv.Itoa(int(ConnRetryAfter/time.Second)))
		http.Error(w, string(protocol.CodeTooManyConns)+": too many connections "+capWhat[which]+"; try again later", protocol.StatusOf(protocol.CodeTooManyConns).HTTP)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.release(addr)
		return // the upgrader has answered the request
	}
	if f := testUpgraded.Load(); f != nil {
		(*f)(r, ws.UnderlyingConn())
	}
	c := newConn(h, ws, r.RemoteAddr, addr)
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		h.release(addr)
		_ = ws.Close()
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(4)
	h.mu.Unlock()
	h.m.connections.Inc()
	c.start()
}

// testUpgraded, when set (by tests only), is given each upgraded
// request's socket, so that a test can shrink its kernel buffers.
var testUpgraded atomic.Pointer[func(*http.Request, net.Conn)]

// capWhat says, for a refusal's message, which cap was met.
var capWhat = map[string]string{
	"process": "on this server",
	"address": "from your network address",
	"user":    "for this account",
	"session": "for this sign-in",
}

// reserve takes a slot of the process and address caps for a socket about
// to be upgraded; it returns the cap met ("" when the slot is taken).
func (h *Hub) reserve(addr string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.open >= h.opts.MaxConns:
		return "process"
	case h.byAddr[addr] >= h.opts.MaxConnsPerAddr:
		return "address"
	}
	h.open++
	h.byAddr[addr]++
	return ""
}

// release gives back a slot reserve took.
func (h *Hub) release(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked(addr)
}

func (h *Hub) releaseLocked(addr string) {
	h.open--
	if h.byAddr[addr]--; h.byAddr[addr] <= 0 {
		delete(h.byAddr, addr)
	}
}

// Close stops taking connections, lets every connection commit the pushes
// it has read and send their acks, closes them with "going away", and
// waits for their goroutines.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return
	}
	h.closing = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.stopReading()
	}
	h.wg.Wait()
	close(h.fanDone)
	<-h.fanStopped
}

// CloseSession closes every live connection of the session with this token
// hash (after the session is revoked) and returns how many it closed.
func (h *Hub) CloseSession(hash [32]byte) int {
	h.mu.RLock()
	var cs []*conn
	for c := range h.bySession[hash] {
		cs = append(cs, c)
	}
	h.mu.RUnlock()
	for _, c := range cs {
		c.fail(protocol.CodeUnauthorized, "this session was signed out")
	}
	return len(cs)
}

// Revalidate closes every live connection of user with access_changed,
// after their memberships changed: each connection's spaces and roles are
// fixed at hello, so the client reconnects and its new hello reads them
// again. A socket of the user that is saying hello meanwhile reads its
// memberships again once registered (conn.hello), so no socket keeps a
// space the user lost. It returns how many it closed.
func (h *Hub) Revalidate(user uuid.UUID) int {
	h.mu.RLock()
	cs := make([]*conn, 0, len(h.byUser[user]))
	for c := range h.byUser[user] {
		cs = append(cs, c)
	}
	h.mu.RUnlock()
	for _, c := range cs {
		c.fail(protocol.CodeAccessChanged, "your spaces or roles changed: reconnect to see them")
	}
	return len(cs)
}

// Connections returns how many sockets are open.
func (h *Hub) Connections() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// overCap returns the cap ("user", "session") a new connection of user
// and session would exceed, "" for none.
func (h *Hub) overCap(user uuid.UUID, session [32]byte) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.overCapLocked(user, session)
}

func (h *Hub) overCapLocked(user uuid.UUID, session [32]byte) string {
	switch {
	case len(h.byUser[user]) >= h.opts.MaxConnsPerUser:
		return "user"
	case len(h.bySession[session]) >= h.opts.MaxConnsPerSession:
		return "session"
	}
	return ""
}

// subscribe registers c for its spaces, user and session once hello
// succeeds, and arms the close at the session's expiry. It returns the cap
// met ("user", "session"), or "gone" when c has ended meanwhile (its
// writer has removed it, and registering it now would keep it in the maps
// for good), or "expired"; "" when c is registered.
func (h *Hub) subscribe(c *conn, expires time.Time) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return "gone"
	}
	if why := h.overCapLocked(c.user, c.session); why != "" {
		return why
	}
	left := expires.Sub(h.opts.Now())
	if left <= 0 {
		return "expired"
	}
	c.expiry = time.AfterFunc(left, func() {
		c.fail(protocol.CodeUnauthorized, "the session has expired: sign in again")
	})
	c.subscribed = true
	u := h.byUser[c.user]
	if u == nil {
		u = map[*conn]struct{}{}
		h.byUser[c.user] = u
	}
	u[c] = struct{}{}
	for id := range c.subs {
		m := h.bySpace[id]
		if m == nil {
			m = map[*conn]struct{}{}
			h.bySpace[id] = m
		}
		m[c] = struct{}{}
	}
	m := h.bySession[c.session]
	if m == nil {
		m = map[*conn]struct{}{}
		h.bySession[c.session] = m
	}
	m[c] = struct{}{}
	return ""
}

func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.releaseLocked(c.addr)
	if !c.subscribed {
		h.m.connections.Dec()
		return
	}
	c.expiry.Stop()
	if u := h.byUser[c.user]; u != nil {
		delete(u, c)
		if len(u) == 0 {
			delete(h.byUser, c.user)
		}
	}
	for id := range c.subs {
		if m := h.bySpace[id]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(h.bySpace, id)
			}
		}
	}
	if m := h.bySession[c.session]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.bySession, c.session)
		}
	}
	h.m.connections.Dec()
}

// fanOut runs on the fan-out goroutine after each durable commit. It
// encodes each space's change once per distinct view (role) and offers it
// to every subscriber; none of this blocks. A connection whose own ops made
// some of the records gets its own frames, with references in place of
// those records (see protocol.Changes.Own).
//
// The subscribers are copied under the read lock and encoding happens
// after it, so that new connections and closing ones do not wait on
// deflate. One that subscribes after the copy misses nothing: the group is
// durable before it is published, so its catch-up reads it from the store.
func (h *Hub) fanOut(batches []server.Committed) {
	var subs []*conn
	for i := range batches {
		cm := &batches[i]
		h.mu.RLock()
		subs = subs[:0]
		for c := range h.bySpace[cm.Space] {
			subs = append(subs, c)
		}
		h.mu.RUnlock()
		if len(subs) == 0 {
			continue
		}
		writers := map[uuid.UUID]bool{}
		for _, op := range cm.Sole {
			if op != nil {
				writers[op.Node] = true
			}
		}
		frames := map[server.Role][]*frame{}
		for _, c := range subs {
			h.offerTo(c, cm, writers, frames)
		}
	}
}

// offerTo encodes (or reuses) cm's frames for c and offers them. A panic
// here, a bug in encoding or in the rules' filter, ends c alone (it
// resumes from its cursor), not the fan-out goroutine, which every
// connection depends on.
func (h *Hub) offerTo(c *conn, cm *server.Committed, writers map[uuid.UUID]bool, frames map[server.Role][]*frame) {
	defer c.recovered("fan-out")
	sub := c.subs[cm.Space]
	if writers[c.client] {
		c.offer(cm.From, cm.To, sub, newFrames(h.encodeFor(cm, sub, c.client)))
		return
	}
	fs, ok := frames[sub.role]
	if !ok {
		fs = newFrames(h.encodeFor(cm, sub, uuid.Nil))
		frames[sub.role] = fs
	}
	c.offer(cm.From, cm.To, sub, fs)
}

// encodeFor encodes a committed change as the member sub sees it, for the
// device self (uuid.Nil: any other device). A record that one op alone
// changed goes as that op (a patch), or as a reference when self made it;
// a record the member sees only in part, or that several ops changed, goes
// whole.
//
// A patch is only right if the member already holds the record as it was
// before the op, which holds because the connection is live (it has every
// change up to cm.From) and because read rules go by collection, so a
// record never becomes visible through an edit. If read rules ever look at
// a record's content, send whole records when visibility changes.
func (h *Hub) encodeFor(cm *server.Committed, sub *sub, self uuid.UUID) [][]byte {
	items := make([]pageItem, 0, len(cm.Records))
	for i, r := range cm.Records {
		v := h.opts.Rules.Filter(sub.role, sub.space, r)
		if v == nil {
			continue
		}
		var op *record.Op
		if i < len(cm.Sole) && v == r {
			op = cm.Sole[i]
		}
		switch {
		case op != nil && self != uuid.Nil && op.Node == self:
			items = append(items, pageItem{seq: r.Seq, own: &protocol.Own{Collection: r.Collection, ID: r.ID, HLC: op.HLC, Seq: r.Seq}})
		case op != nil:
			items = append(items, pageItem{seq: r.Seq, patch: &protocol.Patch{Seq: r.Seq, Op: *op}})
		default:
			items = append(items, pageItem{seq: v.Seq, rec: v})
		}
	}
	return encodePages(cm.Space, cm.From, cm.To, items, h.opts.PageBytes)
}

// filter returns the records as a member with role may see them.
func filter(rules Rules, role server.Role, sp *server.Space, recs []*record.Record) []*record.Record {
	out := make([]*record.Record, 0, len(recs))
	for _, r := range recs {
		if v := rules.Filter(role, sp, r); v != nil {
			out = append(out, v)
		}
	}
	return out
}

// pageItem is a record, or a reference to one the client derives itself.
type pageItem struct {
	seq   uint64
	rec   *record.Record
	own   *protocol.Own
	patch *protocol.Patch
}

// ownSize is roughly what a protocol.Own costs encoded.
const ownSize = 48

// encodePages encodes the change (from, to] as one or more Changes frames of
// about maxBytes each (before compression), split at sequence numbers so
// that each frame's range is exact.
func encodePages(space uuid.UUID, from, to uint64, items []pageItem, maxBytes int) [][]byte {
	slices.SortFunc(items, func(a, b pageItem) int { return cmp.Compare(a.seq, b.seq) })
	var frames [][]byte
	page := &protocol.Changes{Space: space, From: from}
	size := 0
	for i, it := range items {
		switch {
		case it.own != nil:
			page.Own = append(page.Own, *it.own)
			size += ownSize
		case it.patch != nil:
			page.Patches = append(page.Patches, *it.patch)
			size += ownSize + opSize(&it.patch.Op)
		default:
			page.Records = append(page.Records, it.rec)
			size += approxSize(it.rec)
		}
		if size >= maxBytes && i+1 < len(items) {
			page.To, page.More = it.seq, true
			frames = append(frames, protocol.MustEncode(page))
			page = &protocol.Changes{Space: space, From: it.seq}
			size = 0
		}
	}
	page.To = to
	return append(frames, protocol.MustEncode(page))
}

// opSize estimates an op's encoded size without encoding it.
func opSize(op *record.Op) int {
	n := 64
	for _, w := range op.Writes {
		n += len(w.Name) + 30 + valueSize(w.Value)
	}
	return n
}

// approxSize estimates a record's encoded size without encoding it.
func approxSize(r *record.Record) int {
	n := 64
	for name, f := range r.Fields {
		n += len(name) + 40 + valueSize(f.Value)
		for _, c := range f.Conflicts {
			n += 40 + valueSize(c.Value)
		}
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	case []any:
		n := 0
		for _, e := range x {
			n += 1 + valueSize(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range x {
			n += len(k) + 1 + valueSize(e)
		}
		return n
	}
	return 9
}
