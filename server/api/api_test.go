package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/protocol"
)

func TestLoginErrorsDoNotSayWhichPartWasWrong(t *testing.T) {
	e := apitest.Start(t, nil)
	var wrongPw, wrongLogin, badLogin apitest.ErrorOf
	s1 := e.Do("POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: "not the password"}, &wrongPw)
	s2 := e.Do("POST", "/api/login", "", api.LoginRequest{Login: "nobody", Password: apitest.Password}, &wrongLogin)
	s3 := e.Do("POST", "/api/login", "", api.LoginRequest{Login: "not a login!", Password: apitest.Password}, &badLogin)
	if s1 != 401 || s2 != 401 || s3 != 401 {
		t.Fatalf("statuses %d %d %d, want 401", s1, s2, s3)
	}
	if wrongPw != wrongLogin || wrongPw != badLogin || wrongPw.Error.Message != "login or password is wrong" {
		t.Fatalf("errors differ or say too much: %+v %+v %+v", wrongPw, wrongLogin, badLogin)
	}
	// Logins are case-insensitive.
	if u := e.Login("LEE", apitest.Password); u.ID != e.Teacher.ID {
		t.Fatal("login LEE is not lee")
	}
}

func TestLoginRateLimits(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) {
		c.APILimits.LoginFailPerClient = api.Rate{Every: time.Minute, Burst: 5}
		c.APILimits.LoginFailPerClientLogin = api.Rate{Every: time.Minute, Burst: 2}
	})
	login := func(name, pw string) int {
		return e.Do("POST", "/api/login", "", api.LoginRequest{Login: name, Password: pw}, nil)
	}
	// Successes are not counted: Start signed in four times from here.
	for range 3 {
		if st := login("lee", apitest.Password); st != 200 {
			t.Fatalf("right password: %d", st)
		}
	}
	// Per client and login: two failures, then even the right password
	// waits, from this address.
	for i := range 2 {
		if st := login("lee", "wrong password"); st != 401 {
			t.Fatalf("try %d: %d, want 401", i, st)
		}
	}
	var er apitest.ErrorOf
	if st := e.Do("POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: apitest.Password}, &er); st != 429 || er.Error.Code != protocol.CodeRateLimited {
		t.Fatalf("third try on one login: %d %+v, want 429", st, er)
	}
	// Per client: failures at other logins from the same address run out
	// its bucket too.
	if login("kim", "wrong password") != 401 || login("ortiz", "wrong password") != 401 || login("nobody", "wrong password") != 401 {
		t.Fatal("other logins refused too early")
	}
	if st := login("park", apitest.Password); st != 429 {
		t.Fatalf("after five failures from one address: %d, want 429", st)
	}
	e.Clock.Advance(2 * time.Minute)
	if st := login("lee", apitest.Password); st != 200 {
		t.Fatalf("after waiting: %d, want 200", st)
	}
}

func TestInviteClaimAndReuse(t *testing.T) {
	e := apitest.Start(t, nil)
	code := e.Invite(e.Teacher, e.Ana.ID)
	if len(code) != len("K7QM-3XPD-9R") || code[4] != '-' || code[9] != '-' {
		t.Fatalf("code %q not grouped like K7QM-3XPD-9R", code)
	}
	// Typed sloppily: lower case, spaces instead of dashes.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	var res api.LoginResponse
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: typed, Name: "Luis García", Passphrase: "nuestra casa azul", Device: "tablet"}, &res); st != 200 {
		t.Fatalf("claim: %d", st)
	}
	if res.Token == "" || res.Space == nil || res.Space.ID != e.Ana.ID || res.Space.Role != server.RoleFamily || !strings.HasPrefix(res.User.Login, "luis-") {
		t.Fatalf("claim answer %+v", res)
	}
	// The passphrase signs in on another device with the generated login.
	if u := e.Login(res.User.Login, "nuestra casa azul"); u.ID != res.User.ID {
		t.Fatal("passphrase login is someone else")
	}
	// Single use.
	var er apitest.ErrorOf
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Someone"}, &er); st != 404 || er.Error.Code != auth.CodeNotFound {
		t.Fatalf("reuse: %d %+v, want 404", st, er)
	}
	// Two family members of one student both sync Ana's space.
	s := e.MustDial(res.Token)
	if len(s.Welcome.Spaces) != 2 {
		t.Fatalf("new family member's spaces: %+v", s.Welcome.Spaces)
	}
	// Without a passphrase there is no login: a device-bound session.
	var dev api.LoginResponse
	code2 := e.Invite(e.Admin, e.Ana.ID)
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code2, Name: "Abuela"}, &dev); st != 200 || dev.User.Login != "" || dev.Token == "" {
		t.Fatalf("device-bound claim: %d %+v", st, dev)
	}
}

func TestInviteExpires(t *testing.T) {
	e := apitest.Start(t, nil)
	code := e.Invite(e.Teacher, e.Ana.ID)
	e.Clock.Advance(auth.DefaultInviteLifetime + time.Second)
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Late"}, nil); st != 404 {
		t.Fatalf("expired invite: %d, want 404", st)
	}
	code = e.Invite(e.Teacher, e.Ana.ID)
	e.Clock.Advance(auth.DefaultInviteLifetime - time.Minute)
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Just in time"}, nil); st != 200 {
		t.Fatalf("invite before expiry: %d, want 200", st)
	}
}

// wrongSecret changes the last character of a code's secret part.
func wrongSecret(code string, i int) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	last := code[len(code)-1]
	c := alphabet[(strings.IndexByte(alphabet, last)+1+i)%len(alphabet)]
	return code[:len(code)-1] + string(c)
}

func TestInviteBurnsAfterWrongGuesses(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) {
		c.APILimits.ClaimFailPerClientInvite = api.Rate{Every: time.Minute, Burst: 100}
		c.APILimits.ClaimFailPerClient = api.Rate{Every: time.Minute, Burst: 100}
	})
	code := e.Invite(e.Teacher, e.Ana.ID)
	for i := range auth.DefaultMaxInviteFailures {
		if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: wrongSecret(code, i), Name: "Guesser"}, nil); st != 404 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Real parent"}, nil); st != 404 {
		t.Fatalf("the right code after the invite burned: %d, want 404", st)
	}
	// Fewer wrong guesses leave the invite usable.
	code = e.Invite(e.Teacher, e.Ana.ID)
	for i := range auth.DefaultMaxInviteFailures - 1 {
		e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: wrongSecret(code, i), Name: "Typo"}, nil)
	}
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Real parent"}, nil); st != 200 {
		t.Fatalf("the right code after a few typos: %d, want 200", st)
	}
}

func TestClaimRateLimits(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) {
		c.APILimits.ClaimFailPerClientInvite = api.Rate{Every: time.Hour, Burst: 2}
		c.APILimits.ClaimFailPerClient = api.Rate{Every: time.Hour, Burst: 4}
	})
	// Start claimed once from this address; successes are not counted.
	code := e.Invite(e.Teacher, e.Ana.ID)
	claim := func(c string) int {
		return e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: c, Name: "Guesser"}, nil)
	}
	// Per client and invite: two wrong tries at one invite, then 429.
	if claim(wrongSecret(code, 0)) != 404 || claim(wrongSecret(code, 1)) != 404 {
		t.Fatal("first guesses not answered")
	}
	if st := claim(wrongSecret(code, 2)); st != 429 {
		t.Fatalf("third guess at one code: %d, want 429", st)
	}
	// Per client: random codes run out the address's bucket.
	if claim("ZZZZ-ZZZZ-Z1") != 404 || claim("not a code") != 404 {
		t.Fatal("guess refused too early")
	}
	if st := claim("ZZZY-ZZZZ-Z1"); st != 429 {
		t.Fatalf("fifth failed claim from one address: %d, want 429", st)
	}
}

func TestSiblingJoinsSecondSpace(t *testing.T) {
	e := apitest.Start(t, nil)
	code := e.Invite(e.OtherTeacher, e.Sam.ID)
	var res api.LoginResponse
	if st := e.Do("POST", "/api/invites/claim", e.Family.Token, api.ClaimRequest{Code: code}, &res); st != 200 {
		t.Fatalf("sibling claim: %d", st)
	}
	if res.Token != "" || res.User.ID != e.Family.ID || res.Space.ID != e.Sam.ID {
		t.Fatalf("sibling claim answer %+v", res)
	}
	var me api.MeResponse
	e.Do("GET", "/api/me", e.Family.Token, nil, &me)
	roles := map[string]server.Role{}
	for _, sp := range me.Spaces {
		roles[sp.Name] = sp.Role
	}
	if roles["Ana García"] != server.RoleFamily || roles["Sam Okafor"] != server.RoleFamily || roles["Maple Elementary"] != server.RoleFamily {
		t.Fatalf("spaces %+v", me.Spaces)
	}
	// A member cannot claim an invite to a space they are in; the invite
	// stays usable.
	code = e.Invite(e.Teacher, e.Ana.ID)
	if st := e.Do("POST", "/api/invites/claim", e.Family.Token, api.ClaimRequest{Code: code}, nil); st != 409 {
		t.Fatalf("claim into own space: %d, want 409", st)
	}
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Tío"}, nil); st != 200 {
		t.Fatalf("invite after the refused claim: %d", st)
	}
}

func TestWhoMayInviteAndManage(t *testing.T) {
	e := apitest.Start(t, nil)
	for name, u := range map[string]apitest.User{"family": e.Family, "support": e.Support, "teacher of another student": e.OtherTeacher} {
		if st := e.Do("POST", "/api/invites", u.Token, api.InviteRequest{Space: e.Ana.ID}, nil); st != 403 && st != 404 {
			t.Errorf("%s made an invite: %d", name, st)
		}
	}
	if st := e.Do("POST", "/api/invites", e.Teacher.Token, api.InviteRequest{Space: e.School.ID}, nil); st != 403 && st != 422 {
		t.Errorf("invite to the school space: %d", st)
	}
	if st := e.Do("POST", "/api/staff", e.Teacher.Token, api.StaffRequest{Name: "X", Login: "xx", Password: apitest.Password, Role: server.RoleTeacher}, nil); st != 403 {
		t.Errorf("teacher created staff: %d", st)
	}
	if st := e.Do("POST", "/api/staff", e.Admin.Token, api.StaffRequest{Name: "X", Login: "Lee", Password: apitest.Password, Role: server.RoleTeacher}, nil); st != 409 {
		t.Errorf("duplicate login: %d, want 409", st)
	}
	if st := e.Do("POST", "/api/staff", e.Admin.Token, api.StaffRequest{Name: "X", Login: "short", Password: "short", Role: server.RoleTeacher}, nil); st != 422 {
		t.Errorf("short password: %d, want 422", st)
	}
	if st := e.Do("POST", "/api/staff", e.Admin.Token, api.StaffRequest{Name: "X", Login: "fam", Password: apitest.Password, Role: server.RoleFamily}, nil); st != 422 {
		t.Errorf("staff with role family: %d, want 422", st)
	}
	if st := e.Do("POST", "/api/spaces/"+e.Ana.ID.String()+"/members", e.Teacher.Token, api.MemberRequest{User: e.OtherTeacher.ID, Role: server.RoleTeacher}, nil); st != 403 {
		t.Errorf("teacher added a member: %d", st)
	}
	if st := e.Do("POST", "/api/spaces/"+e.Ana.ID.String()+"/members", e.Admin.Token, api.MemberRequest{User: e.Family.ID, Role: server.RoleTeacher}, nil); st != 404 {
		t.Errorf("admin made a family member a teacher: %d", st)
	}
	if st := e.Do("GET", "/api/me", "", nil, nil); st != 401 {
		t.Errorf("no token: %d, want 401", st)
	}
	if st := e.Do("GET", "/api/me?token="+e.Teacher.Token, "", nil, nil); st != 401 {
		t.Errorf("token in the URL was accepted: %d", st)
	}
	// A new admin is a member of every student space of the school.
	e.Staff("Mr. Diaz", "diaz", server.RoleAdmin)
	d := e.Login("diaz", apitest.Password)
	var me api.MeResponse
	e.Do("GET", "/api/me", d.Token, nil, &me)
	if len(me.Spaces) != 3 {
		t.Fatalf("new admin's spaces: %+v", me.Spaces)
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	e := apitest.Start(t, nil)
	second := e.Login("lee", apitest.Password)
	var list []auth.SessionInfo
	if st := e.Do("GET", "/api/sessions", e.Teacher.Token, nil, &list); st != 200 || len(list) != 2 {
		t.Fatalf("sessions: %d %+v", st, list)
	}
	var current, other auth.SessionInfo
	for _, s := range list {
		if s.Current {
			current = s
		} else {
			other = s
		}
		if len(s.ID) != 2*auth.SessionIDBytes || strings.Contains(e.Teacher.Token, s.ID) || s.Expires.Sub(s.Created) != auth.DefaultSessionLifetime {
			t.Fatalf("session %+v", s)
		}
	}
	if current.ID == "" || other.ID == "" {
		t.Fatalf("current/other: %+v", list)
	}
	// Someone else's session id cannot be revoked through one's own list.
	if st := e.Do("DELETE", "/api/sessions/"+other.ID, e.Family.Token, nil, nil); st != 404 {
		t.Fatalf("family revoking the teacher's session: %d", st)
	}
	if st := e.Do("GET", "/api/users/"+e.Teacher.ID.String()+"/sessions", e.Family.Token, nil, nil); st != 403 {
		t.Fatalf("family listing the teacher's sessions: %d", st)
	}
	// The teacher signs their other device out, and its socket closes.
	s := e.MustDial(second.Token)
	if st := e.Do("DELETE", "/api/sessions/"+other.ID, e.Teacher.Token, nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	waitClosed(t, s)
	if _, perr := e.Dial(second.Token); perr == nil || perr.Code != protocol.CodeUnauthorized {
		t.Fatalf("revoked token dialed: %v", perr)
	}
	// An admin lists and revokes any of the school's users' sessions.
	var fam []auth.SessionInfo
	if st := e.Do("GET", "/api/users/"+e.Family.ID.String()+"/sessions", e.Admin.Token, nil, &fam); st != 200 || len(fam) != 1 || fam[0].Label != "phone" {
		t.Fatalf("admin listing family sessions: %d %+v", st, fam)
	}
	fs := e.MustDial(e.Family.Token)
	if st := e.Do("DELETE", "/api/users/"+e.Family.ID.String()+"/sessions/"+fam[0].ID, e.Admin.Token, nil, nil); st != 204 {
		t.Fatalf("admin revoke: %d", st)
	}
	waitClosed(t, fs)
	if st := e.Do("GET", "/api/me", e.Family.Token, nil, nil); st != 401 {
		t.Fatalf("revoked family token still works: %d", st)
	}
}

func TestLogoutClosesLiveSocket(t *testing.T) {
	e := apitest.Start(t, nil)
	s := e.MustDial(e.Teacher.Token)
	if st := e.Do("POST", "/api/logout", e.Teacher.Token, nil, nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	waitClosed(t, s)
	if st := e.Do("POST", "/api/logout", e.Teacher.Token, nil, nil); st != 401 {
		t.Fatalf("second logout: %d, want 401", st)
	}
}

// revocationDeadline is how soon a revoked session's socket must close.
const revocationDeadline = 3 * time.Second

func waitClosed(t *testing.T, s *apitest.Sock) {
	t.Helper()
	select {
	case <-s.Closed():
	case <-time.After(revocationDeadline):
		t.Fatal("the revoked session's socket is still open")
	}
	errs := s.Errors()
	if len(errs) == 0 || errs[len(errs)-1].Code != protocol.CodeUnauthorized {
		t.Fatalf("closed with %v, want unauthorized", errs)
	}
}

func TestUnknownEndpointAndBadBody(t *testing.T) {
	e := apitest.Start(t, nil)
	var er apitest.ErrorOf
	if st := e.Do("GET", "/api/nope", "", nil, &er); st != 404 || er.Error.Code != auth.CodeNotFound {
		t.Fatalf("unknown endpoint: %d %+v", st, er)
	}
	big := strings.Repeat("x", api.MaxBodyBytes)
	if st := e.Do("POST", "/api/login", "", api.LoginRequest{Login: big}, nil); st != 413 {
		t.Fatalf("huge body: %d, want 413", st)
	}
}
