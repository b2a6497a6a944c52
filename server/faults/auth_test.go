package faults

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
)

// lockedBuffer is a log sink read by the test while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRevokedSessionStopsSyncingAndTokensStayOutOfLogs runs a full scenario
// against a server logging JSON at debug level into a buffer: sign-ins over
// the API, a real engine syncing, failed sign-ins, a bad token on the
// socket, refused ops, and a device signed out from another one. The
// revoked engine stops within seconds with unauthorized and does not
// retry; its later edits are never stored. No session token appears
// anywhere in the log. (server/api's TestSessionsListAndRevoke covers the
// raw socket closing; this is the engine's side.)
func TestRevokedSessionStopsSyncingAndTokensStayOutOfLogs(t *testing.T) {
	var logs lockedBuffer
	e := apitest.Start(t, func(c *app.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	phone := e.Login("lee", apitest.Password)
	tokens := []string{e.Admin.Token, e.Teacher.Token, e.Support.Token, e.Family.Token, e.OtherTeacher.Token, phone.Token}

	// Failed sign-ins and a guessed token on the socket.
	if st := e.Do("POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: "wrong horse", Device: "x"}, nil); st != 401 {
		t.Fatalf("wrong password: %d", st)
	}
	guess := phone.Token[:len(phone.Token)-4] + "AAAA"
	if _, perr := e.Dial(guess); perr == nil || perr.Code != protocol.CodeUnauthorized {
		t.Fatalf("a guessed token dialed: %v", perr)
	}
	tokens = append(tokens, guess)

	// The phone syncs with a real engine and makes edits, one refused.
	rng := rand.New(rand.NewPCG(1, 2))
	url := "ws://" + e.App.Addr() + "/sync"
	dials := 0
	var mu sync.Mutex
	eng := client.New(client.Options{
		Store: memstore.New(),
		Transport: transportFunc(func(ctx context.Context) (client.Conn, error) {
			mu.Lock()
			dials++
			mu.Unlock()
			return (&wsdial.Transport{URL: url}).Dial(ctx)
		}),
		Token:       phone.Token,
		BackoffBase: 20 * time.Millisecond,
		BackoffMax:  100 * time.Millisecond,
		Rand:        rng,
	})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	goal := map[string]any{"status": "in_progress", "description": "Reads 20 minutes a night", "description_lang": "en"}
	id, err := eng.Create(ctx, e.Ana.ID, "goals", goal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Create(ctx, e.Ana.ID, "goals", map[string]any{"status": "bogus"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := eng.WaitSynced(wctx); err != nil {
		t.Fatal(err)
	}
	if len(eng.Rejections()) != 1 {
		t.Errorf("rejections %+v, want the bogus status", eng.Rejections())
	}
	if _, err := e.App.Store.Record(ctx, record.Key{Space: e.Ana.ID, Collection: "goals", ID: id}); err != nil {
		t.Fatalf("the synced goal is not stored: %v", err)
	}

	// The teacher signs the phone out from the laptop.
	var list []auth.SessionInfo
	if st := e.Do("GET", "/api/sessions", e.Teacher.Token, nil, &list); st != 200 {
		t.Fatalf("sessions: %d", st)
	}
	var other string
	for _, s := range list {
		if !s.Current {
			other = s.ID
		}
	}
	revoked := time.Now()
	if st := e.Do("DELETE", "/api/sessions/"+other, e.Teacher.Token, nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	for eng.State().Status != client.StatusStopped {
		if time.Since(revoked) > 3*time.Second {
			t.Fatalf("the revoked engine still syncs after 3 s: %+v", eng.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := eng.State(); st.Reason != protocol.CodeUnauthorized {
		t.Errorf("stopped with %+v, want unauthorized", st)
	}
	t.Logf("the revoked engine stopped %v after the revocation", time.Since(revoked).Round(time.Millisecond))
	mu.Lock()
	before := dials
	mu.Unlock()
	late, err := eng.Create(ctx, e.Ana.ID, "goals", goal)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	after := dials
	mu.Unlock()
	if after != before {
		t.Errorf("the revoked engine dialed %d more times", after-before)
	}
	if r, err := e.App.Store.Record(ctx, record.Key{Space: e.Ana.ID, Collection: "goals", ID: late}); err == nil || r != nil {
		t.Error("an edit made after the revocation was stored")
	}
	if _, perr := e.Dial(phone.Token); perr == nil || perr.Code != protocol.CodeUnauthorized {
		t.Errorf("the revoked token dialed: %v", perr)
	}

	out := logs.String()
	// The server logs little by design; the refusals must be among it, or
	// the check below proves nothing.
	if strings.Count(out, `"reason":"unauthorized"`) < 2 {
		t.Fatalf("the log lacks the refused sockets:\n%s", out)
	}
	for _, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Errorf("a session token appears in the log")
		}
		if strings.Contains(url, tok) {
			t.Errorf("a session token appears in the sync URL")
		}
	}
	t.Logf("%d log lines, no token in them", strings.Count(out, "\n"))
}

type transportFunc func(ctx context.Context) (client.Conn, error)

func (f transportFunc) Dial(ctx context.Context) (client.Conn, error) { return f(ctx) }
