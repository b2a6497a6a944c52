// Package apitest runs a real Plansync server (app.Open on 127.0.0.1:0,
// badger in a temp dir) with a school, its staff, two students and a family
// member, and talks to it over real HTTP and real WebSockets, for the tests
// of the API and of the role rules.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Password is every test account's password.
const Password = "correct horse battery"

// FastParams make argon2id cheap in tests; production uses DefaultParams.
var FastParams = auth.Params{Memory: 64, Iterations: 1, Threads: 1}

// Clock is a settable clock for invites and rate limits.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// User is a signed-in test user.
type User struct {
	ID    uuid.UUID
	Name  string
	Login string
	Token string
}

// Env is a running server with its people.
type Env struct {
	T     testing.TB
	App   *app.App
	Clock *Clock
	Base  string // http://host:port

	School, Ana, Sam                *server.Space
	Admin, Teacher, Support, Family User
	OtherTeacher                    User // a teacher of the school, not of Ana
}

// Start runs a server and sets up the school through the API: the admin
// (as plansync init makes them), a teacher and a support worker of Ana,
// another teacher, Ana and Sam, and Ana's mother who joined by invite.
// configure, when set, changes the config before the server opens.
func Start(t testing.TB, configure func(*app.Config)) *Env {
	t.Helper()
	clk := &Clock{t: time.Now().UTC()}
	cfg := app.Config{
		Addr:    "127.0.0.1:0",
		DataDir: t.TempDir(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth:    auth.Options{Now: clk.Now, Params: FastParams},
	}
	cfg.Store.FreeSpace = func() (uint64, error) { return 1 << 40, nil }
	if configure != nil {
		configure(&cfg)
	}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	e := &Env{T: t, App: a, Clock: clk, Base: "http://" + a.Addr()}
	ctx := context.Background()
	school, admin, err := a.Auth.InitSchool(ctx, "Maple Elementary", "Ms. Park", "park", Password)
	if err != nil {
		t.Fatal(err)
	}
	e.School = school
	e.Admin = e.Login("park", Password)
	e.Admin.ID = admin.ID
	e.Teacher = e.Staff("Ms. Lee", "lee", server.RoleTeacher)
	e.OtherTeacher = e.Staff("Mr. Kim", "kim", server.RoleTeacher)
	e.Support = e.Staff("Ms. Ortiz", "ortiz", server.RoleSupport)
	e.Ana = e.Student("Ana García")
	e.Sam = e.Student("Sam Okafor")
	e.AddMember(e.Ana.ID, e.Teacher.ID, server.RoleTeacher)
	e.AddMember(e.Ana.ID, e.Support.ID, server.RoleSupport)
	e.AddMember(e.Sam.ID, e.OtherTeacher.ID, server.RoleTeacher)
	code := e.Invite(e.Teacher, e.Ana.ID)
	var res api.LoginResponse
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Rosa García", Device: "phone"}, &res); st != 200 {
		t.Fatalf("claim: status %d", st)
	}
	e.Family = User{ID: res.User.ID, Name: res.User.Name, Token: res.Token}
	return e
}

// Do sends a JSON request and decodes the JSON answer into out (when not
// nil), returning the status.
func (e *Env) Do(method, path, token string, body, out any) int {
	e.T.Helper()
	return e.DoFrom("", method, path, token, body, out)
}

// DoFrom is Do as a client at addr behind a proxy: it sends addr in
// X-Forwarded-For, which the server believes only when 127.0.0.1 is among
// its trusted proxies. An empty addr sends no header.
func (e *Env) DoFrom(addr, method, path, token string, body, out any) int {
	e.T.Helper()
	st, _ := e.DoHeader(addr, method, path, token, body, out)
	return st
}

// DoHeader is DoFrom that also returns the answer's headers.
func (e *Env) DoHeader(addr, method, path, token string, body, out any) (int, http.Header) {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.Base+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.T.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, resp.Header
}

// ErrorOf is the decoded error body of a failed request.
type ErrorOf struct {
	Error api.ErrorJSON `json:"error"`
}

// Login signs in over the API.
func (e *Env) Login(login, password string) User {
	e.T.Helper()
	var res api.LoginResponse
	if st := e.Do("POST", "/api/login", "", api.LoginRequest{Login: login, Password: password, Device: "test"}, &res); st != 200 {
		e.T.Fatalf("login %s: status %d", login, st)
	}
	return User{ID: res.User.ID, Name: res.User.Name, Login: res.User.Login, Token: res.Token}
}

// Staff creates a staff account as the admin and signs it in.
func (e *Env) Staff(name, login string, role server.Role) User {
	e.T.Helper()
	var u api.UserJSON
	if st := e.Do("POST", "/api/staff", e.Admin.Token, api.StaffRequest{Name: name, Login: login, Password: Password, Role: role}, &u); st != 201 {
		e.T.Fatalf("staff %s: status %d", login, st)
	}
	return e.Login(login, Password)
}

// Student creates a student space as the admin.
func (e *Env) Student(name string) *server.Space {
	e.T.Helper()
	var sp api.SpaceJSON
	if st := e.Do("POST", "/api/students", e.Admin.Token, api.StudentRequest{Name: name}, &sp); st != 201 {
		e.T.Fatalf("student %s: status %d", name, st)
	}
	return &server.Space{ID: sp.ID, Name: sp.Name, Kind: sp.Kind}
}

// AddMember adds staff to a student space as the admin.
func (e *Env) AddMember(space, user uuid.UUID, role server.Role) {
	e.T.Helper()
	if st := e.Do("POST", "/api/spaces/"+space.String()+"/members", e.Admin.Token, api.MemberRequest{User: user, Role: role}, nil); st != 204 {
		e.T.Fatalf("member: status %d", st)
	}
}

// Invite makes a family invite as u and returns its code.
func (e *Env) Invite(u User, space uuid.UUID) string {
	e.T.Helper()
	var res api.InviteResponse
	if st := e.Do("POST", "/api/invites", u.Token, api.InviteRequest{Space: space}, &res); st != 201 {
		e.T.Fatalf("invite: status %d", st)
	}
	return res.Code
}

// Sock is a sync connection.
type Sock struct {
	t       testing.TB
	ws      *websocket.Conn
	Welcome *protocol.Welcome
	node    uuid.UUID
	clock   *hlc.Clock
	batch   uint64

	mu      sync.Mutex
	records map[record.Key]*record.Record
	sent    map[hlc.Timestamp]record.Op // our pushed ops, for Changes.Own
	acks    map[uint64]*protocol.Ack
	errs    []*protocol.Error
	closed  chan struct{}
	changed chan struct{}
}

// Dial opens a sync connection with token and waits for Welcome (or the
// error that refused it, returned with a nil Sock).
func (e *Env) Dial(token string) (*Sock, *protocol.Error) {
	e.T.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+e.App.Addr()+"/sync", nil)
	if err != nil {
		e.T.Fatal(err)
	}
	s := &Sock{t: e.T, ws: ws, node: uuid.Must(uuid.NewV7()), clock: hlc.NewClock(nil, 0),
		records: map[record.Key]*record.Record{}, acks: map[uint64]*protocol.Ack{},
		closed: make(chan struct{}), changed: make(chan struct{}, 1)}
	e.T.Cleanup(func() { _ = ws.Close() })
	s.send(&protocol.Hello{Protocol: protocol.Version, Client: s.node, Token: token})
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		e.T.Fatal(err)
	}
	m, err := protocol.Decode(b)
	if err != nil {
		e.T.Fatal(err)
	}
	switch m := m.(type) {
	case *protocol.Welcome:
		s.Welcome = m
	case *protocol.Error:
		_ = ws.Close()
		return nil, m
	default:
		e.T.Fatalf("got %s before welcome", m.Type())
	}
	_ = ws.SetReadDeadline(time.Time{})
	go s.read()
	return s, nil
}

// MustDial is Dial that fails the test when refused.
func (e *Env) MustDial(token string) *Sock {
	e.T.Helper()
	s, perr := e.Dial(token)
	if perr != nil {
		e.T.Fatalf("dial refused: %v", perr)
	}
	return s
}

func (s *Sock) send(m protocol.Message) {
	if err := s.ws.WriteMessage(websocket.BinaryMessage, protocol.MustEncode(m)); err != nil {
		s.t.Errorf("send %s: %v", m.Type(), err)
	}
}

func (s *Sock) read() {
	defer close(s.closed)
	for {
		_, b, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := protocol.Decode(b)
		if err != nil {
			continue
		}
		s.mu.Lock()
		switch m := m.(type) {
		case *protocol.Changes:
			for _, r := range m.Records {
				s.records[r.Key()] = r
			}
			// Ops the server sends instead of records, as a client applies them.
			for _, o := range m.Own {
				if op, ok := s.sent[o.HLC]; ok {
					s.apply(&op, o.Seq)
				}
			}
			for i := range m.Patches {
				s.apply(&m.Patches[i].Op, m.Patches[i].Seq)
			}
		case *protocol.Ack:
			s.acks[m.Batch] = m
		case *protocol.Error:
			s.errs = append(s.errs, m)
		}
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// apply lays a committed op on our copy of its record. The caller holds
// s.mu.
func (s *Sock) apply(op *record.Op, seq uint64) {
	if r, out, err := record.Apply(s.records[op.Key()], op); err == nil && out.Changed {
		r.Seq = seq
		s.records[op.Key()] = r
	}
}

// Wait polls cond (under the Sock's lock) until it holds or d passes.
func (s *Sock) Wait(d time.Duration, cond func() bool) bool {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-s.changed:
		case <-deadline:
			return false
		case <-s.closed:
			s.mu.Lock()
			ok := cond()
			s.mu.Unlock()
			return ok
		}
	}
}

// Closed is closed when the server has closed the connection.
func (s *Sock) Closed() <-chan struct{} { return s.closed }

// Errors returns the error frames received.
func (s *Sock) Errors() []*protocol.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*protocol.Error(nil), s.errs...)
}

// Record returns the record as this connection has been sent it, or nil.
func (s *Sock) Record(k record.Key) *record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[k]
}

// HasRecord waits up to d for a record to arrive.
func (s *Sock) HasRecord(k record.Key, d time.Duration) bool {
	return s.Wait(d, func() bool { return s.records[k] != nil })
}

// Op builds an op of this device writing fields (blind writes: no base).
func (s *Sock) Op(space uuid.UUID, collection string, id uuid.UUID, fields map[string]any) record.Op {
	op := record.Op{Space: space, Collection: collection, ID: id, HLC: s.clock.Now()}
	for k, v := range fields {
		op.Writes = append(op.Writes, record.Write{Name: k, Value: v})
	}
	return op
}

// Push sends ops and waits for their ack.
func (s *Sock) Push(ops ...record.Op) *protocol.Ack {
	s.t.Helper()
	s.batch++
	b := s.batch
	s.mu.Lock()
	if s.sent == nil {
		s.sent = map[hlc.Timestamp]record.Op{}
	}
	for _, op := range ops {
		op.Node = s.node
		if s.Welcome != nil {
			op.Author = s.Welcome.User
		}
		_ = op.Validate() // normalizes values as the server does
		s.sent[op.HLC] = op
	}
	s.mu.Unlock()
	s.send(&protocol.Push{Batch: b, Ops: ops})
	var ack *protocol.Ack
	if !s.Wait(10*time.Second, func() bool { ack = s.acks[b]; return ack != nil }) {
		s.t.Fatalf("no ack for batch %d (errors %v)", b, s.Errors())
	}
	return ack
}

// PushOne pushes one op and returns its result.
func (s *Sock) PushOne(op record.Op) protocol.Result {
	s.t.Helper()
	return s.Push(op).Results[0]
}

// NewID returns a fresh record id.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// Key names a record.
func Key(space uuid.UUID, collection string, id uuid.UUID) record.Key {
	return record.Key{Space: space, Collection: collection, ID: id}
}

// String describes a result for test failures.
func String(r protocol.Result) string {
	return fmt.Sprintf("seq=%d code=%q %s", r.Seq, r.Code, r.Message)
}
