// Package fakeserver is a test double of the sync server's side of the
// protocol, in process, for the engine's tests while the real server is
// written. It is deliberately small: a log per space, record.Apply as the
// merge, fan-out to every session of a member, Changes before Ack. It
// checks no schema and keeps nothing on disk.
//
// The real end-to-end tests, engines against the real server over real
// WebSockets, live with the server; passing here proves the engine against
// this reading of shared/protocol, not against the server.
package fakeserver

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Limits of the double.
const (
	// PageRecords is the most records in one catch-up page, small so
	// tests page.
	PageRecords = 3
	// sendQueue bounds a session's live frames; past it the session is
	// dropped as a slow consumer, as the real server does.
	sendQueue = 1024
	// connQueue is the frames buffered in each direction of a Conn.
	connQueue = 64
)

// ErrDown is returned by Dial while the server is down.
var ErrDown = errors.New("fakeserver: server down")

// Server is the double. The zero value is not usable; call New.
type Server struct {
	// Heartbeat is sent in Welcome.
	Heartbeat time.Duration
	// Refuse, when set, may refuse an op with a code before it is applied.
	Refuse func(op *record.Op) (protocol.Code, string)

	mu       sync.Mutex
	down     bool
	silent   bool
	tokens   map[string]uuid.UUID
	spaces   map[uuid.UUID]*space
	sessions map[*session]struct{}
	hold     chan struct{} // non-nil: pushes wait until it closes
	pushes   int
	wg       sync.WaitGroup
}

type space struct {
	info    protocol.SpaceInfo
	members map[uuid.UUID]string // user → role
	head    uint64
	records map[record.Key]*record.Record
	log     []logEntry
}

type logEntry struct {
	seq uint64
	op  record.Op
}

// New returns a server with no users or spaces.
func New() *Server {
	return &Server{Heartbeat: 5 * time.Second, tokens: map[string]uuid.UUID{}, spaces: map[uuid.UUID]*space{}, sessions: map[*session]struct{}{}}
}

// AddUser makes token a valid session of a new user and returns the user.
func (s *Server) AddUser(token string) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := uuid.Must(uuid.NewV7())
	s.tokens[token] = u
	return u
}

// AddSpace creates a space with members (user → role; role "viewer" may
// not write).
func (s *Server) AddSpace(name string, members map[uuid.UUID]string) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := uuid.Must(uuid.NewV7())
	s.spaces[id] = &space{info: protocol.SpaceInfo{ID: id, Name: name, Kind: "student"}, members: members, records: map[record.Key]*record.Record{}}
	return id
}

// SetDown makes Dial fail (true) and drops every session.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.DropAll()
	}
}

// SetSilent makes live sessions ignore everything and send nothing, a
// half-open connection as the client sees it.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// HoldPushes makes pushes wait, unanswered, until release is called.
func (s *Server) HoldPushes() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.hold = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				s.hold = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Pushes returns how many Push messages arrived.
func (s *Server) Pushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushes
}

// DropAll closes every session's connection.
func (s *Server) DropAll() {
	s.mu.Lock()
	var all []*session
	for se := range s.sessions {
		all = append(all, se)
	}
	s.mu.Unlock()
	for _, se := range all {
		se.conn.close()
	}
}

// Close drops every session and waits for their goroutines.
func (s *Server) Close() {
	s.SetDown(true)
	s.wg.Wait()
}

// Records returns copies of a space's records.
func (s *Server) Records(sp uuid.UUID) map[record.Key]*record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[record.Key]*record.Record{}
	for k, r := range s.spaces[sp].records {
		out[k] = r.Clone()
	}
	return out
}

// Head returns a space's latest sequence number.
func (s *Server) Head(sp uuid.UUID) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spaces[sp].head
}

// Transport returns a client.Transport dialing this server in process.
func (s *Server) Transport() client.Transport { return transport{s} }

type transport struct{ s *Server }

func (t transport) Dial(ctx context.Context) (client.Conn, error) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, ErrDown
	}
	c := newPipe()
	se := &session{srv: s, conn: c.peer, live: make(chan []byte, sendQueue), catchup: make(chan [][]byte, 1)}
	s.sessions[se] = struct{}{}
	s.wg.Add(2)
	go se.readLoop()
	go se.writeLoop()
	return c, nil
}

// pipe is one end of an in-memory connection: frames in both directions
// over bounded channels, closed once for both ends.
type pipe struct {
	in, out chan []byte
	done    chan struct{}
	once    *sync.Once
	peer    *pipe
}

func newPipe() *pipe {
	a2b, b2a := make(chan []byte, connQueue), make(chan []byte, connQueue)
	done, once := make(chan struct{}), new(sync.Once)
	a := &pipe{in: b2a, out: a2b, done: done, once: once}
	b := &pipe{in: a2b, out: b2a, done: done, once: once, peer: a}
	a.peer = b
	return a
}

var errClosed = errors.New("fakeserver: connection closed")

func (p *pipe) ReadMessage(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.in:
		return b, nil
	case <-p.done:
		// Frames sent before the close are still delivered, as TCP
		// delivers what was written before a FIN: an error reply must not
		// lose the race with the close that follows it.
		select {
		case b := <-p.in:
			return b, nil
		default:
		}
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipe) WriteMessage(ctx context.Context, b []byte) error {
	select {
	case <-p.done:
		return errClosed
	default:
	}
	select {
	case p.out <- b:
		return nil
	case <-p.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipe) Close() error { p.close(); return nil }

func (p *pipe) close() { p.once.Do(func() { close(p.done) }) }

// session is the server side of one connection: a reader that handles
// hello, push and ping, and a writer that sends the catch-up pages, then
// live frames.
type session struct {
	srv     *Server
	conn    *pipe
	user    uuid.UUID
	device  uuid.UUID
	catchup chan [][]byte // the welcome and catch-up frames, once
	live    chan []byte
}

func (se *session) member(sp *space) bool { _, ok := sp.members[se.user]; return ok }

func (se *session) readLoop() {
	defer se.srv.wg.Done()
	defer func() {
		se.srv.mu.Lock()
		delete(se.srv.sessions, se)
		se.srv.mu.Unlock()
		se.conn.close()
	}()
	ctx := context.Background()
	b, err := se.conn.ReadMessage(ctx)
	if err != nil {
		se.catchup <- nil
		return
	}
	m, err := protocol.Decode(b)
	hello, ok := m.(*protocol.Hello)
	if err != nil || !ok {
		se.catchup <- [][]byte{protocol.MustEncode(protocol.Errorf(protocol.CodeBadRequest, "hello first"))}
		return
	}
	if !se.welcome(hello) {
		<-se.conn.done // the writer closes once the error reply is out
		return
	}
	for {
		b, err := se.conn.ReadMessage(ctx)
		if err != nil {
			return
		}
		se.srv.mu.Lock()
		silent := se.srv.silent
		se.srv.mu.Unlock()
		if silent {
			continue
		}
		m, err := protocol.Decode(b)
		if err != nil {
			se.send(protocol.MustEncode(err.(*protocol.Error)))
			return
		}
		switch m := m.(type) {
		case *protocol.Ping:
			se.send(protocol.MustEncode(&protocol.Pong{Time: m.Time}))
		case *protocol.Push:
			se.push(m)
		default:
			se.send(protocol.MustEncode(protocol.Errorf(protocol.CodeBadRequest, "unexpected "+string(m.Type()))))
			return
		}
	}
}

// welcome answers a Hello with Welcome and the catch-up pages, computed
// and registered for live changes in one critical section, so no change
// falls between them.
func (se *session) welcome(h *protocol.Hello) bool {
	s := se.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.Protocol != protocol.Version {
		se.catchup <- [][]byte{protocol.MustEncode(protocol.Errorf(protocol.CodeUpgradeRequired, "reload"))}
		return false
	}
	user, ok := s.tokens[h.Token]
	if !ok {
		se.catchup <- [][]byte{protocol.MustEncode(protocol.Errorf(protocol.CodeUnauthorized, "sign in"))}
		return false
	}
	se.user, se.device = user, h.Client
	w := &protocol.Welcome{User: user, ServerTime: time.Now().UnixMilli(), Heartbeat: s.Heartbeat.Milliseconds()}
	var ids []uuid.UUID
	for id, sp := range s.spaces {
		if se.member(sp) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	frames := [][]byte{nil}
	for _, id := range ids {
		sp := s.spaces[id]
		info := sp.info
		info.Role = sp.members[user]
		info.Head = sp.head
		w.Spaces = append(w.Spaces, info)
		var from uint64
		for _, c := range h.Cursors {
			if c.Space == id {
				from = c.Seq
			}
		}
		// Newest state of each record changed after the cursor.
		seen := map[record.Key]bool{}
		var recs []*record.Record
		for i := len(sp.log) - 1; i >= 0 && sp.log[i].seq > from; i-- {
			k := sp.log[i].op.Key()
			if !seen[k] {
				seen[k] = true
				recs = append(recs, sp.records[k].Clone())
			}
		}
		slices.SortFunc(recs, func(a, b *record.Record) int { return int(a.Seq) - int(b.Seq) })
		if len(recs) == 0 && from < sp.head {
			frames = append(frames, protocol.MustEncode(&protocol.Changes{Space: id, From: from, To: sp.head}))
		}
		for len(recs) > 0 {
			n := min(PageRecords, len(recs))
			page := &protocol.Changes{Space: id, From: from, To: recs[n-1].Seq, Records: recs[:n], More: n < len(recs)}
			if !page.More {
				page.To = sp.head
			}
			frames = append(frames, protocol.MustEncode(page))
			from, recs = page.To, recs[n:]
		}
	}
	frames[0] = protocol.MustEncode(w)
	se.catchup <- frames
	return true
}

// push applies each op under the server lock, fans out its change, then
// acks: Changes before Ack on the same connection.
func (se *session) push(p *protocol.Push) {
	s := se.srv
	s.mu.Lock()
	s.pushes++
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-se.conn.done:
			return
		}
	}
	ack := &protocol.Ack{Batch: p.Batch, Results: make([]protocol.Result, len(p.Ops))}
	for i := range p.Ops {
		ack.Results[i] = se.commit(&p.Ops[i])
	}
	se.send(protocol.MustEncode(ack))
}

func (se *session) commit(op *record.Op) protocol.Result {
	s := se.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	op.Node, op.Author = se.device, se.user
	if err := op.Validate(); err != nil {
		return protocol.Result{Code: protocol.CodeInvalid, Message: err.Error()}
	}
	sp := s.spaces[op.Space]
	if sp == nil || !se.member(sp) || sp.members[se.user] == "viewer" {
		return protocol.Result{Code: protocol.CodeForbidden, Message: "may not write here"}
	}
	if s.Refuse != nil {
		if code, msg := s.Refuse(op); code != "" {
			return protocol.Result{Code: code, Message: msg}
		}
	}
	cur := sp.records[op.Key()]
	next, out, err := record.Apply(cur, op)
	if errors.Is(err, record.ErrTooManyConflicts) {
		return protocol.Result{Code: protocol.CodeConflictLimit, Message: err.Error()}
	} else if err != nil {
		return protocol.Result{Code: protocol.CodeInvalid, Message: err.Error()}
	}
	if !out.Changed {
		return protocol.Result{Seq: cur.Seq}
	}
	sp.head++
	next.Seq = sp.head
	sp.records[op.Key()] = next
	sp.log = append(sp.log, logEntry{seq: sp.head, op: *op})
	frame := protocol.MustEncode(&protocol.Changes{Space: op.Space, From: sp.head - 1, To: sp.head, Records: []*record.Record{next}})
	for other := range s.sessions {
		if other.user != uuid.Nil && other.member(sp) {
			other.send(frame)
		}
	}
	return protocol.Result{Seq: sp.head}
}

// send queues a live frame; a full queue drops the session (slow consumer).
func (se *session) send(b []byte) {
	select {
	case se.live <- b:
	default:
		se.conn.close()
	}
}

func (se *session) writeLoop() {
	defer se.srv.wg.Done()
	ctx := context.Background()
	var frames [][]byte
	select {
	case frames = <-se.catchup:
	case <-se.conn.done:
		return
	}
	for _, b := range frames {
		if se.conn.WriteMessage(ctx, b) != nil {
			return
		}
	}
	if len(frames) == 1 && se.user == uuid.Nil {
		se.conn.close() // an error reply: the server closes after it
		return
	}
	for {
		select {
		case b := <-se.live:
			se.srv.mu.Lock()
			silent := se.srv.silent
			se.srv.mu.Unlock()
			if silent {
				continue
			}
			if se.conn.WriteMessage(ctx, b) != nil {
				return
			}
		case <-se.conn.done:
			return
		}
	}
}
