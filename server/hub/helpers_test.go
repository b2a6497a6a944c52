package hub_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// waitFor bounds every wait of these tests: a read, a close, a condition.
// It only bounds how long a failing test takes, so it is generous: under
// -race with make test's other packages on two cores, catching up 2,000
// records took more than 10 s (TestAckWaitsForCatchUp, TestCatchUpIsPaced).
const waitFor = 30 * time.Second

// env is one running server (store, hub, HTTP) on 127.0.0.1:0 over a badger
// store in a temp dir.
type env struct {
	t      testing.TB
	ctx    context.Context
	cfg    app.Config
	a      *app.App
	closed bool
}

// newEnv starts a server with the hub options given (zero fields take the
// defaults) and closes it at cleanup.
func newEnv(t testing.TB, opts hub.Options, mods ...func(*app.Config)) *env {
	t.Helper()
	cfg := app.Config{
		Addr:    "127.0.0.1:0",
		DataDir: t.TempDir(),
		Logger:  slog.New(slog.DiscardHandler),
		Hub:     opts,
	}
	for _, m := range mods {
		m(&cfg)
	}
	e := &env{t: t, ctx: context.Background(), cfg: cfg}
	e.open()
	t.Cleanup(func() { e.close() })
	return e
}

func (e *env) open() {
	e.t.Helper()
	a, err := app.Open(e.ctx, e.cfg)
	if err != nil {
		e.t.Fatalf("app.Open: %v", err)
	}
	e.a, e.closed = a, false
}

// close shuts the server down, bounded by waitFor; it is safe to call twice.
func (e *env) close() {
	e.t.Helper()
	if e.closed {
		return
	}
	e.closed = true
	ctx, cancel := context.WithTimeout(e.ctx, waitFor)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.a.Close(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			e.t.Errorf("app.Close: %v", err)
		}
	case <-time.After(2 * waitFor):
		e.t.Errorf("app.Close did not return within %v", 2*waitFor)
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	}
}

// user creates a user with a session and returns both.
func (e *env) user(name string) (uuid.UUID, string) {
	e.t.Helper()
	u, err := app.AddUser(e.ctx, e.a.Store, name)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := app.AddSession(e.ctx, e.a.Store, u.ID, "test device")
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID, tok
}

// space creates a space whose members (as teachers) are users.
func (e *env) space(name string, kind server.SpaceKind, users ...uuid.UUID) *server.Space {
	e.t.Helper()
	sp, err := app.AddSpace(e.ctx, e.a.Store, name, kind)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		e.member(sp.ID, u, server.RoleTeacher)
	}
	return sp
}

func (e *env) member(space, user uuid.UUID, role server.Role) {
	e.t.Helper()
	if err := app.AddMember(e.ctx, e.a.Store, space, user, role); err != nil {
		e.t.Fatal(err)
	}
}

// head returns the space's latest sequence number from the store.
func (e *env) head(space uuid.UUID) uint64 {
	e.t.Helper()
	h, err := e.a.Store.Head(e.ctx, space)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// record reads a record straight from the store; nil when it does not exist.
func (e *env) record(k record.Key) *record.Record {
	e.t.Helper()
	r, err := e.a.Store.Record(e.ctx, k)
	if errors.Is(err, server.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// commit writes ops to the store directly, as a seed that is not under test.
func (e *env) commit(ops ...record.Op) []server.OpResult {
	e.t.Helper()
	for i := range ops {
		ops[i].Node, ops[i].Author = uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	}
	res, err := e.a.Store.Commit(e.ctx, ops)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// waitUntil polls cond until it holds or waitFor passes.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after %v", what, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a raw protocol client over one socket. It checks, for every
// Changes frame it reads, that the frames of a space form a contiguous chain
// starting at the cursor it said hello with.
type client struct {
	t     testing.TB
	name  string
	ws    *websocket.Conn
	id    uuid.UUID // device id, stamped on our ops by the server
	clock *hlc.Clock
	batch uint64

	mu      sync.Mutex                    // guards what follows (read by the test while a reader goroutine runs)
	cursor  map[uuid.UUID]uint64          // To of the last Changes per space
	recs    map[record.Key]*record.Record // newest state received
	got     map[record.Key]int            // how many times each record was received
	pages   []*protocol.Changes           // every Changes read, in order
	seen    map[string]*record.Ref        // versions we wrote, the base of our next write
	welcome *protocol.Welcome
	// sent holds every op pushed, as the server will stamp it, so that
	// records the server credits to us (Changes.Own) can be derived the
	// way a real client does.
	sent map[record.Key]map[hlc.Timestamp]record.Op
}

var dialer = websocket.Dialer{HandshakeTimeout: waitFor}

// dial opens a socket to the sync endpoint; hdr may be nil.
func (e *env) dial(name string, hdr http.Header) *client {
	e.t.Helper()
	return e.dialWith(name, &dialer, hdr)
}

func (e *env) dialWith(name string, d *websocket.Dialer, hdr http.Header) *client {
	e.t.Helper()
	return dialURL(e.t, name, d, e.a.URL(), hdr)
}

// dialURL opens a socket to a sync endpoint at url, which need not be the
// env's (a hub a test built itself); hdr may be nil.
func dialURL(t testing.TB, name string, d *websocket.Dialer, url string, hdr http.Header) *client {
	t.Helper()
	ws, resp, err := d.Dial(url, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: dial: %v (HTTP %d)", name, err, status)
	}
	c := &client{
		t: t, name: name, ws: ws, id: uuid.Must(uuid.NewV7()), clock: hlc.NewClock(nil, 0),
		cursor: map[uuid.UUID]uint64{}, recs: map[record.Key]*record.Record{}, got: map[record.Key]int{},
		seen: map[string]*record.Ref{}, sent: map[record.Key]map[hlc.Timestamp]record.Op{},
	}
	t.Cleanup(func() { _ = ws.Close() })
	return c
}

// connect dials and says hello; it fails the test unless welcomed.
func (e *env) connect(name, token string, cursors ...protocol.Cursor) *client {
	e.t.Helper()
	c := e.dial(name, nil)
	c.hello(token, cursors...)
	return c
}

// hello sends Hello with the cursors and reads Welcome.
func (c *client) hello(token string, cursors ...protocol.Cursor) *protocol.Welcome {
	c.t.Helper()
	c.mu.Lock()
	for _, cu := range cursors {
		c.cursor[cu.Space] = cu.Seq
	}
	c.mu.Unlock()
	c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: token, Cursors: cursors})
	m := c.next()
	w, ok := m.(*protocol.Welcome)
	if !ok {
		c.t.Fatalf("%s: hello answered with %s, want welcome", c.name, describe(m))
	}
	c.mu.Lock()
	c.welcome = w
	c.mu.Unlock()
	return w
}

func (c *client) sendErr(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	return c.sendRawErr(websocket.BinaryMessage, b)
}

func (c *client) sendRawErr(mt int, b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(waitFor))
	return c.ws.WriteMessage(mt, b)
}

func (c *client) send(m protocol.Message) {
	c.t.Helper()
	if err := c.sendErr(m); err != nil {
		c.t.Fatalf("%s: send %s: %v", c.name, m.Type(), err)
	}
}

func (c *client) sendRaw(mt int, b []byte) {
	c.t.Helper()
	if err := c.sendRawErr(mt, b); err != nil {
		c.t.Fatalf("%s: send raw frame: %v", c.name, err)
	}
}

// read reads and decodes one frame within d, tracking Changes.
func (c *client) read(d time.Duration) (protocol.Message, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	mt, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt != websocket.BinaryMessage {
		return nil, fmt.Errorf("server sent a non-binary frame (type %d)", mt)
	}
	m, err := protocol.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("server frame does not decode: %w", err)
	}
	if ch, ok := m.(*protocol.Changes); ok {
		c.track(ch)
	}
	return m, nil
}

// track checks a Changes frame against the chain so far and records it.
func (c *client) track(ch *protocol.Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cursor[ch.Space]; ch.From != cur {
		c.t.Errorf("%s: changes of %s from %d, but the last ended at %d: the chain has a gap or overlap", c.name, ch.Space, ch.From, cur)
	}
	if ch.To < ch.From {
		c.t.Errorf("%s: changes range (%d, %d] runs backwards", c.name, ch.From, ch.To)
	}
	for _, r := range ch.Records {
		if r.Space != ch.Space {
			c.t.Errorf("%s: changes of space %s carry a record of space %s", c.name, ch.Space, r.Space)
		}
		if r.Seq <= ch.From || r.Seq > ch.To {
			c.t.Errorf("%s: record seq %d outside the frame's range (%d, %d]", c.name, r.Seq, ch.From, ch.To)
		}
		c.recs[r.Key()] = r
		c.got[r.Key()]++
	}
	for _, o := range ch.Own {
		if o.Seq <= ch.From || o.Seq > ch.To {
			c.t.Errorf("%s: own op seq %d outside the frame's range (%d, %d]", c.name, o.Seq, ch.From, ch.To)
		}
		key := record.Key{Space: ch.Space, Collection: o.Collection, ID: o.ID}
		op, ok := c.sent[key][o.HLC]
		if !ok {
			c.t.Errorf("%s: the server credits us with an op we never sent (%s on %s)", c.name, o.HLC, o.ID)
			continue
		}
		r, out, err := record.Apply(c.recs[key], &op)
		if err != nil || !out.Changed {
			c.t.Errorf("%s: own op %s on %s does not apply to our copy: %v", c.name, o.HLC, o.ID, err)
			continue
		}
		r.Seq = o.Seq
		c.recs[key] = r
		c.got[key]++
	}
	for _, p := range ch.Patches {
		if p.Seq <= ch.From || p.Seq > ch.To {
			c.t.Errorf("%s: patch seq %d outside the frame's range (%d, %d]", c.name, p.Seq, ch.From, ch.To)
		}
		key := p.Op.Key()
		r, out, err := record.Apply(c.recs[key], &p.Op)
		if err != nil || !out.Changed {
			c.t.Errorf("%s: patch at %d on %s does not apply to our copy: %v", c.name, p.Seq, p.Op.ID, err)
			continue
		}
		r.Seq = p.Seq
		c.recs[key] = r
		c.got[key]++
	}
	c.cursor[ch.Space] = ch.To
	c.pages = append(c.pages, ch)
}

// next reads one message or fails the test.
func (c *client) next() protocol.Message {
	c.t.Helper()
	m, err := c.read(waitFor)
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	return m
}

// until reads until pred holds for a message and returns every message read,
// that one last.
func (c *client) until(what string, pred func(protocol.Message) bool) []protocol.Message {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	var msgs []protocol.Message
	for {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v (read so far: %s)", c.name, what, err, describeAll(msgs))
		}
		msgs = append(msgs, m)
		if pred(m) {
			return msgs
		}
	}
}

// readUntilClosed reads until the connection ends and returns what was read
// and the close code (1006 when the socket closed without a close frame).
// It fails the test if the connection stays open past waitFor.
func (c *client) readUntilClosed() ([]protocol.Message, int) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	var msgs []protocol.Message
	for {
		m, err := c.read(time.Until(deadline))
		if err == nil {
			msgs = append(msgs, m)
			continue
		}
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce):
			return msgs, ce.Code
		case errors.As(err, &ne) && ne.Timeout():
			c.t.Fatalf("%s: connection still open after %v (read: %s)", c.name, waitFor, describeAll(msgs))
		case strings.Contains(err.Error(), "does not decode") || strings.Contains(err.Error(), "non-binary"):
			c.t.Fatalf("%s: %v", c.name, err)
		}
		return msgs, websocket.CloseAbnormalClosure
	}
}

// expectFatal reads until the connection closes and checks that the server
// said why with an Error of code and closed with that code's close status.
func (c *client) expectFatal(code protocol.Code) *protocol.Error {
	c.t.Helper()
	msgs, cc := c.readUntilClosed()
	var found *protocol.Error
	for _, m := range msgs {
		if e, ok := m.(*protocol.Error); ok {
			if e.Code != code {
				c.t.Errorf("%s: got error %q (%s), want %q", c.name, e.Code, e.Message, code)
			}
			found = e
		}
	}
	if found == nil {
		c.t.Errorf("%s: connection closed (%d) without an error frame; read: %s", c.name, cc, describeAll(msgs))
	} else if found.Message == "" {
		c.t.Errorf("%s: error %q has no message", c.name, found.Code)
	}
	if want := protocol.StatusOf(code).Close; cc != want {
		c.t.Errorf("%s: close code %d, want %d (%s)", c.name, cc, want, code)
	}
	return found
}

// ping sends a Ping and reads until its Pong: everything the server queued
// for us before it read the Ping has then been read. It returns what came
// before the Pong.
func (c *client) ping() []protocol.Message {
	c.t.Helper()
	tm := time.Now().UnixNano()
	c.send(&protocol.Ping{Time: tm})
	msgs := c.until("pong", func(m protocol.Message) bool {
		p, ok := m.(*protocol.Pong)
		return ok && p.Time == tm
	})
	return msgs[:len(msgs)-1]
}

// op makes an op creating a new record.
func (c *client) op(space uuid.UUID, coll string, fields map[string]any) record.Op {
	return c.edit(space, coll, uuid.Must(uuid.NewV7()), fields)
}

// edit makes an op writing fields of a record, each based on the version
// this client last wrote there.
func (c *client) edit(space uuid.UUID, coll string, id uuid.UUID, fields map[string]any) record.Op {
	c.mu.Lock()
	defer c.mu.Unlock()
	op := record.Op{Space: space, Collection: coll, ID: id, HLC: c.clock.Now()}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		k := fmt.Sprint(space, coll, id, n)
		op.Writes = append(op.Writes, record.Write{Name: n, Value: fields[n], Base: c.seen[k]})
		c.seen[k] = &record.Ref{HLC: op.HLC, Node: c.id}
	}
	return op
}

// push sends ops as a new batch and returns its number.
func (c *client) push(ops ...record.Op) uint64 {
	c.t.Helper()
	c.batch++
	c.remember(ops...)
	c.send(&protocol.Push{Batch: c.batch, Ops: ops})
	return c.batch
}

// remember keeps ops as the server will stamp them, for Changes.Own.
func (c *client) remember(ops ...record.Op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range ops {
		op.Writes = slices.Clone(op.Writes)
		op.Node = c.id
		if c.welcome != nil {
			op.Author = c.welcome.User
		}
		_ = op.Validate() // normalizes values as the server does; invalid ops are never credited
		if c.sent[op.Key()] == nil {
			c.sent[op.Key()] = map[hlc.Timestamp]record.Op{}
		}
		c.sent[op.Key()][op.HLC] = op
	}
}

// ack reads until the Ack of batch and returns it and what came before.
func (c *client) ack(batch uint64) (*protocol.Ack, []protocol.Message) {
	c.t.Helper()
	msgs := c.until(fmt.Sprintf("ack %d", batch), func(m protocol.Message) bool {
		if e, ok := m.(*protocol.Error); ok {
			c.t.Fatalf("%s: error while waiting for ack %d: %s", c.name, batch, e)
		}
		a, ok := m.(*protocol.Ack)
		return ok && a.Batch == batch
	})
	a := msgs[len(msgs)-1].(*protocol.Ack)
	return a, msgs[:len(msgs)-1]
}

// pushOK pushes ops, waits for the ack and fails the test unless every op
// was committed. It returns the seqs.
func (c *client) pushOK(ops ...record.Op) []uint64 {
	c.t.Helper()
	a, _ := c.ack(c.push(ops...))
	if len(a.Results) != len(ops) {
		c.t.Fatalf("%s: ack of %d ops has %d results", c.name, len(ops), len(a.Results))
	}
	seqs := make([]uint64, len(ops))
	for i, r := range a.Results {
		if r.Code != "" || r.Seq == 0 {
			c.t.Fatalf("%s: op %d not committed: %+v", c.name, i, r)
		}
		seqs[i] = r.Seq
	}
	return seqs
}

// syncTo reads until this client's cursor of space reaches seq.
func (c *client) syncTo(space uuid.UUID, seq uint64) {
	c.t.Helper()
	if c.at(space) >= seq {
		return
	}
	c.until(fmt.Sprintf("space %s at %d", space, seq), func(protocol.Message) bool { return c.at(space) >= seq })
}

func (c *client) at(space uuid.UUID) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursor[space]
}

func (c *client) rec(k record.Key) *record.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recs[k]
}

// checkSync proves that the server still serves well-behaved clients: from
// pushes a new record to space and to receives it live.
func checkSync(t testing.TB, from, to *client, space uuid.UUID) {
	t.Helper()
	op := from.op(space, "notes", map[string]any{"text": "still syncing " + uuid.NewString()})
	seqs := from.pushOK(op)
	to.syncTo(space, seqs[0])
	r := to.rec(op.Key())
	if r == nil || r.Value("text") != op.Writes[0].Value {
		t.Fatalf("%s did not receive %s's change live (got %v)", to.name, from.name, r)
	}
}

func describe(m protocol.Message) string {
	switch m := m.(type) {
	case *protocol.Error:
		return fmt.Sprintf("error %s: %s", m.Code, m.Message)
	case *protocol.Changes:
		return fmt.Sprintf("changes %s (%d,%d] %d records %d own %d patches more=%v", m.Space, m.From, m.To, len(m.Records), len(m.Own), len(m.Patches), m.More)
	case *protocol.Ack:
		return fmt.Sprintf("ack %d %+v", m.Batch, m.Results)
	case nil:
		return "nothing"
	}
	return string(m.Type())
}

func describeAll(ms []protocol.Message) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = describe(m)
	}
	return "[" + strings.Join(s, "; ") + "]"
}

// hlcNow is a clock reading for seeds: now, with a logical counter n.
func hlcNow(n int64) hlc.Timestamp { return hlc.New(time.Now().UnixMilli(), uint16(n)) }
