package api_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/secevent"
)

// behindProxy makes the test's own address (127.0.0.1) a trusted proxy, so
// that each request names its client in X-Forwarded-For.
func behindProxy(c *app.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStrangerCannotLockOutStaff: a stranger's wrong passwords lock only
// the stranger (and keep locking them), never the teacher signing in from
// the teacher's own address; IPv6 clients of one /64 share a bucket; and a
// guess spread over many addresses slows the login without refusing its
// owner.
func TestStrangerCannotLockOutStaff(t *testing.T) {
	const slowdown = 100 * time.Millisecond
	e := apitest.Start(t, func(c *app.Config) {
		behindProxy(c)
		c.APILimits.LoginFailPerLogin = api.Rate{Every: time.Hour, Burst: 12}
		c.APILimits.LoginSlowdown = slowdown
	})
	const stranger, staff = "203.0.113.9", "198.51.100.7"
	login := func(from, pw string) (int, string) {
		st, h := e.DoHeader(from, "POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: pw}, nil)
		return st, h.Get("Retry-After")
	}
	for i := range 5 {
		if st, _ := login(stranger, fmt.Sprintf("guess %d", i)); st != 401 {
			t.Fatalf("guess %d: %d, want 401", i, st)
		}
	}
	if st, ra := login(stranger, "guess 5"); st != 429 || ra == "" {
		t.Fatalf("sixth guess: %d Retry-After %q, want 429 with Retry-After", st, ra)
	}
	if st, _ := login(staff, apitest.Password); st != 200 {
		t.Fatalf("the teacher from her own address after a stranger's guesses: %d, want 200", st)
	}
	// The stranger stays refused, whatever they send.
	for i := range 10 {
		if st, _ := login(stranger, fmt.Sprintf("more %d", i)); st != 429 {
			t.Fatalf("stranger's later guess %d: %d, want 429", i, st)
		}
	}
	if st, _ := login(stranger, apitest.Password); st != 429 {
		t.Fatalf("the stranger is not let through by the right password: %d", st)
	}

	// IPv6: one /64 is one client, the next /64 another.
	for i := range 5 {
		if st, _ := login(fmt.Sprintf("2001:db8:1:2::%x", i+1), "v6 guess"); st != 401 {
			t.Fatalf("v6 guess %d: %d", i, st)
		}
	}
	if st, _ := login("2001:db8:1:2:ffff::99", "v6 guess"); st != 429 {
		t.Fatalf("a fresh address in the same /64: %d, want 429", st)
	}
	if st, _ := login("2001:db8:1:3::1", apitest.Password); st != 200 {
		t.Fatalf("the neighbouring /64: %d, want 200", st)
	}

	// Ten failures so far hit lee's global bucket (burst 12); two more
	// from fresh addresses empty it.
	for i := range 2 {
		if st, _ := login(fmt.Sprintf("192.0.2.%d", i+1), "spread guess"); st != 401 {
			t.Fatalf("spread guess %d: %d", i, st)
		}
	}
	start := time.Now()
	if st, _ := login("192.0.2.200", apitest.Password); st != 200 {
		t.Fatalf("the owner from a fresh address under a spread attack: %d, want 200", st)
	}
	if took := time.Since(start); took < slowdown {
		t.Fatalf("an attempt under a spread attack took %v, want at least the slowdown %v", took, slowdown)
	}
	// After the stranger's bucket refills, the stranger may try again.
	e.Clock.Advance(2 * time.Minute)
	if st, _ := login(stranger, "after waiting"); st != 401 {
		t.Fatalf("after backoff: %d, want 401", st)
	}
}

// TestParentCodeWorksFromJunkAddress: junk claims from one address (a
// school's NAT, say) do not stop a parent's correct code from another
// address, nor from the junk address itself once it has waited; and a
// sprayer keeps being refused.
func TestParentCodeWorksFromJunkAddress(t *testing.T) {
	e := apitest.Start(t, behindProxy)
	const junk, parent = "203.0.113.50", "198.51.100.20"
	claim := func(from, code, name string) int {
		return e.DoFrom(from, "POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: name}, nil)
	}
	code1 := e.Invite(e.Teacher, e.Ana.ID)
	code2 := e.Invite(e.OtherTeacher, e.Sam.ID)
	junkCode := func(i int) string {
		if i%3 == 0 {
			return "not a code at all"
		}
		return fmt.Sprintf("Z%03dZZZZZ%02d", i, i%32)[:10]
	}
	for i := range 10 {
		if st := claim(junk, junkCode(i), "Junk"); st != 404 {
			t.Fatalf("junk claim %d: %d, want 404", i, st)
		}
	}
	if st := claim(parent, code1, "Parent"); st != 200 {
		t.Fatalf("a parent's correct code from another address: %d, want 200", st)
	}
	if st := claim(junk, code2, "Parent at the school"); st != 200 {
		t.Fatalf("a correct code from the address that sent ten junk claims: %d, want 200", st)
	}
	// A sprayer: refused after DefaultClaimFailPerClient's burst, and
	// refused again and again.
	const sprayer = "192.0.2.66"
	refused := 0
	for i := range api.DefaultClaimFailPerClient.Burst + 10 {
		switch st := claim(sprayer, junkCode(i+1), "Sprayer"); st {
		case 404:
			if refused > 0 {
				t.Fatalf("claim %d answered after the sprayer was refused", i)
			}
		case 429:
			refused++
		default:
			t.Fatalf("spray %d: %d", i, st)
		}
	}
	if refused != 10 {
		t.Fatalf("%d sprayed claims refused, want the 10 past the burst", refused)
	}
	code3 := e.Invite(e.Teacher, e.Ana.ID)
	if st := claim(sprayer, code3, "Sprayer's neighbour"); st != 429 {
		t.Fatalf("correct code from a refused address: %d, want 429 until it waits", st)
	}
	e.Clock.Advance(time.Minute)
	if st := claim(sprayer, code3, "Sprayer's neighbour"); st != 200 {
		t.Fatalf("correct code from that address after backoff: %d, want 200", st)
	}
}

// TestSecurityEventsCarryNoSecrets: failed logins, failed claims, a burned
// invite and rate-limit hits are logged as security events, and no log
// line holds a password, a session token, an invite code or its secret.
func TestSecurityEventsCarryNoSecrets(t *testing.T) {
	var logs syncBuffer
	e := apitest.Start(t, func(c *app.Config) {
		behindProxy(c)
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.APILimits.ClaimFailPerClientInvite = api.Rate{Every: time.Hour, Burst: 100}
	})
	const attacker = "203.0.113.77"
	const pw = "hunter2-not-the-password"
	for range 6 {
		e.DoFrom(attacker, "POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: pw}, nil)
	}
	// A password typed into the login field (no such account) is never
	// logged, not even as a failed login's name.
	const typedPassword = "Correct-Horse-Battery-7"
	e.DoFrom("203.0.113.78", "POST", "/api/login", "", api.LoginRequest{Login: typedPassword, Password: "x"}, nil)
	code := e.Invite(e.Teacher, e.Ana.ID)
	var wrong []string
	for i := range 5 {
		w := wrongSecret(code, i)
		wrong = append(wrong, w)
		if st := e.DoFrom(attacker, "POST", "/api/invites/claim", "", api.ClaimRequest{Code: w, Name: "Guesser"}, nil); st != 404 {
			t.Fatalf("wrong code %d: %d", i, st)
		}
	}
	out := logs.String()
	for _, ev := range []string{secevent.FailedLogin, secevent.FailedClaim, secevent.BurnedInvite, secevent.RateLimited} {
		if !strings.Contains(out, `"event":"`+ev+`"`) {
			t.Errorf("no %s event logged", ev)
		}
	}
	if !strings.Contains(out, `"client":"`+attacker+`"`) {
		t.Error("events do not name the client")
	}
	secrets := []string{pw, typedPassword, strings.ToLower(typedPassword), apitest.Password, code, strings.ReplaceAll(code, "-", ""), strings.ReplaceAll(code, "-", "")[4:],
		e.Admin.Token, e.Teacher.Token, e.Family.Token, e.Support.Token}
	for _, w := range wrong {
		secrets = append(secrets, w, strings.ReplaceAll(w, "-", ""))
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds a secret %q", s)
		}
	}
}

// TestHashingIsBounded: two dozen logins at once never run more argon2id
// hashes at a time than the slots allow; those that wait past the queue
// timeout get 503 with Retry-After, the rest sign in, and the server goes
// on serving.
func TestHashingIsBounded(t *testing.T) {
	const slots, parallel = 2, 24
	e := apitest.Start(t, func(c *app.Config) {
		// Costly enough (8 MiB, two passes) that two dozen cannot all finish within
		// the queue timeout through two slots.
		c.Auth.Params = auth.Params{Memory: 8 * 1024, Iterations: 2, Threads: 1}
		c.Auth.HashSlots = slots
		c.Auth.HashQueueTimeout = 20 * time.Millisecond
	})
	type answer struct {
		status     int
		retryAfter string
	}
	answers := make(chan answer, parallel)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, h := e.DoHeader("", "POST", "/api/login", "", api.LoginRequest{Login: "kim", Password: apitest.Password, Device: fmt.Sprint("device ", i)}, nil)
			answers <- answer{st, h.Get("Retry-After")}
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	counts := map[int]int{}
	for a := range answers {
		counts[a.status]++
		if a.status == 503 && a.retryAfter == "" {
			t.Error("a 503 without Retry-After")
		}
	}
	if counts[200]+counts[503] != parallel {
		t.Fatalf("statuses %v: only 200 and 503 expected", counts)
	}
	if counts[503] == 0 || counts[200] == 0 {
		t.Fatalf("statuses %v: want some served and some told to wait", counts)
	}
	hs := e.App.Auth.HashStats()
	if hs.Slots != slots || hs.Peak > slots || hs.Peak == 0 || hs.Refused != int64(counts[503]) {
		t.Fatalf("hash stats %+v with statuses %v", hs, counts)
	}
	t.Logf("statuses %v, stats %+v", counts, hs)
	if u := e.Login("kim", apitest.Password); u.ID != e.OtherTeacher.ID {
		t.Fatal("login after the burst is someone else")
	}
}

// TestTeacherSeesBurnedInvite: an invite burned by wrong codes is listed,
// marked burned with the time, to the student's teachers and admins (and
// no one else), and the burn is a security event naming the invite.
func TestTeacherSeesBurnedInvite(t *testing.T) {
	var logs syncBuffer
	e := apitest.Start(t, func(c *app.Config) {
		behindProxy(c)
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	burnt := e.Invite(e.Teacher, e.Ana.ID)
	kept := e.Invite(e.Teacher, e.Ana.ID)
	before := e.Clock.Now()
	for i := range auth.DefaultMaxInviteFailures {
		// From different addresses: the durable count is per invite.
		if st := e.DoFrom(fmt.Sprintf("192.0.2.%d", i+1), "POST", "/api/invites/claim", "", api.ClaimRequest{Code: wrongSecret(burnt, i), Name: "Guesser"}, nil); st != 404 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	e.DoFrom("192.0.2.99", "POST", "/api/invites/claim", "", api.ClaimRequest{Code: wrongSecret(kept, 0), Name: "Typo"}, nil)
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: burnt, Name: "Real parent"}, nil); st != 404 {
		t.Fatalf("burned invite claimed: %d", st)
	}
	path := "/api/spaces/" + e.Ana.ID.String() + "/invites"
	for _, u := range []apitest.User{e.Teacher, e.Admin} {
		var list []auth.InviteInfo
		if st := e.Do("GET", path, u.Token, nil, &list); st != 200 {
			t.Fatalf("%s lists invites: %d", u.Name, st)
		}
		byID := map[string]auth.InviteInfo{}
		for _, ii := range list {
			byID[ii.ID] = ii
		}
		b, k := byID[strings.ReplaceAll(burnt, "-", "")[:4]], byID[strings.ReplaceAll(kept, "-", "")[:4]]
		if !b.Burned || b.BurnedAt == nil || b.BurnedAt.Before(before.Add(-time.Minute)) || b.Failures != auth.DefaultMaxInviteFailures || b.By != e.Teacher.ID {
			t.Fatalf("%s sees the burned invite as %+v", u.Name, b)
		}
		if k.Burned || k.BurnedAt != nil || k.Failures != 1 {
			t.Fatalf("%s sees the live invite as %+v", u.Name, k)
		}
	}
	for _, u := range []apitest.User{e.Family, e.Support, e.OtherTeacher} {
		if st := e.Do("GET", path, u.Token, nil, nil); st != 403 && st != 404 {
			t.Errorf("%s listed Ana's invites: %d", u.Name, st)
		}
	}
	out := logs.String()
	if n := strings.Count(out, `"event":"`+secevent.BurnedInvite+`"`); n != 1 {
		t.Fatalf("%d burned_invite events, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `"invite":"`+strings.ReplaceAll(burnt, "-", "")[:4]+`"`) {
		t.Error("the burned_invite event does not name the invite")
	}
}
