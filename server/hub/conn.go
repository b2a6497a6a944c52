package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"golang.org/x/time/rate"
)

// storeTimeout bounds one store call made for a connection.
const storeTimeout = 30 * time.Second

// sub is a connection's view of one space.
//
// Invariant: the client has been sent every change of the space up to sent
// (or has them queued, in order). While live, committed changes starting
// exactly at sent are queued directly; otherwise the catcher-up pages them
// from the store. dirty says a commit arrived while not live, so the
// catcher-up must look again before going live.
type sub struct {
	space *server.Space
	role  server.Role
	sent  uint64
	live  bool
	dirty bool
}

// pendingAck is an ack that waits until the changes of its ops have been
// queued: the client must see a pushed op's effect before its ack, or it
// would drop the op from its view and briefly show stale state.
type pendingAck struct {
	frame *frame
	need  map[uuid.UUID]uint64
}

// frame is one encoded server frame, shared by every connection it is
// queued for. refs counts the queues holding it, so that Hub.queued counts
// its bytes once however many members wait for it.
type frame struct {
	b    []byte
	refs atomic.Int32
}

func newFrame(b []byte) *frame { return &frame{b: b} }

func newFrames(bs [][]byte) []*frame {
	fs := make([]*frame, len(bs))
	for i, b := range bs {
		fs[i] = newFrame(b)
	}
	return fs
}

// testHook, when set (by tests only), is called at one point of each kind
// of per-connection work with the kind and the peer's address, so that a
// test can make that work panic for one connection.
var testHook atomic.Pointer[func(kind, remote string)]

func (c *conn) hook(kind string) {
	if f := testHook.Load(); f != nil {
		(*f)(kind, c.remote)
	}
}

type conn struct {
	h      *Hub
	ws     *websocket.Conn
	log    *slog.Logger
	remote string // the peer's address
	addr   string // the client address the caps count (Options.ClientAddr)
	ctx    context.Context
	cancel context.CancelFunc

	send         chan *frame
	pendingBytes atomic.Int64
	busySince    atomic.Int64 // unix nanoseconds when the queue last went from empty to not
	sendMu       sync.Mutex   // orders enqueue against closeSend
	sendClosed   bool         // set by closeSend under sendMu: the writer is gone, queue nothing
	pushes       chan *protocol.Push
	wake         chan struct{}
	drained      chan struct{} // kicked by the writer when the queue has room for catch-up
	quit         chan struct{} // closed by fail: stop now
	pusherDone   chan struct{} // closed when the pusher has finished
	failOnce     sync.Once
	failFrame    []byte
	failClose    int
	failReason   string
	limiter      *rate.Limiter
	stopping     atomic.Bool // set by stopReading: read no more frames

	// unbound is the session whose device binding waits for the store to
	// take writes again (set by hello, cleared by bindLate; reader only).
	unbound *server.Session
	// welcomed is set, under mu, once Welcome is queued: fan-out may reach
	// a connection as soon as it is subscribed, and a change it offers
	// before then must wait for the Welcome rather than wake catch-up
	// ahead of it (a client must read Welcome first).
	welcomed bool
	// Set once by hello, read-only after (except sub fields under mu).
	user    uuid.UUID
	client  uuid.UUID
	session [32]byte
	subs    map[uuid.UUID]*sub

	// Guarded by h.mu: set by subscribe, undone by remove.
	subscribed bool
	expiry     *time.Timer // closes the connection when its session expires

	mu   sync.Mutex // guards sub.sent/live/dirty and acks
	acks []pendingAck
}

func newConn(h *Hub, ws *websocket.Conn, remote, addr string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		h:          h,
		ws:         ws,
		log:        h.log.With("remote", remote),
		remote:     remote,
		addr:       addr,
		ctx:        ctx,
		cancel:     cancel,
		send:       make(chan *frame, h.opts.SendQueueFrames),
		pushes:     make(chan *protocol.Push, h.opts.PushQueue),
		wake:       make(chan struct{}, 1),
		drained:    make(chan struct{}, 1),
		quit:       make(chan struct{}),
		pusherDone: make(chan struct{}),
		limiter:    rate.NewLimiter(rate.Limit(h.opts.PushRate), h.opts.PushBurst),
	}
}

func (c *conn) start() {
	go c.readLoop()
	go c.writeLoop()
	go c.pushLoop()
	go c.catchUpLoop()
}

// fail closes the connection with an error frame and close code. It never
// blocks and may be called from any goroutine, any number of times.
func (c *conn) fail(code protocol.Code, msg string) {
	c.failOnce.Do(func() {
		c.failFrame = protocol.MustEncode(protocol.Errorf(code, msg))
		c.failClose = protocol.StatusOf(code).Close
		c.failReason = string(code)
		close(c.quit)
		if code == protocol.CodeSlowConsumer {
			// The client is not reading: the writer may be blocked on a
			// full socket until WriteWait, and the error frame could not
			// overtake the backlog anyway. Cut the socket now.
			_ = c.ws.UnderlyingConn().Close()
		}
	})
}

// endReason names why the connection ends when a write failed: the reason
// given to fail when there was one (a write cut by it), else def.
func (c *conn) endReason(def string) string {
	select {
	case <-c.quit:
		return c.failReason
	default:
		return def
	}
}

// stopReading ends the reader so that the connection drains and closes
// with "going away" (server shutdown).
func (c *conn) stopReading() {
	c.stopping.Store(true)
	_ = c.ws.UnderlyingConn().SetReadDeadline(time.Now())
}

// extendRead moves the read deadline d ahead, unless stopReading has been
// called: its deadline must not be undone, or a client that keeps sending
// (or a silent one, until d) would hold Hub.Close up.
func (c *conn) extendRead(d time.Duration) error {
	err := c.ws.SetReadDeadline(time.Now().Add(d))
	if c.stopping.Load() {
		return c.ws.SetReadDeadline(time.Now())
	}
	return err
}

// enqueue queues a frame for the writer without blocking. Over the queue's
// bounds, or holding queuedCutFloor bytes while the process is over
// MaxQueuedBytes, the client is a slow consumer and is disconnected; it
// resumes from its cursor, so nothing is lost. Once the writer has gone
// (closeSend), nothing is queued: bytes queued then would never be
// written, and never given back to the process-wide count.
func (c *conn) enqueue(f *frame) bool {
	n := int64(len(f.b))
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.sendClosed {
		return false
	}
	held := c.pendingBytes.Load()
	if held+n > int64(c.h.opts.MaxPendingBytes) || c.behind(held, n) {
		return c.slowConsumer()
	}
	c.hold(f)
	select {
	case c.send <- f:
		return true
	default:
		c.unhold(f)
		return c.slowConsumer()
	}
}

// enqueueBytes queues a frame of this connection alone.
func (c *conn) enqueueBytes(b []byte) bool { return c.enqueue(newFrame(b)) }

// behind reports whether, with the process over MaxQueuedBytes, c is one
// of the connections to cut: it holds queuedCutFloor bytes and its queue
// has not been empty for queuedCutAge. A reader keeping up empties its
// queue after each burst, so it is never cut for the backlog of others.
func (c *conn) behind(held, n int64) bool {
	return c.h.queued.Load()+n > c.h.opts.MaxQueuedBytes && held >= queuedCutFloor &&
		time.Since(time.Unix(0, c.busySince.Load())) >= queuedCutAge
}

// hold counts f's bytes as queued to c, and to the process when no other
// queue holds f already; unhold gives them back.
func (c *conn) hold(f *frame) {
	n := int64(len(f.b))
	if c.pendingBytes.Add(n) == n {
		c.busySince.Store(time.Now().UnixNano())
	}
	if f.refs.Add(1) == 1 {
		c.h.queued.Add(n)
	}
}

func (c *conn) unhold(f *frame) {
	n := int64(len(f.b))
	c.pendingBytes.Add(-n)
	if f.refs.Add(-1) == 0 {
		c.h.queued.Add(-n)
	}
}

// closeSend is the writer's last step: from now on nothing is queued, and
// what is queued and will not be written is given back.
func (c *conn) closeSend() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.sendClosed = true
	for {
		select {
		case f := <-c.send:
			c.unhold(f)
		default:
			return
		}
	}
}

// slowConsumer disconnects the client; it returns false for enqueue.
func (c *conn) slowConsumer() bool {
	c.fail(protocol.CodeSlowConsumer, "too many changes waiting to be read: reconnect to resume")
	return false
}

// recovered, deferred by each per-connection goroutine after its other
// defers (so it runs first), turns a panic in its work into the end of
// this connection alone: a bug
// reached by one client's input must cost that client its connection, not
// every family and school on the server theirs.
func (c *conn) recovered(kind string) {
	if r := recover(); r != nil {
		c.log.Error("panic in a connection's work", "work", kind, "panic", r, "stack", string(debug.Stack()))
		c.fail(protocol.CodeInternal, "something went wrong on the server; try again later")
	}
}

func (c *conn) readLoop() {
	defer c.h.wg.Done()
	defer close(c.pushes)
	defer c.recovered("reader")
	// Until hello, only a small uncompressed Hello is read (DecodeHello),
	// and the read deadline is the hello deadline, which nothing moves.
	c.ws.SetReadLimit(protocol.MaxHelloFrameBytes)
	_ = c.extendRead(c.h.opts.HelloDeadline)
	helloDone := false
	c.ws.SetPongHandler(func(string) error {
		if !helloDone {
			return nil
		}
		return c.extendRead(c.h.opts.PongWait)
	})
	// throttled is how long pushes have been held for the rate limit,
	// less the time the client then left the reader idle. Each push waits
	// only for its own token (1/rate), so one push's delay alone never
	// reaches MaxRateDelay at the default rates; a client that keeps the
	// reader busy while it is held back is further over the limit, and its
	// delays add up.
	var throttled time.Duration
	var released time.Time // when the last push was handed to the pusher
	for {
		mt, b, err := c.ws.ReadMessage()
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrReadLimit) && !helloDone:
				c.fail(protocol.CodeTooLarge, fmt.Sprintf("frame larger than %d bytes before hello", protocol.MaxHelloFrameBytes))
			case errors.Is(err, websocket.ErrReadLimit):
				c.fail(protocol.CodeTooLarge, fmt.Sprintf("frame larger than %d bytes", protocol.MaxFrameBytes))
			case !helloDone && isTimeout(err) && !c.stopping.Load():
				c.fail(protocol.CodeBadRequest, "no hello in time")
			}
			return
		}
		if c.stopping.Load() {
			// Shutting down: a frame already buffered is not a reason to go
			// on reading. Its push is not acked; the client sends it again.
			return
		}
		c.h.m.bytesIn.Add(float64(len(b)))
		if mt != websocket.BinaryMessage {
			c.fail(protocol.CodeBadFrame, "frames are binary msgpack")
			return
		}
		if helloDone {
			_ = c.extendRead(c.h.opts.PongWait)
		}
		var m protocol.Message
		if helloDone {
			m, err = protocol.DecodeClient(b)
		} else if hm, herr := protocol.DecodeHello(b); herr == nil {
			m = hm
		} else {
			err = herr
		}
		if err != nil {
			var pe *protocol.Error
			if errors.As(err, &pe) && pe.Code == protocol.CodeTooLarge && pe.Batch != 0 {
				// A push over MaxOpsPerPush, refused from its header.
				c.enqueueBytes(protocol.MustEncode(pe))
				continue
			}
			if errors.As(err, &pe) && pe.Code == protocol.CodeUnknownType {
				// A newer client may speak types we do not: say so, carry on.
				c.h.m.framesIn.WithLabelValues("unknown").Inc()
				c.enqueueBytes(protocol.MustEncode(pe))
				continue
			}
			c.h.m.framesIn.WithLabelValues("bad").Inc()
			if errors.As(err, &pe) {
				c.fail(pe.Code, pe.Message)
			} else {
				c.fail(protocol.CodeBadFrame, err.Error())
			}
			return
		}
		c.h.m.framesIn.WithLabelValues(string(m.Type())).Inc()
		c.hook("reader")
		switch m := m.(type) {
		case *protocol.Hello:
			if helloDone {
				c.fail(protocol.CodeBadRequest, "hello sent twice")
				return
			}
			if !c.hello(m) {
				return
			}
			helloDone = true
			c.ws.SetReadLimit(protocol.MaxFrameBytes)
			_ = c.extendRead(c.h.opts.PongWait)
		case *protocol.Push:
			if !helloDone {
				c.fail(protocol.CodeBadRequest, "push before hello")
				return
			}
			if !c.bindLate() {
				return
			}
			if !released.IsZero() {
				throttled = max(0, throttled-time.Since(released))
			}
			r := c.limiter.Reserve()
			d := r.Delay()
			if throttled += d; throttled > c.h.opts.MaxRateDelay {
				r.Cancel()
				c.h.opts.Security.Event(secevent.RateLimited, "client", c.addr, "user", c.user, "device", c.client, "limit", "push")
				c.fail(protocol.CodeRateLimited, "too many pushes: slow down and reconnect")
				return
			} else if d > 0 {
				select {
				case <-time.After(d):
				case <-c.quit:
					return
				}
			}
			select {
			case c.pushes <- m:
				released = time.Now()
			case <-c.quit:
				return
			}
		case *protocol.Ping:
			c.enqueueBytes(protocol.MustEncode(&protocol.Pong{Time: m.Time}))
		case *protocol.Pong:
		default:
			c.enqueueBytes(protocol.MustEncode(protocol.Errorf(protocol.CodeBadRequest, fmt.Sprintf("%s is not sent by clients", m.Type()))))
		}
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// hello authenticates the session, subscribes the connection to the user's
// spaces, sends Welcome and starts catching up. It reports whether the
// connection may continue.
func (c *conn) hello(m *protocol.Hello) bool {
	if m.Protocol != protocol.Version {
		c.fail(protocol.CodeUpgradeRequired, fmt.Sprintf("protocol version %d is not spoken here (server speaks %d): upgrade required", m.Protocol, protocol.Version))
		return false
	}
	if m.Client == uuid.Nil {
		c.fail(protocol.CodeBadRequest, "hello without a client id")
		return false
	}
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	defer cancel()
	st := c.h.opts.Store
	hash := server.HashToken(m.Token)
	sess, err := st.Session(ctx, hash)
	if err != nil {
		if errors.Is(err, server.ErrNotFound) {
			c.fail(protocol.CodeUnauthorized, "not signed in, or the session has ended: sign in again")
		} else {
			c.internal("session lookup", err)
		}
		return false
	}
	// Only a session or user that is not there means signing in again:
	// clients stop syncing for good on unauthorized, so a store that merely
	// failed must answer internal, which they retry.
	user, err := st.User(ctx, sess.User)
	if err == nil && user.Disabled {
		err = server.ErrNotFound // its sessions were deleted; a late hello is refused alike
	}
	if err != nil {
		if errors.Is(err, server.ErrNotFound) {
			c.fail(protocol.CodeUnauthorized, "not signed in, or the session has ended: sign in again")
		} else {
			c.internal("user", err)
		}
		return false
	}
	// Checked again, for good, when the connection is registered; this
	// early look spares a socket over its caps the device binding and
	// the reads below.
	if why := c.h.overCap(sess.User, hash); why != "" {
		c.refuseCap(why, sess.User)
		return false
	}
	switch err := st.BindDevice(ctx, m.Client, sess, c.h.opts.MaxDevicesPerUser); {
	case errors.Is(err, server.ErrUnavailable):
		// A new device on a full disk still reads; its first push binds
		// it, or is refused like any write while the disk is full.
		c.unbound = sess
	case err != nil:
		c.bindRefused(err, sess.User, m.Client)
		return false
	}
	members, err := st.Memberships(ctx, sess.User)
	if err != nil {
		c.internal("memberships", err)
		return false
	}
	cursors := map[uuid.UUID]uint64{}
	for _, cu := range m.Cursors {
		cursors[cu.Space] = cu.Seq
	}
	subs := make(map[uuid.UUID]*sub, len(members))
	// A school's staff sit in every student's plan: read each person once
	// per hello, not once per plan.
	users := map[uuid.UUID]*server.User{user.ID: user}
	welcome := &protocol.Welcome{User: user.ID, Name: user.Name, ServerTime: c.h.opts.Now().UnixMilli(), Heartbeat: c.h.opts.Heartbeat.Milliseconds()}
	if inc, ok := st.(interface {
		Incarnation(context.Context) (uuid.UUID, error)
	}); ok { // store.Store; a store without one sends none ("unknown")
		welcome.Incarnation, err = inc.Incarnation(ctx)
		switch {
		case errors.Is(err, server.ErrUnavailable):
			// Only a database that has none yet writes one: a first
			// start on a full disk. The client retries unavailable.
			c.fail(protocol.CodeUnavailable, "the server cannot save changes right now; try again later")
			return false
		case err != nil:
			c.internal("incarnation", err)
			return false
		}
	}
	for _, mem := range members {
		sp, err := st.Space(ctx, mem.Space)
		if err != nil {
			c.internal("space", err)
			return false
		}
		head, err := st.Head(ctx, sp.ID)
		if err != nil {
			c.internal("head", err)
			return false
		}
		cur := cursors[sp.ID]
		if cur > head {
			cur = 0 // the client has changes this server never had (a restore): start over
		}
		subs[sp.ID] = &sub{space: sp, role: mem.Role, sent: cur}
		info := protocol.SpaceInfo{ID: sp.ID, Name: sp.Name, Kind: string(sp.Kind), Role: string(mem.Role), Head: head}
		if sp.Kind == server.KindStudent {
			if info.Members, err = memberInfo(ctx, st, sp.ID, users); err != nil {
				c.internal("members", err)
				return false
			}
		}
		welcome.Spaces = append(welcome.Spaces, info)
	}
	c.user, c.client, c.session, c.subs = user.ID, m.Client, hash, subs
	c.log = c.log.With("user", user.ID, "client", m.Client)
	c.hook("hello")
	switch why := c.h.subscribe(c, sess.Expires); why {
	case "":
	case "gone":
		return false
	case "expired":
		c.fail(protocol.CodeUnauthorized, "not signed in, or the session has ended: sign in again")
		return false
	default:
		c.refuseCap(why, user.ID)
		return false
	}
	// A session revoked since it was read above had no socket here for
	// CloseSession to close: look again, now that it would find this one
	// (revocation deletes the session, then closes its sockets). Likewise
	// memberships changed since they were read had no socket here for
	// Revalidate to close.
	if _, err := st.Session(ctx, hash); err != nil {
		if errors.Is(err, server.ErrNotFound) {
			c.fail(protocol.CodeUnauthorized, "not signed in, or the session has ended: sign in again")
		} else {
			c.internal("session lookup", err)
		}
		return false
	}
	again, err := st.Memberships(ctx, sess.User)
	if err != nil {
		c.internal("memberships", err)
		return false
	}
	if !sameMemberships(members, again) {
		c.fail(protocol.CodeAccessChanged, "your spaces or roles changed: reconnect to see them")
		return false
	}
	c.hook("welcome")
	if !c.enqueueBytes(protocol.MustEncode(welcome)) {
		return false
	}
	// After the Welcome is queued: the last-seen mark may write (and
	// fsync), and the client need not wait for it.
	if c.h.opts.Seen != nil {
		c.h.opts.Seen(sess)
	}
	c.mu.Lock()
	c.welcomed = true
	for _, s := range subs {
		s.dirty = true
	}
	c.mu.Unlock()
	c.poke()
	return true
}

// sameMemberships reports whether two reads of a user's memberships give
// the same spaces and roles.
func sameMemberships(a, b []server.Member) bool {
	if len(a) != len(b) {
		return false
	}
	roles := make(map[uuid.UUID]server.Role, len(a))
	for _, m := range a {
		roles[m.Space] = m.Role
	}
	for _, m := range b {
		if r, ok := roles[m.Space]; !ok || r != m.Role {
			return false
		}
	}
	return true
}

// bindLate binds the device of a connection that said hello while the
// store could not write (a full disk), before its first push: no op is
// committed under a device id that is not bound to its session. It
// reports whether the connection may go on.
func (c *conn) bindLate() bool {
	if c.unbound == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	defer cancel()
	switch err := c.h.opts.Store.BindDevice(ctx, c.client, c.unbound, c.h.opts.MaxDevicesPerUser); {
	case err == nil:
		c.unbound = nil
		return true
	case errors.Is(err, server.ErrUnavailable):
		c.fail(protocol.CodeUnavailable, "the server cannot save changes right now; they stay on your device and will be sent again")
	default:
		c.bindRefused(err, c.user, c.client)
	}
	return false
}

// bindRefused ends a connection whose device id the store would not bind
// (at hello, or late, at the first push after a full disk).
func (c *conn) bindRefused(err error, user, device uuid.UUID) {
	switch {
	case errors.Is(err, server.ErrDeviceTaken):
		c.h.opts.Security.Event(secevent.DeviceRefused, "user", user, "device", device, "code", protocol.CodeDeviceTaken)
		c.fail(protocol.CodeDeviceTaken, "this device id belongs to another session: pick a new one")
	case errors.Is(err, server.ErrDeviceLimit):
		c.h.opts.Security.Event(secevent.DeviceRefused, "user", user, "device", device, "code", protocol.CodeDeviceLimit)
		c.fail(protocol.CodeDeviceLimit, fmt.Sprintf("this account holds %d device ids already: sign out on a device you no longer use", c.h.opts.MaxDevicesPerUser))
	default:
		c.internal("device binding", err)
	}
}

// refuseCap ends a connection that met the user or session cap.
func (c *conn) refuseCap(why string, user uuid.UUID) {
	c.h.m.disconnects.WithLabelValues(string(protocol.CodeTooManyConns)).Inc()
	c.h.opts.Security.Event(secevent.ConnectionRefused, "client", c.addr, "user", user, "cap", why)
	c.fail(protocol.CodeTooManyConns, "too many connections "+capWhat[why]+": close some tabs or devices, or try again later")
}

// MaxWelcomeMembers bounds the members named per space in Welcome; a plan
// has a handful (family, teachers, support staff).
const MaxWelcomeMembers = 64

// memberInfo names a space's members for Welcome, reading each user not
// yet in users and adding them there.
func memberInfo(ctx context.Context, st server.Store, space uuid.UUID, users map[uuid.UUID]*server.User) ([]protocol.MemberInfo, error) {
	ms, err := st.Members(ctx, space)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.MemberInfo, 0, min(len(ms), MaxWelcomeMembers))
	for _, m := range ms[:min(len(ms), MaxWelcomeMembers)] {
		u, known := users[m.User]
		if !known {
			var err error
			u, err = st.User(ctx, m.User)
			if err != nil && !errors.Is(err, server.ErrNotFound) {
				return nil, err
			}
			users[m.User] = u // nil for a user that is gone: named nowhere
		}
		if u == nil {
			continue
		}
		out = append(out, protocol.MemberInfo{ID: u.ID, Name: u.Name, Role: string(m.Role)})
	}
	return out, nil
}

func (c *conn) internal(what string, err error) {
	c.log.Error("internal error", "during", what, "err", err)
	c.fail(protocol.CodeInternal, "something went wrong on the server; try again later")
}

func (c *conn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// offer is called by fan-out with a committed change (from, to] of s's
// space, encoded as frames. It must not block.
func (c *conn) offer(from, to uint64, s *sub, frames []*frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook("offer")
	switch {
	case s.live && s.sent == from:
		for _, f := range frames {
			if !c.enqueue(f) {
				return
			}
		}
		s.sent = to
		c.flushAcks()
	case to <= s.sent:
	default:
		s.live, s.dirty = false, true
		if c.welcomed {
			c.poke()
		}
	}
}

// flushAcks queues, in order, the acks whose changes have been queued.
// The caller must hold c.mu.
func (c *conn) flushAcks() {
	for len(c.acks) > 0 {
		a := c.acks[0]
		for sp, seq := range a.need {
			if s := c.subs[sp]; s != nil && s.sent < seq {
				return
			}
		}
		c.acks = c.acks[1:]
		if !c.enqueue(a.frame) {
			return
		}
	}
}

func (c *conn) catchUpLoop() {
	defer c.h.wg.Done()
	defer c.recovered("catch-up")
	for {
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			return
		}
		for _, s := range c.subs {
			if err := c.catchUp(s); err != nil {
				if c.ctx.Err() == nil {
					c.internal("catch up", err)
				}
				return
			}
		}
	}
}

// catchUp pages s's space from the store until the client is current, then
// marks it live.
func (c *conn) catchUp(s *sub) error {
	for {
		from, ok := c.startCatchUp(s)
		if !ok {
			return nil
		}
		for {
			ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
			page, err := c.h.opts.Store.Changes(ctx, s.space.ID, from, c.h.opts.PageBytes)
			cancel()
			if err != nil {
				return err
			}
			recs := filter(c.h.opts.Rules, s.role, s.space, page.Records)
			next, more, ok := c.sendPage(s, &page, recs)
			if !ok {
				return nil
			}
			if !more {
				break
			}
			from = next
			if !c.waitForRoom() {
				return nil
			}
		}
	}
}

// startCatchUp claims s's dirty mark; false when s needs no catch-up. Each
// step under c.mu is a function that unlocks in a defer: a panic in the
// middle of one (recovered by catchUpLoop) must not leave c.mu locked, or
// the fan-out goroutine would wait on this connection for good.
func (c *conn) startCatchUp(s *sub) (from uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.live || !s.dirty {
		return 0, false
	}
	s.dirty = false
	return s.sent, true
}

// sendPage queues a page read from the store and, after the last page,
// marks s live. It returns where the next page starts, whether there is
// one, and false when the connection is ending.
func (c *conn) sendPage(s *sub, page *server.Page, recs []*record.Record) (next uint64, more, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook("catch-up")
	if page.To > s.sent {
		f := protocol.MustEncode(&protocol.Changes{Space: s.space.ID, From: s.sent, To: page.To, Records: recs, More: page.More})
		if !c.enqueueBytes(f) {
			return 0, false, false
		}
		s.sent = page.To
		c.flushAcks()
	}
	if !page.More && !s.dirty {
		s.live = true
	}
	return s.sent, page.More, true
}

// catchUpShare is the part of the send queue's bounds that catch-up pages
// may fill. Catch-up produces pages as fast as the store reads them, far
// faster than a phone on 2G takes them; unpaced, a big space would fill
// the whole queue and cut the client off as a slow consumer, again at
// every reconnect. Paced, the queue holds a quarter of its bounds in pages
// and the rest stays free for live changes.
const catchUpShare = 4

// roomForCatchUp reports whether the queue is below catch-up's share.
func (c *conn) roomForCatchUp() bool {
	return c.pendingBytes.Load() <= int64(c.h.opts.MaxPendingBytes/catchUpShare) &&
		len(c.send) <= cap(c.send)/catchUpShare
}

// waitForRoom waits until the writer has drained the queue to catch-up's
// share; false when the connection is ending.
func (c *conn) waitForRoom() bool {
	for !c.roomForCatchUp() {
		select {
		case <-c.drained:
		case <-c.ctx.Done():
			return false
		}
	}
	return c.ctx.Err() == nil
}

// pushLoop commits the connection's pushes in the order they were read,
// handing the store several queued pushes at once so that a client
// streaming an offline backlog shares fsyncs.
func (c *conn) pushLoop() {
	defer c.h.wg.Done()
	defer close(c.pusherDone)
	defer func() {
		// After a panic (recovered below, first), drain so the reader
		// never blocks on a full queue; it stops once the writer, told by
		// fail, closes the socket.
		for range c.pushes {
		}
	}()
	defer c.recovered("pusher")
	for p := range c.pushes {
		batch := []*protocol.Push{p}
		n := len(p.Ops)
	drain:
		for n < c.h.opts.MaxCommitOps {
			select {
			case q, ok := <-c.pushes:
				if !ok {
					break drain
				}
				batch = append(batch, q)
				n += len(q.Ops)
			default:
				break drain
			}
		}
		if !c.commit(batch) {
			return // the deferred drain keeps the reader from blocking
		}
	}
}

// commit checks, commits and acks a run of pushes. It reports false when the
// connection must stop.
func (c *conn) commit(batch []*protocol.Push) bool {
	c.hook("pusher")
	results := make([][]protocol.Result, len(batch))
	var ops []record.Op
	type slot struct{ push, op int }
	var slots []slot
	for i, p := range batch {
		results[i] = make([]protocol.Result, len(p.Ops))
		forbidden := 0
		var space uuid.UUID
		for j := range p.Ops {
			op := &p.Ops[j]
			if perr := c.check(op); perr != nil {
				results[i][j] = protocol.Result{Code: perr.Code, Message: perr.Message}
				c.h.m.ops.WithLabelValues(string(perr.Code)).Inc()
				if perr.Code == protocol.CodeForbidden {
					if forbidden++; forbidden == 1 {
						space = op.Space
					}
				}
				continue
			}
			ops = append(ops, *op)
			slots = append(slots, slot{i, j})
		}
		if forbidden > 0 {
			// One event per push, not per op: a push of 500 forbidden ops
			// is one attempt.
			c.h.opts.Security.Event(secevent.ForbiddenOp, "client", c.addr, "user", c.user, "device", c.client, "space", space, "ops", forbidden)
		}
	}
	if len(ops) > 0 {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		res, err := c.h.opts.Store.Commit(ctx, ops)
		cancel()
		c.h.m.commitSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			if errors.Is(err, server.ErrUnavailable) {
				c.fail(protocol.CodeUnavailable, "the server cannot save changes right now; they stay on your device and will be sent again")
			} else {
				c.internal("commit", err)
			}
			return false
		}
		for k, r := range res {
			s := slots[k]
			switch code, msg := refusal(r.Err); {
			case code != "":
				results[s.push][s.op] = protocol.Result{Code: code, Message: msg, Clock: r.Clock}
				c.h.m.ops.WithLabelValues(string(code)).Inc()
			case r.Err != nil:
				results[s.push][s.op] = protocol.Result{Code: protocol.CodeInternal, Message: "not saved"}
				c.log.Error("op refused by store", "err", r.Err)
				c.h.m.ops.WithLabelValues(string(protocol.CodeInternal)).Inc()
			default:
				results[s.push][s.op] = protocol.Result{Seq: r.Seq}
				c.h.m.ops.WithLabelValues("ok").Inc()
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range batch {
		need := map[uuid.UUID]uint64{}
		for j, r := range results[i] {
			if r.Seq > need[p.Ops[j].Space] {
				need[p.Ops[j].Space] = r.Seq
			}
		}
		c.acks = append(c.acks, pendingAck{frame: newFrame(protocol.MustEncode(&protocol.Ack{Batch: p.Batch, Results: results[i]})), need: need})
	}
	c.flushAcks()
	return true
}

// storeRefusals maps the store's per-op refusals to what the author's
// device is told. Each leaves the op in its outbox (the client keeps the
// words; for the clock codes it restamps and sends again).
var storeRefusals = []struct {
	err  error
	code protocol.Code
	msg  string
}{
	{record.ErrTooManyConflicts, protocol.CodeConflictLimit, "this field has too many unresolved versions: resolve them first"},
	{server.ErrClockAhead, protocol.CodeClockAhead, "this device's clock is ahead of the server's: the edit is kept and sent again"},
	{server.ErrClockReused, protocol.CodeClockReused, "another edit already used this device's clock: the edit is kept and sent again"},
	{server.ErrQuotaExceeded, protocol.CodeQuota, "this plan or this account has reached its storage quota: ask the school to raise it; the edit stays on your device"},
	{server.ErrUnreadable, protocol.CodeUnreadable, "this item cannot be read on the server right now: the edit stays on your device"},
	{record.ErrTooManyFields, protocol.CodeTooLarge, "this record has too many fields"},
	{server.ErrRecordTooLarge, protocol.CodeTooLarge, "this record is too large: split the text or remove some of it"},
}

// refusal returns the code and message for a store refusal, "" for none
// (nil, or an error that is ours to log as internal).
func refusal(err error) (protocol.Code, string) {
	if err == nil {
		return "", ""
	}
	for _, r := range storeRefusals {
		if errors.Is(err, r.err) {
			return r.code, r.msg
		}
	}
	return "", ""
}

// check validates and authorizes one op and stamps who made it.
func (c *conn) check(op *record.Op) *protocol.Error {
	if err := op.Validate(); err != nil {
		return protocol.Errorf(protocol.CodeInvalid, err.Error())
	}
	s := c.subs[op.Space]
	if s == nil {
		return protocol.Errorf(protocol.CodeForbidden, "you are not a member of space "+op.Space.String())
	}
	op.Node, op.Author = c.client, c.user
	return c.h.opts.Rules.CheckOp(s.role, s.space, op)
}

func (c *conn) writeLoop() {
	defer c.h.wg.Done()
	defer c.h.remove(c)
	defer c.cancel()
	defer c.closeSend()
	defer c.ws.Close()
	ping := time.NewTicker(c.h.opts.PingPeriod)
	defer ping.Stop()
	defer func() {
		// As recovered, and the writer says why itself: no one else will.
		// (c.log is the reader's to replace at hello: not read here.)
		if r := recover(); r != nil {
			c.h.log.Error("panic in a connection's work", "work", "writer", "remote", c.remote, "panic", r, "stack", string(debug.Stack()))
			c.fail(protocol.CodeInternal, "something went wrong on the server; try again later")
			c.closeFailed()
		}
	}()
	for {
		select {
		case b := <-c.send:
			if !c.write(b) {
				c.h.m.disconnects.WithLabelValues(c.endReason("write_failed")).Inc()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.opts.WriteWait)); err != nil {
				c.h.m.disconnects.WithLabelValues(c.endReason("write_failed")).Inc()
				return
			}
		case <-c.quit:
			c.closeFailed()
			return
		case <-c.pusherDone:
			// A reader that stopped on a fatal error called fail before it
			// returned, so quit is closed by now: that close wins.
			select {
			case <-c.quit:
				c.closeFailed()
				return
			default:
			}
			// The reader stopped (client left or server shutting down) and
			// every push read has been committed: send what is queued,
			// acks included, and close.
			for {
				select {
				case b := <-c.send:
					if !c.write(b) {
						c.h.m.disconnects.WithLabelValues(c.endReason("write_failed")).Inc()
						return
					}
					continue
				default:
				}
				break
			}
			c.h.m.disconnects.WithLabelValues("closed").Inc()
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), time.Now().Add(c.h.opts.WriteWait))
			return
		}
	}
}

// closeFailed says why the connection fails, then closes it. Queued frames
// are dropped: the client resumes from its cursor and resends unacked ops.
func (c *conn) closeFailed() {
	c.h.m.disconnects.WithLabelValues(c.failReason).Inc()
	if c.failReason != string(protocol.CodeSlowConsumer) {
		c.log.Info("closing connection", "reason", c.failReason)
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.h.opts.WriteWait))
	_ = c.ws.WriteMessage(websocket.BinaryMessage, c.failFrame)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.failClose, c.failReason), time.Now().Add(c.h.opts.WriteWait))
}

func (c *conn) write(f *frame) bool {
	c.unhold(f)
	b := f.b
	c.hook("writer")
	if c.roomForCatchUp() {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.h.opts.WriteWait))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return false
	}
	c.h.m.framesOut.Inc()
	c.h.m.bytesOut.Add(float64(len(b)))
	return true
}
