package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
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

// cheapHashing makes the seeded logins' argon2 cheap: the tests sign in,
// they do not measure hashing.
var cheapHashing = auth.Params{Memory: 64, Iterations: 1, Threads: 1}

// school is the real `plansync serve --seed` world: the demo school with
// its admin and teacher signed in through the HTTP API, the seeded family
// member of the invite's plan (Rosa or David, who have no login: a session
// is started for them), and Mallory, who joined that plan with the
// printed family invite code through the API, as an attacker would.
type school struct {
	t       testing.TB
	dir     string
	app     *app.App
	admin   string // tokens
	teacher string
	family  string
	mallory string
	plan    uuid.UUID  // the invite's student space
	rec     record.Key // the plan's family record, which all of them may write
	rng     *rand.Rand
}

func openSchool(t testing.TB) *school {
	t.Helper()
	s := &school{t: t, dir: t.TempDir(), rng: seeded(t)}
	s.start()
	t.Cleanup(func() {
		if s.app != nil {
			s.stop()
		}
	})
	ctx := context.Background()
	d := s.app.Demo
	s.admin = s.login(d.AdminLogin, d.Password)
	s.teacher = d.TeacherToken
	var claimed api.LoginResponse
	s.post("/api/invites/claim", api.ClaimRequest{Code: d.InviteCode, Name: "Mallory", Device: "laptop"}, &claimed)
	if claimed.Space == nil || claimed.Token == "" {
		t.Fatalf("claim answered %+v", claimed)
	}
	s.mallory = claimed.Token
	s.plan = claimed.Space.ID
	members, err := s.app.Store.Members(ctx, s.plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Role == server.RoleFamily && m.User != claimed.User.ID {
			if s.family, err = s.app.Auth.StartSession(ctx, m.User, "family phone"); err != nil {
				t.Fatal(err)
			}
		}
	}
	recs, err := s.app.Store.AllRecords(ctx, s.plan)
	if err != nil {
		t.Fatal(err)
	}
	for k := range recs {
		if k.Collection == "family" {
			s.rec = k
		}
	}
	if s.family == "" || s.rec.ID == uuid.Nil {
		t.Fatalf("the seeded plan %s has no family member or no family record", s.plan)
	}
	return s
}

func (s *school) start() {
	s.t.Helper()
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(s.dir, "server"), Seed: true,
		Logger: slog.New(slog.DiscardHandler), Auth: auth.Options{Params: cheapHashing}}
	cfg.Store.FreeSpace = func() (uint64, error) { return 1 << 40, nil }
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.app = a
}

func (s *school) stop() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.app.Close(ctx); err != nil {
		s.t.Error(err)
	}
	s.app = nil
}

// restart stops the server and starts it again on the same data folder.
func (s *school) restart() {
	s.stop()
	s.start()
}

func (s *school) post(path string, body, out any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.app.Addr()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: wait}).Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("POST %s: %s %s", path, resp.Status, rb)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		s.t.Fatalf("POST %s: %v in %s", path, err, rb)
	}
}

func (s *school) login(login, password string) string {
	s.t.Helper()
	var r api.LoginResponse
	s.post("/api/login", api.LoginRequest{Login: login, Password: password, Device: "test"}, &r)
	return r.Token
}

// engine opens a real client engine (a fresh device: new id, empty store)
// signed in with token and waits until it has caught up.
func (s *school) engine(name, token string) *client.Engine {
	s.t.Helper()
	e := client.New(client.Options{
		Store:       memstore.New(),
		Transport:   &wsdial.Transport{URL: s.app.URL(), HandshakeTimeout: 3 * time.Second, WriteWait: 3 * time.Second},
		Token:       token,
		BackoffBase: 20 * time.Millisecond,
		BackoffMax:  300 * time.Millisecond,
		DialTimeout: 3 * time.Second,
		Rand:        rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64())),
	})
	ctx, cancel := context.WithTimeout(context.Background(), converged)
	defer cancel()
	if err := e.Open(ctx); err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	s.t.Cleanup(func() { _ = e.Close() })
	if err := e.WaitSynced(ctx); err != nil {
		s.t.Fatalf("%s: not synced: %v (state %+v, rejections %v)", name, err, e.State(), e.Rejections())
	}
	return e
}

// stillSyncs is what a user cares about after an attack: the admin, the
// teacher and the family, each on a fresh device, catch up on the whole
// plan, read the record as the last of them left it, write it and are
// acked; a fresh device then reads the last write, the server holds it,
// and the stored record decodes within its bounds.
func (s *school) stillSyncs(field string, last any) {
	s.t.Helper()
	ctx := context.Background()
	want, err := s.app.Store.AllRecords(ctx, s.plan)
	if err != nil {
		s.t.Fatalf("the plan's records do not read: %v", err)
	}
	for i, u := range []struct{ name, token string }{{"admin", s.admin}, {"teacher", s.teacher}, {"family", s.family}} {
		e := s.engine(u.name, u.token)
		for k := range want {
			if e.Get(k) == nil {
				s.t.Errorf("%s's fresh device lacks %s/%s of the plan", u.name, k.Collection, k.ID)
			}
		}
		if got := fieldValue(e.Get(s.rec), field); got != last {
			s.t.Errorf("%s's fresh device reads %s=%v, want %v", u.name, field, got, last)
		}
		v := fmt.Sprintf("written by %s after the attack (%d)", u.name, i)
		if err := e.Put(ctx, s.rec.Space, s.rec.Collection, s.rec.ID, map[string]any{field: v}); err != nil {
			s.t.Fatalf("%s: %v", u.name, err)
		}
		wctx, cancel := context.WithTimeout(ctx, converged)
		err := e.WaitSynced(wctx)
		cancel()
		if err != nil || len(e.Pending()) > 0 {
			s.t.Fatalf("%s's edit was not acked: %v (pending %d, rejections %v)", u.name, err, len(e.Pending()), e.Rejections())
		}
		if r := e.Rejections(); len(r) > 0 {
			s.t.Errorf("%s's edit was refused: %v", u.name, r)
		}
		last = v
		_ = e.Close()
	}
	if got := fieldValue(s.engine("teacher's new tablet", s.teacher).Get(s.rec), field); got != last {
		s.t.Errorf("a fresh device reads %s=%v, want the last acked write %v", field, got, last)
	}
	rec, err := s.app.Store.Record(ctx, s.rec)
	if err != nil {
		s.t.Fatalf("the attacked record does not read: %v", err)
	}
	if got := fieldValue(rec, field); got != last {
		s.t.Errorf("the server holds %s=%v, want %v", field, got, last)
	}
	if len(rec.Clock) > record.MaxRecordClock || len(rec.Fields) > record.MaxRecordFields {
		s.t.Errorf("the record holds %d clock entries and %d fields, bounds %d and %d", len(rec.Clock), len(rec.Fields), record.MaxRecordClock, record.MaxRecordFields)
	}
	b, err := record.Marshal(rec)
	if err == nil {
		_, err = record.Unmarshal(b)
	}
	if err != nil {
		s.t.Errorf("the attacked record does not round-trip: %v", err)
	}
}

func fieldValue(r *record.Record, name string) any {
	if r == nil || r.Fields[name] == nil {
		return nil
	}
	return r.Fields[name].Value
}

// hello opens a raw socket as device and says hello with token. It returns
// the welcomed client, or nil and the error the server closed with.
func hello(t testing.TB, url, name, token string, device uuid.UUID) (*raw, *protocol.Error, int) {
	t.Helper()
	ws, _, err := (&websocket.Dialer{HandshakeTimeout: wait}).Dial(url, nil)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	r := &raw{t: t, name: name, ws: ws, id: device, clock: hlc.NewClock(nil, 0)}
	r.send(&protocol.Hello{Protocol: protocol.Version, Client: device, Token: token})
	m, err := r.read()
	if err != nil {
		_ = ws.Close()
		t.Fatalf("%s: hello: %v", name, err)
	}
	switch m := m.(type) {
	case *protocol.Welcome:
		r.user = m.User
		return r, nil, 0
	case *protocol.Error:
		_, cc := r.closed()
		_ = ws.Close()
		return nil, m, cc
	}
	_ = ws.Close()
	t.Fatalf("%s: hello answered with %s", name, m.Type())
	return nil, nil, 0
}

// bye closes a raw socket and waits until the server has closed its side,
// so that sockets opened one after another are never open at once.
func (r *raw) bye() {
	_ = r.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wait))
	_ = r.ws.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := r.ws.ReadMessage(); err != nil {
			break
		}
	}
	_ = r.ws.Close()
}

// deviceFlood is issue 11's first attack: sockets one after another, each
// with a fresh device id, each pushing one op to the same record.
type deviceFlood struct {
	welcomed, refused, committed int
	opRefused                    map[protocol.Code]int
	helloRefused                 map[protocol.Code]int
	last                         string // the last value committed
}

func (s *school) floodDevices(name, token string, sockets int, field string) deviceFlood {
	s.t.Helper()
	f := deviceFlood{opRefused: map[protocol.Code]int{}, helloRefused: map[protocol.Code]int{}}
	deadline := time.Now().Add(floodTimeout)
	for i := range sockets {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: %d of %d sockets in %v", name, i, sockets, floodTimeout)
		}
		r, e, cc := hello(s.t, s.app.URL(), name, token, uuid.Must(uuid.NewV7()))
		if r == nil {
			f.refused++
			f.helloRefused[e.Code]++
			if want := protocol.StatusOf(e.Code).Close; cc != want && cc != websocket.CloseAbnormalClosure {
				s.t.Errorf("%s socket %d: refused with %s but close code %d, want %d", name, i, e.Code, cc, want)
			}
			continue
		}
		f.welcomed++
		v := fmt.Sprintf("%s device %d", name, i)
		op := r.op(s.rec.Space, s.rec.Collection, map[string]any{field: v})
		op.ID = s.rec.ID
		// Based on the version she sees, as a client would send it: each
		// op replaces the last instead of piling up conflicts, so every
		// device lands in the record's clock.
		if cur, err := s.app.Store.Record(context.Background(), s.rec); err == nil && cur.Fields[field] != nil {
			ref := cur.Fields[field].Ref()
			op.Writes[0].Base = &ref
		}
		res := r.push(op).Results[0]
		if res.Code == "" {
			f.committed++
			f.last = v
		} else {
			f.opRefused[res.Code]++
		}
		r.bye()
	}
	return f
}

// Attack sizes of TestHostileDeviceFlood.
const (
	// floodSockets is the figure: just past the ten thousand device
	// ids that overflowed the record's decoder before the bound.
	floodSockets = 10_001
	// floodAccounts × hub.DefaultMaxDevicesPerUser device ids write one
	// record from many family accounts: 5 × 64 = 320, past
	// record.MaxRecordClock, so the record's bound is reached by the ops
	// the per-user device limit lets through. Each welcomed device's op is
	// a commit of its own (about 40 ms with its fsync and catch-up), so 20
	// accounts took 50 s; five prove the same.
	floodAccounts = 5
	// floodTimeout bounds one flood: sockets are opened one at a time, so
	// the loop ends in time on a slow machine or the test says so.
	floodTimeout = 3 * time.Minute
)

// TestHostileDeviceFlood is issue 11's first attack against the seeded
// school: Mallory, holding only the family invite code, opens 10,001
// sockets one after another, each with a fresh device id and each pushing
// one op to the plan's family record. The server lets her hold
// hub.DefaultMaxDevicesPerUser device ids and refuses every further hello
// with device_limit; the record keeps a bounded clock; and afterwards the
// plan syncs for the admin, the teacher and the family, also after a
// restart.
func TestHostileDeviceFlood(t *testing.T) {
	s := openSchool(t)
	start := time.Now()
	f := s.floodDevices("mallory", s.mallory, floodSockets, "best_times")
	t.Logf("%d sockets in %v: %d welcomed (%d ops committed, refused %v), %d refused at hello %v",
		floodSockets, time.Since(start).Round(time.Millisecond), f.welcomed, f.committed, f.opRefused, f.refused, f.helloRefused)
	if f.welcomed+f.refused != floodSockets || f.refused != f.helloRefused[protocol.CodeDeviceLimit] {
		t.Errorf("hellos refused %v, want every refusal device_limit", f.helloRefused)
	}
	if f.welcomed == 0 || f.welcomed > maxDevices(s) {
		t.Errorf("%d device ids welcomed for one account, want 1 to %d", f.welcomed, maxDevices(s))
	}
	if f.committed != f.welcomed {
		t.Errorf("%d of %d welcomed devices' ops committed (refused %v): an honest-looking op of a welcomed device must commit", f.committed, f.welcomed, f.opRefused)
	}
	s.stillSyncs("best_times", f.last)
	s.restart()
	s.stillSyncs("best_times", "written by family after the attack (2)")
}

func maxDevices(*school) int { return hub.DefaultMaxDevicesPerUser }

// TestHostileManyAccountsOneRecord: the same flood from floodAccounts
// family accounts, each up to its device limit, writes one record from
// five times more devices than the record's clock keeps. Every op of a
// welcomed device commits (the clock is compacted, never refused: the op
// index, not the clock, says what was applied), the record stays within
// record.MaxRecordClock, and the plan syncs for everyone.
func TestHostileManyAccountsOneRecord(t *testing.T) {
	s := openSchool(t)
	ctx := context.Background()
	per := maxDevices(s)
	start := time.Now()
	total := deviceFlood{opRefused: map[protocol.Code]int{}, helloRefused: map[protocol.Code]int{}}
	for i := range floodAccounts {
		u, err := app.AddUser(ctx, s.app.Store, fmt.Sprintf("family %d", i))
		if err == nil {
			err = s.app.Store.PutMember(ctx, server.Member{Space: s.plan, User: u.ID, Role: server.RoleFamily})
		}
		var tok string
		if err == nil {
			tok, err = s.app.Auth.StartSession(ctx, u.ID, "flood")
		}
		if err != nil {
			t.Fatal(err)
		}
		f := s.floodDevices(fmt.Sprintf("family %d", i), tok, per+1, "barriers_detail")
		total.welcomed += f.welcomed
		total.refused += f.refused
		total.committed += f.committed
		total.last = f.last
		for c, n := range f.opRefused {
			total.opRefused[c] += n
		}
		for c, n := range f.helloRefused {
			total.helloRefused[c] += n
		}
	}
	t.Logf("%d accounts × %d sockets in %v: %d welcomed, %d ops committed (refused %v), hellos refused %v",
		floodAccounts, per+1, time.Since(start).Round(time.Millisecond), total.welcomed, total.committed, total.opRefused, total.helloRefused)
	if total.welcomed != floodAccounts*per || total.helloRefused[protocol.CodeDeviceLimit] != floodAccounts {
		t.Errorf("%d welcomed, hellos refused %v: want %d welcomed and one device_limit per account", total.welcomed, total.helloRefused, floodAccounts*per)
	}
	if total.welcomed <= record.MaxRecordClock {
		t.Fatalf("only %d devices wrote the record: the attack did not pass record.MaxRecordClock (%d)", total.welcomed, record.MaxRecordClock)
	}
	if total.committed != total.welcomed {
		t.Errorf("%d of %d ops committed, refused %v", total.committed, total.welcomed, total.opRefused)
	}
	rec, err := s.app.Store.Record(ctx, s.rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Clock) != record.MaxRecordClock {
		t.Errorf("after %d devices the record's clock holds %d entries, want the bound %d", total.welcomed, len(rec.Clock), record.MaxRecordClock)
	}
	s.stillSyncs("barriers_detail", total.last)
}

// farFuture is issue 11's far-future clock: 200 years ahead.
const farFuture = 200 * 365 * 24 * time.Hour

// TestHostileSpoofAndFarFuture is issue 11's second attack: Mallory says
// hello with the teacher's device id (device_taken, and so does a second
// session of the teacher's own account, as a copied browser profile
// would) and pushes an op stamped 200 years ahead (clock_ahead, not
// stored). Then the teacher's later acked edit, the one the attack once
// made the server ack and drop, is what a fresh device reads. An op just
// within the allowed drift is accepted, and the teacher's edit after it
// still wins.
func TestHostileSpoofAndFarFuture(t *testing.T) {
	s := openSchool(t)
	ctx := context.Background()
	const field = "best_times"
	teacher := s.engine("teacher", s.teacher)
	put := func(v string) {
		t.Helper()
		if err := teacher.Put(ctx, s.rec.Space, s.rec.Collection, s.rec.ID, map[string]any{field: v}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, converged)
		defer cancel()
		if err := teacher.WaitSynced(wctx); err != nil || len(teacher.Pending()) > 0 || len(teacher.Rejections()) > 0 {
			t.Fatalf("the teacher's edit %q: %v, pending %d, rejections %v", v, err, len(teacher.Pending()), teacher.Rejections())
		}
	}
	put("teacher, before the attack")

	for _, c := range []struct{ name, token string }{{"mallory as the teacher's device", s.mallory}, {"the teacher's copied profile", s.login(app.DemoTeacherLogin, app.DemoPassword)}} {
		r, e, cc := hello(t, s.app.URL(), c.name, c.token, teacher.Device())
		if r != nil {
			r.bye()
			t.Fatalf("%s: welcomed", c.name)
		}
		if e.Code != protocol.CodeDeviceTaken || (cc != protocol.StatusOf(protocol.CodeDeviceTaken).Close && cc != websocket.CloseAbnormalClosure) {
			t.Errorf("%s: refused with %s, close %d; want device_taken, %d", c.name, e, cc, protocol.StatusOf(protocol.CodeDeviceTaken).Close)
		}
	}

	m, e, _ := hello(t, s.app.URL(), "mallory", s.mallory, uuid.Must(uuid.NewV7()))
	if m == nil {
		t.Fatalf("mallory's own device refused: %s", e)
	}
	defer m.bye()
	based := func(v string, at hlc.Timestamp) record.Op {
		cur, err := s.app.Store.Record(ctx, s.rec)
		if err != nil {
			t.Fatal(err)
		}
		ref := cur.Fields[field].Ref()
		return record.Op{Space: s.rec.Space, Collection: s.rec.Collection, ID: s.rec.ID, HLC: at,
			Writes: []record.Write{{Name: field, Value: v, Base: &ref}}}
	}
	ahead := hlc.New(time.Now().Add(farFuture).UnixMilli(), 0)
	res := m.push(based("mallory, 200 years ahead", ahead)).Results[0]
	if res.Code != protocol.CodeClockAhead || res.Seq != 0 || res.Clock == 0 || res.Clock >= ahead {
		t.Errorf("an op 200 years ahead: %+v, want clock_ahead with the server's clock", res)
	}
	if got := fieldValue(mustRecord(t, s), field); got != "teacher, before the attack" {
		t.Errorf("after the refused far-future op the server holds %v", got)
	}
	m.alive()

	put("teacher, after the attack")
	if got := fieldValue(s.engine("teacher's new tablet", s.teacher).Get(s.rec), field); got != "teacher, after the attack" {
		t.Errorf("a fresh device reads %v, want the teacher's acked edit", got)
	}

	// Just within the drift: accepted, and the teacher, having seen it,
	// writes over it.
	near := hlc.New(time.Now().Add(hlc.MaxDrift-time.Hour).UnixMilli(), 0)
	res = m.push(based("mallory, 23 hours ahead", near)).Results[0]
	result(t, "an op within the drift", res, "", "")
	deadline := time.Now().Add(wait)
	for fieldValue(teacher.Get(s.rec), field) != "mallory, 23 hours ahead" {
		if time.Now().After(deadline) {
			t.Fatalf("the teacher never saw Mallory's edit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	put("teacher, over the near-future edit")
	if got := fieldValue(mustRecord(t, s), field); got != "teacher, over the near-future edit" {
		t.Errorf("the server holds %v, want the teacher's acked edit", got)
	}
	s.stillSyncs(field, "teacher, over the near-future edit")
}

func mustRecord(t testing.TB, s *school) *record.Record {
	t.Helper()
	r, err := s.app.Store.Record(context.Background(), s.rec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHostileClockReuse: an op reusing the (device, clock) of an applied op
// with different content is refused with clock_reused naming the clock to
// restamp past, and the first op stays; the same op sent again is
// answered as applied, with its seq; so "already applied" is said only of
// the same op. The same holds on a later socket of the same device.
func TestHostileClockReuse(t *testing.T) {
	s := openSchool(t)
	const field = "best_times"
	device := uuid.Must(uuid.NewV7())
	m, e, _ := hello(t, s.app.URL(), "mallory", s.mallory, device)
	if m == nil {
		t.Fatalf("mallory refused: %s", e)
	}
	cur := mustRecord(t, s)
	ref := cur.Fields[field].Ref()
	first := record.Op{Space: s.rec.Space, Collection: s.rec.Collection, ID: s.rec.ID, HLC: m.clock.Now(),
		Writes: []record.Write{{Name: field, Value: "the first op", Base: &ref}}}
	r1 := m.push(first).Results[0]
	result(t, "the first op", r1, "", "")
	second := first
	second.Writes = []record.Write{{Name: field, Value: "a different op at the same clock", Base: &ref}}
	for _, c := range []struct {
		name string
		r    *raw
	}{{"same socket", m}, {"a later socket of the same device", nil}} {
		r := c.r
		if r == nil {
			m.bye()
			if r, e, _ = hello(t, s.app.URL(), "mallory again", s.mallory, device); r == nil {
				t.Fatalf("the same device on a new socket refused: %s", e)
			}
			defer r.bye()
		}
		ack := r.push(second, first)
		if res := ack.Results[0]; res.Code != protocol.CodeClockReused || res.Seq != 0 || res.Clock < first.HLC {
			t.Errorf("%s: a different op at an applied op's clock: %+v, want clock_reused with a clock at or past %v", c.name, res, first.HLC)
		}
		if res := ack.Results[1]; res.Code != "" || res.Seq != r1.Seq {
			t.Errorf("%s: the same op again: %+v, want applied at seq %d", c.name, res, r1.Seq)
		}
		if got := mustRecord(t, s); fieldValue(got, field) != "the first op" || len(got.Fields[field].Conflicts) > 0 {
			t.Errorf("%s: the server holds %s, want the first op alone", c.name, fieldString(got.Fields[field]))
		}
		r.alive()
	}
	s.stillSyncs(field, "the first op")
}
