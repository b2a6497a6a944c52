package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Issue 11's attacks against the seeded school, exported so that the
// hostile soak (cmd/hostilesoak) runs the same code as `go test`. Each
// performs an attack as a family member holding only the printed invite
// code would, then checks what a user cares about, and returns an error
// saying what fell.

// Attack sizes.
const (
	// FloodSockets is the figure: just past the ten thousand
	// device ids that overflowed the record's decoder before the bound.
	FloodSockets = 10_001
	// FloodAccounts × hub.DefaultMaxDevicesPerUser device ids write one
	// record from many family accounts: 5 × 64 = 320, past
	// record.MaxRecordClock, so the record's bound is reached by the ops
	// the per-user device limit lets through. Each welcomed device's op is
	// a commit of its own (with its fsync and catch-up): 20 accounts took
	// 50 s one socket at a time; five prove the same.
	FloodAccounts = 5
	// floodTimeout bounds one flood, so a slow machine ends in an error
	// rather than a hang.
	floodTimeout = 3 * time.Minute
	// floodWorkers is how many of the flood's sockets are open at once:
	// a few, so that the flood is quick under -race (one at a time took
	// 44 to 88 s there), far below the hub's per-session and per-user
	// socket caps (hub.DefaultMaxConnsPerSession), which are not what this
	// attack tests.
	floodWorkers = 4
	// hostileWait bounds every read and close the attacks wait for.
	hostileWait = 15 * time.Second
	// farFuture is issue 11's far-future clock: 200 years ahead.
	farFuture = 200 * 365 * 24 * time.Hour
)

// cheapHashing makes the seeded logins' argon2 cheap: the attacks sign
// in, they do not measure hashing.
var cheapHashing = auth.Params{Memory: 64, Iterations: 1, Threads: 1}

// School is the real `plansync serve --seed` world: the demo school with
// its admin and teacher signed in through the HTTP API, the seeded family
// member of the invite's plan (who has no login: a session is started for
// them), and Mallory, who joined that plan with the printed family invite
// code through the API, as an attacker would.
type School struct {
	Dir     string
	App     *app.App
	Admin   string // session tokens
	Teacher string
	Family  string
	Mallory string
	Plan    uuid.UUID  // the invite's student space
	Rec     record.Key // the plan's family record, which all of them may write

	rng     *rand.Rand
	engines []*client.Engine
}

// OpenSchool seeds and starts a school in dir.
func OpenSchool(ctx context.Context, dir string, rng *rand.Rand) (*School, error) {
	s := &School{Dir: dir, rng: rng}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := s.signIn(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *School) signIn(ctx context.Context) error {
	d := s.App.Demo
	var err error
	if s.Admin, err = s.login(ctx, d.AdminLogin, d.Password); err != nil {
		return err
	}
	s.Teacher = d.TeacherToken
	var claimed api.LoginResponse
	if err := s.post(ctx, "/api/invites/claim", api.ClaimRequest{Code: d.InviteCode, Name: "Mallory", Device: "laptop"}, &claimed); err != nil {
		return err
	}
	if claimed.Space == nil || claimed.Token == "" {
		return fmt.Errorf("claim answered %+v", claimed)
	}
	s.Mallory, s.Plan = claimed.Token, claimed.Space.ID
	members, err := s.App.Store.Members(ctx, s.Plan)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.Role == server.RoleFamily && m.User != claimed.User.ID {
			if s.Family, err = s.App.Auth.StartSession(ctx, m.User, "family phone"); err != nil {
				return err
			}
		}
	}
	recs, err := s.App.Store.AllRecords(ctx, s.Plan)
	if err != nil {
		return err
	}
	for k := range recs {
		if k.Collection == "family" {
			s.Rec = k
		}
	}
	if s.Family == "" || s.Rec.ID == uuid.Nil {
		return fmt.Errorf("the seeded plan %s has no family member or no family record", s.Plan)
	}
	return nil
}

func (s *School) start(ctx context.Context) error {
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(s.Dir, "server"), Seed: true,
		Logger: slog.New(slog.DiscardHandler), Auth: auth.Options{Params: cheapHashing}}
	cfg.Store.FreeSpace = func() (uint64, error) { return 1 << 40, nil }
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	s.App = a
	return nil
}

// Close closes the engines and the server.
func (s *School) Close() error {
	for _, e := range s.engines {
		_ = e.Close()
	}
	s.engines = nil
	if s.App == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := s.App.Close(ctx)
	s.App = nil
	return err
}

// Restart stops the server and starts it again on the same data folder.
func (s *School) Restart(ctx context.Context) error {
	if err := s.Close(); err != nil {
		return err
	}
	return s.start(ctx)
}

func (s *School) post(ctx context.Context, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.App.Addr()+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: hostileWait}).Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, rb)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("POST %s: %w in %s", path, err, rb)
	}
	return nil
}

// Login signs in through the HTTP API and returns the session token.
func (s *School) Login(ctx context.Context, login, password string) (string, error) {
	return s.login(ctx, login, password)
}

func (s *School) login(ctx context.Context, login, password string) (string, error) {
	var r api.LoginResponse
	err := s.post(ctx, "/api/login", api.LoginRequest{Login: login, Password: password, Device: "test"}, &r)
	return r.Token, err
}

// Engine opens a real client engine (a fresh device: new id, empty store)
// signed in with token and waits until it has caught up. Close closes it.
func (s *School) Engine(ctx context.Context, name, token string) (*client.Engine, error) {
	e := client.New(client.Options{
		Store:       memstore.New(),
		Transport:   &wsdial.Transport{URL: s.App.URL(), HandshakeTimeout: 3 * time.Second, WriteWait: 3 * time.Second},
		Token:       token,
		BackoffBase: 20 * time.Millisecond,
		BackoffMax:  300 * time.Millisecond,
		DialTimeout: 3 * time.Second,
		Rand:        rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64())),
	})
	ctx, cancel := context.WithTimeout(ctx, converged)
	defer cancel()
	if err := e.Open(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.engines = append(s.engines, e)
	if err := e.WaitSynced(ctx); err != nil {
		return nil, fmt.Errorf("%s: not synced: %w (state %+v, rejections %v)", name, err, e.State(), e.Rejections())
	}
	return e, nil
}

// put writes field of the school's record on e and waits for the ack.
func (s *School) put(ctx context.Context, e *client.Engine, who string, field string, v any) error {
	if err := e.Put(ctx, s.Rec.Space, s.Rec.Collection, s.Rec.ID, map[string]any{field: v}); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	wctx, cancel := context.WithTimeout(ctx, converged)
	defer cancel()
	if err := e.WaitSynced(wctx); err != nil || len(e.Pending()) > 0 || len(e.Rejections()) > 0 {
		return fmt.Errorf("%s's edit %v was not acked: %v (pending %d, rejections %v)", who, v, err, len(e.Pending()), e.Rejections())
	}
	return nil
}

// Record reads the school's record from the store.
func (s *School) Record(ctx context.Context) (*record.Record, error) {
	return s.App.Store.Record(ctx, s.Rec)
}

// StillSyncs is what a user cares about after an attack: the admin, the
// teacher and the family, each on a fresh device, catch up on the whole
// plan, read the record's field as last (the last acked write), write it
// and are acked; a fresh device then reads the last write, the server
// holds it, and the stored record decodes within its bounds. It returns
// the value now last.
func (s *School) StillSyncs(ctx context.Context, field string, last any) (any, error) {
	want, err := s.App.Store.AllRecords(ctx, s.Plan)
	if err != nil {
		return last, fmt.Errorf("the plan's records do not read: %w", err)
	}
	var errs []error
	for i, u := range []struct{ name, token string }{{"admin", s.Admin}, {"teacher", s.Teacher}, {"family", s.Family}} {
		e, err := s.Engine(ctx, u.name, u.token)
		if err != nil {
			return last, err
		}
		for k := range want {
			if e.Get(k) == nil {
				errs = append(errs, fmt.Errorf("%s's fresh device lacks %s/%s of the plan", u.name, k.Collection, k.ID))
			}
		}
		if got := FieldValue(e.Get(s.Rec), field); got != last {
			errs = append(errs, fmt.Errorf("%s's fresh device reads %s=%v, want %v", u.name, field, got, last))
		}
		v := fmt.Sprintf("written by %s after the attack (%d)", u.name, i)
		if err := s.put(ctx, e, u.name, field, v); err != nil {
			return last, errors.Join(append(errs, err)...)
		}
		last = v
		_ = e.Close()
	}
	e, err := s.Engine(ctx, "teacher's new tablet", s.Teacher)
	if err != nil {
		return last, err
	}
	if got := FieldValue(e.Get(s.Rec), field); got != last {
		errs = append(errs, fmt.Errorf("a fresh device reads %s=%v, want the last acked write %v", field, got, last))
	}
	rec, err := s.Record(ctx)
	if err != nil {
		return last, errors.Join(append(errs, fmt.Errorf("the attacked record does not read: %w", err))...)
	}
	if got := FieldValue(rec, field); got != last {
		errs = append(errs, fmt.Errorf("the server holds %s=%v, want %v", field, got, last))
	}
	if len(rec.Clock) > record.MaxRecordClock || len(rec.Fields) > record.MaxRecordFields {
		errs = append(errs, fmt.Errorf("the record holds %d clock entries and %d fields, bounds %d and %d", len(rec.Clock), len(rec.Fields), record.MaxRecordClock, record.MaxRecordFields))
	}
	b, err := record.Marshal(rec)
	if err == nil {
		_, err = record.Unmarshal(b)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("the attacked record does not round-trip: %w", err))
	}
	return last, errors.Join(errs...)
}

// FieldValue is a record's field value, nil when absent.
func FieldValue(r *record.Record, name string) any {
	if r == nil || r.Fields[name] == nil {
		return nil
	}
	return r.Fields[name].Value
}

// HostileSock is an attacker's bare socket: it sends whatever it is told
// and reads acks, errors and the close.
type HostileSock struct {
	ws     *websocket.Conn
	Device uuid.UUID
	Clock  *hlc.Clock
	batch  uint64
}

// Hello dials url as device and says hello with token. It returns the
// welcomed socket, or nil and the error frame and close code the server
// refused it with.
func Hello(ctx context.Context, url, token string, device uuid.UUID) (*HostileSock, *protocol.Error, int, error) {
	ws, _, err := (&websocket.Dialer{HandshakeTimeout: hostileWait}).DialContext(ctx, url, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	h := &HostileSock{ws: ws, Device: device, Clock: hlc.NewClock(nil, 0)}
	if err := h.send(&protocol.Hello{Protocol: protocol.Version, Client: device, Token: token}); err != nil {
		_ = ws.Close()
		return nil, nil, 0, err
	}
	m, err := h.read()
	if err != nil {
		_ = ws.Close()
		return nil, nil, 0, fmt.Errorf("hello: %w", err)
	}
	switch m := m.(type) {
	case *protocol.Welcome:
		return h, nil, 0, nil
	case *protocol.Error:
		cc, err := h.closed()
		_ = ws.Close()
		return nil, m, cc, err
	}
	_ = ws.Close()
	return nil, nil, 0, fmt.Errorf("hello answered with %s", m.Type())
}

func (h *HostileSock) send(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	_ = h.ws.SetWriteDeadline(time.Now().Add(hostileWait))
	return h.ws.WriteMessage(websocket.BinaryMessage, b)
}

func (h *HostileSock) read() (protocol.Message, error) {
	_ = h.ws.SetReadDeadline(time.Now().Add(hostileWait))
	_, b, err := h.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	return protocol.Decode(b)
}

// closed reads until the server closes and returns the close code
// (1006 when it closed without a close frame).
func (h *HostileSock) closed() (int, error) {
	for range 1000 { // a few frames may be on their way
		_, _, err := h.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		var ne interface{ Timeout() bool }
		switch {
		case errors.As(err, &ce):
			return ce.Code, nil
		case errors.As(err, &ne) && ne.Timeout():
			return 0, fmt.Errorf("connection still open %v after a refusal", hostileWait)
		}
		return websocket.CloseAbnormalClosure, nil
	}
	return 0, errors.New("connection still open after a refusal and 1,000 frames")
}

// Push sends ops and returns the ack, skipping the Changes on the way.
func (h *HostileSock) Push(ops ...record.Op) (*protocol.Ack, error) {
	h.batch++
	if err := h.send(&protocol.Push{Batch: h.batch, Ops: ops}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(hostileWait)
	for time.Now().Before(deadline) {
		m, err := h.read()
		if err != nil {
			return nil, fmt.Errorf("waiting for ack %d: %w", h.batch, err)
		}
		switch m := m.(type) {
		case *protocol.Ack:
			if m.Batch == h.batch {
				return m, nil
			}
		case *protocol.Error:
			if m.Batch == 0 {
				return nil, fmt.Errorf("error while waiting for ack: %s", m)
			}
		}
	}
	return nil, fmt.Errorf("no ack of batch %d in %v", h.batch, hostileWait)
}

// Alive proves the connection still works: a ping comes back.
func (h *HostileSock) Alive() error {
	tm := time.Now().UnixNano()
	if err := h.send(&protocol.Ping{Time: tm}); err != nil {
		return err
	}
	deadline := time.Now().Add(hostileWait)
	for time.Now().Before(deadline) {
		m, err := h.read()
		if err != nil {
			return fmt.Errorf("connection lost after a per-op refusal: %w", err)
		}
		if p, ok := m.(*protocol.Pong); ok && p.Time == tm {
			return nil
		}
	}
	return fmt.Errorf("no pong in %v", hostileWait)
}

// Bye closes the socket and waits until the server has closed its side,
// so that a flood holds no more sockets open than it means to.
func (h *HostileSock) Bye() {
	_ = h.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(hostileWait))
	_ = h.ws.SetReadDeadline(time.Now().Add(hostileWait))
	for {
		if _, _, err := h.ws.ReadMessage(); err != nil {
			break
		}
	}
	_ = h.ws.Close()
}

// based is an op writing field of the school's record, based on the
// version the server holds, as a client that caught up would send it.
func (s *School) based(ctx context.Context, field string, v any, at hlc.Timestamp) (record.Op, error) {
	op := record.Op{Space: s.Rec.Space, Collection: s.Rec.Collection, ID: s.Rec.ID, HLC: at,
		Writes: []record.Write{{Name: field, Value: v}}}
	cur, err := s.Record(ctx)
	if err != nil {
		return op, err
	}
	if f := cur.Fields[field]; f != nil {
		ref := f.Ref()
		op.Writes[0].Base = &ref
	}
	return op, nil
}

// Flood is what a device flood did.
type Flood struct {
	Welcomed, Refused, Committed int
	OpRefused                    map[protocol.Code]int
	HelloRefused                 map[protocol.Code]int
	Last                         string // the last value committed
	Took                         time.Duration
}

func (f *Flood) add(o Flood) {
	f.Welcomed += o.Welcomed
	f.Refused += o.Refused
	f.Committed += o.Committed
	f.Last = o.Last
	f.Took += o.Took
	for c, n := range o.OpRefused {
		f.OpRefused[c] += n
	}
	for c, n := range o.HelloRefused {
		f.HelloRefused[c] += n
	}
}

func newFlood() Flood {
	return Flood{OpRefused: map[protocol.Code]int{}, HelloRefused: map[protocol.Code]int{}}
}

// FloodDevices is issue 11's first attack: sockets, each signed in with
// token under a fresh device id, each pushing one op to field of the
// school's record, based on what the server holds. floodWorkers sockets
// are open at a time; the pushes of welcomed devices go one at a time, so
// that each bases on the one before (as devices that caught up would)
// instead of piling up conflicts.
func (s *School) FloodDevices(ctx context.Context, token string, sockets int, field string) (Flood, error) {
	f := newFlood()
	start := time.Now()
	var (
		mu     sync.Mutex // f, next, errs
		pushMu sync.Mutex // one push at a time
		next   int
		errs   []error
		wg     sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= sockets || len(errs) > 0 {
			return 0, false
		}
		if time.Since(start) > floodTimeout {
			errs = append(errs, fmt.Errorf("%d of %d sockets in %v", next, sockets, floodTimeout))
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range floodWorkers {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := s.floodOne(ctx, token, field, i, &f, &mu, &pushMu); err != nil {
					fail(fmt.Errorf("socket %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	f.Took = time.Since(start)
	return f, errors.Join(errs...)
}

// floodOne is one socket of FloodDevices.
func (s *School) floodOne(ctx context.Context, token, field string, i int, f *Flood, mu, pushMu *sync.Mutex) error {
	h, e, cc, err := Hello(ctx, s.App.URL(), token, uuid.Must(uuid.NewV7()))
	if err != nil {
		return err
	}
	if h == nil {
		mu.Lock()
		f.Refused++
		f.HelloRefused[e.Code]++
		mu.Unlock()
		if want := protocol.StatusOf(e.Code).Close; cc != want && cc != websocket.CloseAbnormalClosure {
			return fmt.Errorf("refused with %s but close code %d, want %d", e.Code, cc, want)
		}
		return nil
	}
	defer h.Bye()
	v := fmt.Sprintf("device %d", i)
	pushMu.Lock()
	defer pushMu.Unlock()
	op, err := s.based(ctx, field, v, h.Clock.Now())
	if err != nil {
		return err
	}
	ack, err := h.Push(op)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	f.Welcomed++
	if res := ack.Results[0]; res.Code == "" {
		f.Committed++
		f.Last = v
	} else {
		f.OpRefused[res.Code]++
	}
	return nil
}

// DeviceFlood runs FloodDevices with FloodSockets sockets from Mallory's
// account: every hello past her hub.DefaultMaxDevicesPerUser ids is
// refused with device_limit, every op of a welcomed device commits, and
// the plan then still syncs for everyone (StillSyncs).
func (s *School) DeviceFlood(ctx context.Context, sockets int) (Flood, error) {
	const field = "best_times"
	f, err := s.FloodDevices(ctx, s.Mallory, sockets, field)
	if err != nil {
		return f, err
	}
	var errs []error
	if f.Welcomed+f.Refused != sockets || f.Refused != f.HelloRefused[protocol.CodeDeviceLimit] {
		errs = append(errs, fmt.Errorf("hellos refused %v, want every refusal device_limit", f.HelloRefused))
	}
	if want := min(sockets, hub.DefaultMaxDevicesPerUser); f.Welcomed != want {
		errs = append(errs, fmt.Errorf("%d device ids welcomed for one account, want %d", f.Welcomed, want))
	}
	if f.Committed != f.Welcomed {
		errs = append(errs, fmt.Errorf("%d of %d welcomed devices' ops committed (refused %v)", f.Committed, f.Welcomed, f.OpRefused))
	}
	if _, err := s.StillSyncs(ctx, field, f.Last); err != nil {
		errs = append(errs, err)
	}
	return f, errors.Join(errs...)
}

// ManyAccountsOneRecord floods one record from accounts family accounts,
// each up to its device limit and one past: every op of a welcomed device
// commits (the record's clock is compacted, never refused: the op index,
// not the clock, says what was applied), the clock holds exactly
// record.MaxRecordClock entries, and the plan syncs for everyone.
func (s *School) ManyAccountsOneRecord(ctx context.Context, accounts int) (Flood, error) {
	const field = "barriers_detail"
	per := hub.DefaultMaxDevicesPerUser
	total := newFlood()
	for i := range accounts {
		u, err := app.AddUser(ctx, s.App.Store, fmt.Sprintf("family %d", i))
		if err == nil {
			err = s.App.Store.PutMember(ctx, server.Member{Space: s.Plan, User: u.ID, Role: server.RoleFamily})
		}
		var tok string
		if err == nil {
			tok, err = s.App.Auth.StartSession(ctx, u.ID, "flood")
		}
		if err != nil {
			return total, err
		}
		f, err := s.FloodDevices(ctx, tok, per+1, field)
		total.add(f)
		if err != nil {
			return total, fmt.Errorf("family %d: %w", i, err)
		}
	}
	var errs []error
	if total.Welcomed != accounts*per || total.HelloRefused[protocol.CodeDeviceLimit] != accounts {
		errs = append(errs, fmt.Errorf("%d welcomed, hellos refused %v: want %d welcomed and one device_limit per account", total.Welcomed, total.HelloRefused, accounts*per))
	}
	if total.Committed != total.Welcomed {
		errs = append(errs, fmt.Errorf("%d of %d ops committed, refused %v", total.Committed, total.Welcomed, total.OpRefused))
	}
	rec, err := s.Record(ctx)
	if err != nil {
		return total, errors.Join(append(errs, err)...)
	}
	if want := min(total.Welcomed+1, record.MaxRecordClock); len(rec.Clock) != want {
		errs = append(errs, fmt.Errorf("after %d devices the record's clock holds %d entries, want %d", total.Welcomed, len(rec.Clock), want))
	}
	if _, err := s.StillSyncs(ctx, field, total.Last); err != nil {
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// SpoofAndFarFuture is issue 11's second attack: Mallory says hello with
// the teacher's device id (device_taken, and so does a second session of
// the teacher's own account, as a copied browser profile would) and pushes
// an op stamped 200 years ahead (clock_ahead, not stored). Then the
// teacher's later acked edit, the one the attack once made the server ack
// and drop, is what a fresh device reads. An op just within the allowed
// drift is accepted, and the teacher's edit after it still wins.
func (s *School) SpoofAndFarFuture(ctx context.Context) error {
	const field = "best_times"
	teacher, err := s.Engine(ctx, "teacher", s.Teacher)
	if err != nil {
		return err
	}
	if err := s.put(ctx, teacher, "teacher", field, "teacher, before the attack"); err != nil {
		return err
	}
	copied, err := s.login(ctx, app.DemoTeacherLogin, app.DemoPassword)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range []struct{ name, token string }{{"mallory as the teacher's device", s.Mallory}, {"the teacher's copied profile", copied}} {
		h, e, cc, err := Hello(ctx, s.App.URL(), c.token, teacher.Device())
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if h != nil {
			h.Bye()
			return fmt.Errorf("%s: welcomed", c.name)
		}
		if e.Code != protocol.CodeDeviceTaken || (cc != protocol.StatusOf(protocol.CodeDeviceTaken).Close && cc != websocket.CloseAbnormalClosure) {
			errs = append(errs, fmt.Errorf("%s: refused with %s, close %d; want device_taken, %d", c.name, e, cc, protocol.StatusOf(protocol.CodeDeviceTaken).Close))
		}
	}
	m, e, _, err := Hello(ctx, s.App.URL(), s.Mallory, uuid.Must(uuid.NewV7()))
	if err != nil || m == nil {
		return fmt.Errorf("mallory's own device: %v %v", e, err)
	}
	defer m.Bye()
	ahead := hlc.New(time.Now().Add(farFuture).UnixMilli(), 0)
	op, err := s.based(ctx, field, "mallory, 200 years ahead", ahead)
	if err != nil {
		return err
	}
	ack, err := m.Push(op)
	if err != nil {
		return err
	}
	if res := ack.Results[0]; res.Code != protocol.CodeClockAhead || res.Seq != 0 || res.Clock == 0 || res.Clock >= ahead {
		errs = append(errs, fmt.Errorf("an op 200 years ahead: %+v, want clock_ahead with the server's clock", res))
	}
	if rec, err := s.Record(ctx); err != nil || FieldValue(rec, field) != "teacher, before the attack" {
		errs = append(errs, fmt.Errorf("after the refused far-future op the server holds %v (%v)", FieldValue(rec, field), err))
	}
	if err := m.Alive(); err != nil {
		errs = append(errs, err)
	}
	if err := s.put(ctx, teacher, "teacher", field, "teacher, after the attack"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	fresh, err := s.Engine(ctx, "teacher's new tablet", s.Teacher)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if got := FieldValue(fresh.Get(s.Rec), field); got != "teacher, after the attack" {
		errs = append(errs, fmt.Errorf("a fresh device reads %v, want the teacher's acked edit", got))
	}
	// Just within the drift: accepted, and the teacher, having seen it,
	// writes over it.
	near := hlc.New(time.Now().Add(hlc.MaxDrift-time.Hour).UnixMilli(), 0)
	if op, err = s.based(ctx, field, "mallory, 23 hours ahead", near); err != nil {
		return err
	}
	if ack, err = m.Push(op); err != nil {
		return err
	}
	if res := ack.Results[0]; res.Code != "" || res.Seq == 0 {
		return errors.Join(append(errs, fmt.Errorf("an op within the drift: %+v, want committed", res))...)
	}
	deadline := time.Now().Add(hostileWait)
	for FieldValue(teacher.Get(s.Rec), field) != "mallory, 23 hours ahead" {
		if time.Now().After(deadline) {
			return errors.Join(append(errs, errors.New("the teacher never saw Mallory's near-future edit"))...)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.put(ctx, teacher, "teacher", field, "teacher, over the near-future edit"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if rec, err := s.Record(ctx); err != nil || FieldValue(rec, field) != "teacher, over the near-future edit" {
		errs = append(errs, fmt.Errorf("the server holds %v (%v), want the teacher's acked edit", FieldValue(rec, field), err))
	}
	if _, err := s.StillSyncs(ctx, field, "teacher, over the near-future edit"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ClockReuse: an op reusing the (device, clock) of an applied op with
// different content is refused with clock_reused naming the clock to
// restamp past, and the first op stays; the same op sent again is
// answered as applied, with its seq; so "already applied" is said only of
// the same op. The same holds on a later socket of the same device.
func (s *School) ClockReuse(ctx context.Context) error {
	const field = "best_times"
	device := uuid.Must(uuid.NewV7())
	m, e, _, err := Hello(ctx, s.App.URL(), s.Mallory, device)
	if err != nil || m == nil {
		return fmt.Errorf("mallory: %v %v", e, err)
	}
	first, err := s.based(ctx, field, "the first op", m.Clock.Now())
	if err != nil {
		return err
	}
	ack, err := m.Push(first)
	if err != nil {
		return err
	}
	r1 := ack.Results[0]
	if r1.Code != "" || r1.Seq == 0 {
		return fmt.Errorf("the first op: %+v, want committed", r1)
	}
	second := first
	second.Writes = []record.Write{{Name: field, Value: "a different op at the same clock", Base: first.Writes[0].Base}}
	var errs []error
	for _, later := range []bool{false, true} {
		name := "same socket"
		if later {
			name = "a later socket of the same device"
			m.Bye()
			if m, e, _, err = Hello(ctx, s.App.URL(), s.Mallory, device); err != nil || m == nil {
				return fmt.Errorf("the same device on a new socket: %v %v", e, err)
			}
		}
		ack, err := m.Push(second, first)
		if err != nil {
			m.Bye()
			return err
		}
		if res := ack.Results[0]; res.Code != protocol.CodeClockReused || res.Seq != 0 || res.Clock < first.HLC {
			errs = append(errs, fmt.Errorf("%s: a different op at an applied op's clock: %+v, want clock_reused with a clock at or past %v", name, res, first.HLC))
		}
		if res := ack.Results[1]; res.Code != "" || res.Seq != r1.Seq {
			errs = append(errs, fmt.Errorf("%s: the same op again: %+v, want applied at seq %d", name, res, r1.Seq))
		}
		if rec, err := s.Record(ctx); err != nil || FieldValue(rec, field) != "the first op" || len(rec.Fields[field].Conflicts) > 0 {
			errs = append(errs, fmt.Errorf("%s: the server holds %v (%v), want the first op alone", name, FieldValue(rec, field), err))
		}
		if err := m.Alive(); err != nil {
			errs = append(errs, err)
		}
	}
	m.Bye()
	if _, err := s.StillSyncs(ctx, field, "the first op"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Attack is one of issue 11's attacks on a fresh school.
type Attack struct {
	Name string
	Run  func(ctx context.Context, s *School) error
}

// Attacks are the attacks the hostile soak repeats, each on a school of
// its own. The device flood restarts the server after and checks again.
var Attacks = []Attack{
	{"device flood", func(ctx context.Context, s *School) error {
		if _, err := s.DeviceFlood(ctx, FloodSockets); err != nil {
			return err
		}
		if err := s.Restart(ctx); err != nil {
			return err
		}
		_, err := s.StillSyncs(ctx, "best_times", "written by family after the attack (2)")
		return err
	}},
	{"many accounts on one record", func(ctx context.Context, s *School) error {
		_, err := s.ManyAccountsOneRecord(ctx, FloodAccounts)
		return err
	}},
	{"spoof and far future", func(ctx context.Context, s *School) error { return s.SpoofAndFarFuture(ctx) }},
	{"clock reuse", func(ctx context.Context, s *School) error { return s.ClockReuse(ctx) }},
}
