package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is one school with one student's plan: a teacher (English) and a
// parent (Spanish), in a real badger store.
type world struct {
	t       *testing.T
	dir     string
	st      *store.Store
	auth    *auth.Service
	clock   *fakeClock
	school  *server.Space
	plan    *server.Space
	teacher *server.User
	parent  *server.User
	admin   *server.User
	node    uuid.UUID
	hlc     *hlc.Clock
	svc     *Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), clock: &fakeClock{t: time.Now().UTC().Truncate(time.Minute)}, node: uuid.Must(uuid.NewV7())}
	w.hlc = hlc.NewClock(w.clock.Now, 0)
	w.open()
	ctx := context.Background()
	w.school = &server.Space{ID: uuid.Must(uuid.NewV7()), Name: "Lincoln Elementary", Kind: server.KindSchool, Created: w.clock.Now()}
	w.plan = &server.Space{ID: uuid.Must(uuid.NewV7()), Name: "Ana", Kind: server.KindStudent, Created: w.clock.Now(), School: w.school.ID}
	w.teacher = &server.User{ID: uuid.Must(uuid.NewV7()), Name: "Ms. Lee", Languages: []string{"en"}, Created: w.clock.Now()}
	w.parent = &server.User{ID: uuid.Must(uuid.NewV7()), Name: "Rosa García", Languages: []string{"es"}, Created: w.clock.Now()}
	w.admin = &server.User{ID: uuid.Must(uuid.NewV7()), Name: "Office", Languages: []string{"en"}, Created: w.clock.Now()}
	for _, sp := range []*server.Space{w.school, w.plan} {
		must(t, w.st.CreateSpace(ctx, sp))
	}
	for _, u := range []*server.User{w.teacher, w.parent, w.admin} {
		must(t, w.st.CreateUser(ctx, u))
	}
	for _, m := range []server.Member{
		{Space: w.plan.ID, User: w.teacher.ID, Role: server.RoleTeacher},
		{Space: w.plan.ID, User: w.parent.ID, Role: server.RoleFamily},
		{Space: w.school.ID, User: w.admin.ID, Role: server.RoleAdmin},
	} {
		must(t, w.st.PutMember(ctx, m))
	}
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) open() {
	st, err := store.Open(w.dir, store.Options{Now: w.clock.Now, FreeSpace: func() (uint64, error) { return 1 << 40, nil }})
	must(w.t, err)
	w.st = st
	w.auth = auth.New(auth.Options{Store: st})
}

// start builds and starts the notifier with o's channels and settings
// (Store, Auth, Clock, BaseURL filled in). The dispatcher's own tick is
// an hour: the test steps it with DispatchOnce.
func (w *world) start(o Options) *Service {
	w.t.Helper()
	o.Store, o.Auth, o.Clock = w.st, w.auth, w.clock
	if o.BaseURL == "" {
		o.BaseURL = "https://plans.example.org"
	}
	if o.Poll == 0 {
		o.Poll = time.Hour
	}
	o.Logger = slog.New(slog.NewTextHandler(testWriter{w.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w.svc = New(o)
	w.st.OnCommit(w.svc.Offer)
	must(w.t, w.svc.Start(context.Background()))
	return w.svc
}

// stop closes the notifier and the store (a clean restart).
func (w *world) stop() {
	if w.svc != nil {
		w.svc.Close()
		w.svc = nil
	}
	if w.st != nil {
		_ = w.st.Close()
	}
}

type testWriter struct{ t *testing.T }

func (tw testWriter) Write(b []byte) (int, error) {
	tw.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

func (w *world) setPrefs(user uuid.UUID, p Prefs) {
	w.t.Helper()
	must(w.t, p.Validate())
	p.EmailVerified, p.PhoneVerified = p.Email != "", p.Phone != ""
	b, err := json.Marshal(p)
	must(w.t, err)
	must(w.t, w.st.PutNotifyPrefs(context.Background(), user, b))
}

// write commits one op as author, as a device would, and waits until the
// notifier has consumed the group.
func (w *world) write(author uuid.UUID, coll string, id uuid.UUID, fields map[string]any) {
	w.t.Helper()
	w.commitOnly(author, coll, id, fields)
	w.waitConsumed()
}

// commitOnly commits one op as author without waiting for the notifier.
func (w *world) commitOnly(author uuid.UUID, coll string, id uuid.UUID, fields map[string]any) {
	w.t.Helper()
	op := record.Op{Space: w.plan.ID, Collection: coll, ID: id, HLC: w.hlc.Now(), Node: w.node, Author: author}
	for _, k := range sortedKeys(fields) {
		op.Writes = append(op.Writes, record.Write{Name: k, Value: fields[k]})
	}
	must(w.t, op.Validate())
	res, err := w.st.Commit(context.Background(), []record.Op{op})
	must(w.t, err)
	must(w.t, res[0].Err)
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// waitConsumed waits (bounded) until every offered group was processed.
func (w *world) waitConsumed() {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := w.svc.Stats()
		if s.Processed >= s.Offered && s.Dropped == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("notifier did not consume the commit: %+v", w.svc.Stats())
}

func (w *world) note(author uuid.UUID, text string) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	w.write(author, "notes", id, map[string]any{"author_name": "x", "lang": "en", "kind": "update", "text": text})
	return id
}

// notes are the plan's notes now.
func (w *world) notes() []*record.Record {
	w.t.Helper()
	recs, err := w.st.CollectionRecords(context.Background(), w.plan.ID, "notes", 100)
	must(w.t, err)
	return recs
}

// smtpSink is a real SMTP server (go-smtp) on 127.0.0.1 that keeps every
// message it is given.
type smtpSink struct {
	srv  *smtp.Server
	addr string
	mu   sync.Mutex
	msgs []sunk
}

type sunk struct {
	from string
	to   []string
	raw  []byte
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	k := &smtpSink{}
	k.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	k.srv.Domain = "localhost"
	k.srv.ReadTimeout, k.srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	k.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := k.srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Log("smtp sink:", err)
		}
	}()
	t.Cleanup(func() {
		_ = k.srv.Close()
		<-done
	})
	return k
}

func (k *smtpSink) port() int {
	_, p, _ := net.SplitHostPort(k.addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func (k *smtpSink) messages() []sunk {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sunk(nil), k.msgs...)
}

type sinkSession struct {
	k    *smtpSink
	from string
	to   []string
}

func (s *sinkSession) Reset()        { s.from, s.to = "", nil }
func (s *sinkSession) Logout() error { return nil }
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.k.mu.Lock()
	s.k.msgs = append(s.k.msgs, sunk{from: s.from, to: s.to, raw: b})
	s.k.mu.Unlock()
	return nil
}

// parse reads a sunk message with net/mail and its plain text body.
func parseMail(t *testing.T, m sunk) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.raw))
	must(t, err)
	body, err := plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	must(t, err)
	return msg, body
}

func (w *world) emailChannel(k *smtpSink) *Email {
	e, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: k.port(), From: "plansync@school.example.org", TLS: "none", Timeout: 10 * time.Second})
	must(w.t, err)
	return e
}
