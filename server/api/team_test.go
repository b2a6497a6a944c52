package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// accessDeadline is how soon a socket of someone whose access changed
// must stop receiving the space: the issue asks for a second.
const accessDeadline = time.Second

// waitCode waits up to d for s to be closed by the server with code.
func waitCode(t *testing.T, s *apitest.Sock, code protocol.Code, d time.Duration) {
	t.Helper()
	select {
	case <-s.Closed():
	case <-time.After(d):
		t.Fatalf("socket still open after %v (want %s)", d, code)
	}
	errs := s.Errors()
	if len(errs) == 0 || errs[len(errs)-1].Code != code {
		t.Fatalf("closed with %v, want %s", errs, code)
	}
}

// otherSchool makes a second school and signs its admin in.
func otherSchool(t *testing.T, e *apitest.Env) (*server.Space, apitest.User) {
	t.Helper()
	sc, _, err := e.App.Auth.InitSchool(context.Background(), "Oak Middle", "Mr. Oak", "oak", apitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	return sc, e.Login("oak", apitest.Password)
}

func errCode(t *testing.T, e *apitest.Env, method, path, token string, body any, status int, code protocol.Code) {
	t.Helper()
	var er apitest.ErrorOf
	if st := e.Do(method, path, token, body, &er); st != status || er.Error.Code != code || er.Error.Message == "" {
		t.Fatalf("%s %s: %d %+v, want %d %s", method, path, st, er, status, code)
	}
}

func members(e *apitest.Env, space uuid.UUID) string {
	return "/api/spaces/" + space.String() + "/members/"
}

func TestRemoveMemberWhoMayAndOpenSockets(t *testing.T) {
	e := apitest.Start(t, nil)
	_, oak := otherSchool(t, e)
	ana := e.Ana.ID
	fam := e.Family.ID.String()
	// Who may not.
	errCode(t, e, "DELETE", members(e, ana)+fam, e.OtherTeacher.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "DELETE", members(e, ana)+fam, oak.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "DELETE", members(e, ana)+fam, e.Support.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "DELETE", members(e, ana)+e.Teacher.ID.String(), e.Family.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "DELETE", members(e, ana)+e.Support.ID.String(), e.Teacher.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "DELETE", members(e, ana)+e.Admin.ID.String(), e.Admin.Token, nil, 422, protocol.CodeInvalid)
	errCode(t, e, "DELETE", members(e, ana)+e.OtherTeacher.ID.String(), e.Admin.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "DELETE", members(e, e.School.ID)+fam, e.Admin.Token, nil, 422, protocol.CodeInvalid)

	// Two sockets of the family, one of the teacher.
	s1, s2 := e.MustDial(e.Family.Token), e.MustDial(e.Family.Token)
	ts := e.MustDial(e.Teacher.Token)
	if st := e.Do("DELETE", members(e, ana)+fam, e.Teacher.Token, nil, nil); st != 204 {
		t.Fatalf("teacher removes the family member: %d", st)
	}
	waitCode(t, s1, protocol.CodeAccessChanged, accessDeadline)
	waitCode(t, s2, protocol.CodeAccessChanged, accessDeadline)
	select {
	case <-ts.Closed():
		t.Fatal("the teacher's socket closed too")
	default:
	}
	// Reconnected, the family has no space left (Ana was their only child
	// at the school, so the school's space went too), and an op is refused.
	s3 := e.MustDial(e.Family.Token)
	if len(s3.Welcome.Spaces) != 0 {
		t.Fatalf("spaces after removal: %+v", s3.Welcome.Spaces)
	}
	r := s3.PushOne(s3.Op(ana, "notes", apitest.NewID(), map[string]any{"kind": "question", "text": "¿Sigo aquí?", "lang": "es"}))
	if r.Code != protocol.CodeForbidden {
		t.Fatalf("op after removal: %s", apitest.String(r))
	}
	errCode(t, e, "GET", "/api/spaces/"+ana.String()+"/team", e.Family.Token, nil, 404, auth.CodeNotFound)
	// Removing twice says so.
	errCode(t, e, "DELETE", members(e, ana)+fam, e.Teacher.Token, nil, 404, auth.CodeNotFound)
	// The admin removes support staff; their socket follows.
	ss := e.MustDial(e.Support.Token)
	if st := e.Do("DELETE", members(e, ana)+e.Support.ID.String(), e.Admin.Token, nil, nil); st != 204 {
		t.Fatalf("admin removes support: %d", st)
	}
	waitCode(t, ss, protocol.CodeAccessChanged, accessDeadline)
	if s := e.MustDial(e.Support.Token); len(s.Welcome.Spaces) != 1 || s.Welcome.Spaces[0].ID != e.School.ID {
		t.Fatalf("support's spaces after removal: %+v", s.Welcome.Spaces)
	}
}

func TestRoleChangeReachesOpenSockets(t *testing.T) {
	e := apitest.Start(t, nil)
	s := e.MustDial(e.Support.Token)
	e.AddMember(e.Ana.ID, e.Support.ID, server.RoleTeacher)
	waitCode(t, s, protocol.CodeAccessChanged, accessDeadline)
	s = e.MustDial(e.Support.Token)
	for _, sp := range s.Welcome.Spaces {
		if sp.ID == e.Ana.ID && sp.Role != string(server.RoleTeacher) {
			t.Fatalf("role after the change: %+v", sp)
		}
	}
	// The same role again changes nothing: the socket stays.
	e.AddMember(e.Ana.ID, e.Support.ID, server.RoleTeacher)
	select {
	case <-s.Closed():
		t.Fatal("socket closed though the role did not change")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestDisableAndEnableAccount(t *testing.T) {
	e := apitest.Start(t, nil)
	_, oak := otherSchool(t, e)
	lee := "/api/users/" + e.Teacher.ID.String()
	errCode(t, e, "POST", lee+"/disable", e.OtherTeacher.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "POST", lee+"/disable", oak.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "POST", "/api/users/"+e.Admin.ID.String()+"/disable", e.Admin.Token, nil, 422, protocol.CodeInvalid)
	errCode(t, e, "POST", "/api/users/"+uuid.Must(uuid.NewV7()).String()+"/disable", e.Admin.Token, nil, 404, auth.CodeNotFound)

	second := e.Login("lee", apitest.Password)
	s1, s2 := e.MustDial(e.Teacher.Token), e.MustDial(second.Token)
	var u api.UserJSON
	if st := e.Do("POST", lee+"/disable", e.Admin.Token, nil, &u); st != 200 || !u.Disabled {
		t.Fatalf("disable: %d %+v", st, u)
	}
	waitCode(t, s1, protocol.CodeUnauthorized, revocationDeadline)
	waitCode(t, s2, protocol.CodeUnauthorized, revocationDeadline)
	for _, tok := range []string{e.Teacher.Token, second.Token} {
		if st := e.Do("GET", "/api/me", tok, nil, nil); st != 401 {
			t.Fatalf("disabled account's token: %d", st)
		}
	}
	errCode(t, e, "POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: apitest.Password}, 403, auth.CodeDisabled)
	// A wrong password says only that it is wrong.
	errCode(t, e, "POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: "wrong password"}, 401, protocol.CodeUnauthorized)
	// A session made behind the API's back (plansync session add) cannot sync.
	tok, err := e.App.Auth.StartSession(context.Background(), e.Teacher.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if _, perr := e.Dial(tok); perr == nil || perr.Code != protocol.CodeUnauthorized {
		t.Fatalf("disabled user's hello: %v", perr)
	}
	var team []auth.TeamMember
	e.Do("GET", "/api/spaces/"+e.Ana.ID.String()+"/team", e.Admin.Token, nil, &team)
	for _, m := range team {
		if m.ID == e.Teacher.ID && !m.Disabled {
			t.Fatalf("team does not show the disabled account: %+v", m)
		}
	}
	u = api.UserJSON{}
	if st := e.Do("POST", lee+"/enable", e.Admin.Token, nil, &u); st != 200 || u.Disabled || u.ID != e.Teacher.ID {
		t.Fatalf("enable: %d %+v", st, u)
	}
	e.MustDial(e.Login("lee", apitest.Password).Token)
}

func TestChangeOwnPassword(t *testing.T) {
	e := apitest.Start(t, nil)
	const next = "a much better passphrase"
	second := e.Login("lee", apitest.Password)
	s := e.MustDial(second.Token)
	errCode(t, e, "POST", "/api/me/password", e.Teacher.Token, api.PasswordRequest{Current: "not it at all", Password: next}, 403, protocol.CodeForbidden)
	errCode(t, e, "POST", "/api/me/password", e.Teacher.Token, api.PasswordRequest{Current: apitest.Password, Password: "short"}, 422, protocol.CodeInvalid)
	errCode(t, e, "POST", "/api/me/password", "", api.PasswordRequest{Current: apitest.Password, Password: next}, 401, protocol.CodeUnauthorized)
	var ended api.EndedResponse
	if st := e.Do("POST", "/api/me/password", e.Teacher.Token, api.PasswordRequest{Current: apitest.Password, Password: next}, &ended); st != 200 || ended.Ended != 1 {
		t.Fatalf("change: %d %+v", st, ended)
	}
	waitClosed(t, s)
	if st := e.Do("GET", "/api/me", e.Teacher.Token, nil, nil); st != 200 {
		t.Fatalf("the session that changed it: %d", st)
	}
	if st := e.Do("GET", "/api/me", second.Token, nil, nil); st != 401 {
		t.Fatalf("the other session: %d", st)
	}
	if st := e.Do("POST", "/api/login", "", api.LoginRequest{Login: "lee", Password: apitest.Password}, nil); st != 401 {
		t.Fatalf("old password: %d", st)
	}
	e.Login("lee", next)
	// A family member with a device-only session has no password.
	errCode(t, e, "POST", "/api/me/password", e.Family.Token, api.PasswordRequest{Current: "", Password: next}, 422, protocol.CodeInvalid)
	// One with a passphrase changes it.
	var res api.LoginResponse
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: e.Invite(e.Teacher, e.Ana.ID), Name: "Luis", Passphrase: "nuestra casa azul"}, &res); st != 200 {
		t.Fatalf("claim: %d", st)
	}
	if st := e.Do("POST", "/api/me/password", res.Token, api.PasswordRequest{Current: "nuestra casa azul", Password: "nuestra casa verde"}, &ended); st != 200 || ended.Ended != 0 {
		t.Fatalf("family change: %d %+v", st, ended)
	}
	e.Login(res.User.Login, "nuestra casa verde")
}

func TestResetStaffPasswordWithSetupCode(t *testing.T) {
	e := apitest.Start(t, nil)
	_, oak := otherSchool(t, e)
	lee := "/api/users/" + e.Teacher.ID.String() + "/password-reset"
	errCode(t, e, "POST", lee, e.OtherTeacher.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "POST", lee, oak.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "POST", "/api/users/"+e.Family.ID.String()+"/password-reset", e.Admin.Token, nil, 422, protocol.CodeInvalid)
	s := e.MustDial(e.Teacher.Token)
	var sc api.SetupCodeResponse
	if st := e.Do("POST", lee, e.Admin.Token, nil, &sc); st != 201 || len(sc.Code) != auth.SetupCodeLen+3 || sc.Expires.Sub(e.Clock.Now()) != auth.DefaultSetupCodeLifetime {
		t.Fatalf("reset: %d %+v", st, sc)
	}
	// Until the code is used, the old password works.
	e.Login("lee", apitest.Password)
	const next = "chosen by lee herself"
	errCode(t, e, "POST", "/api/password/setup", "", api.SetupRequest{Code: sc.Code, Password: "short"}, 422, protocol.CodeInvalid)
	errCode(t, e, "POST", "/api/password/setup", "", api.SetupRequest{Code: "AAAAA-AAAAA-AAAAA-AAAAA", Password: next}, 404, auth.CodeNotFound)
	var out api.SetupResponse
	if st := e.Do("POST", "/api/password/setup", "", api.SetupRequest{Code: strings.ToLower(sc.Code), Password: next}, &out); st != 200 || out.Login != "lee" {
		t.Fatalf("setup: %d %+v", st, out)
	}
	waitClosed(t, s)
	if st := e.Do("GET", "/api/me", e.Teacher.Token, nil, nil); st != 401 {
		t.Fatalf("session from before the reset: %d", st)
	}
	e.Login("lee", next)
	errCode(t, e, "POST", "/api/password/setup", "", api.SetupRequest{Code: sc.Code, Password: "yet another one"}, 404, auth.CodeNotFound)
	// Codes expire.
	e.Do("POST", lee, e.Admin.Token, nil, &sc)
	e.Clock.Advance(auth.DefaultSetupCodeLifetime + time.Second)
	errCode(t, e, "POST", "/api/password/setup", "", api.SetupRequest{Code: sc.Code, Password: "yet another one"}, 404, auth.CodeNotFound)
}

func TestInviteListStatesAndRevoke(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) {
		c.APILimits.ClaimFailPerClientInvite = api.Rate{Every: time.Minute, Burst: 100}
		c.APILimits.ClaimFailPerClient = api.Rate{Every: time.Minute, Burst: 100}
	})
	_, oak := otherSchool(t, e)
	ana := "/api/spaces/" + e.Ana.ID.String() + "/invites"
	expired := e.Invite(e.Teacher, e.Ana.ID)
	e.Clock.Advance(auth.DefaultInviteLifetime + time.Second)
	claimed, revoked, burned, open := e.Invite(e.Teacher, e.Ana.ID), e.Invite(e.Admin, e.Ana.ID), e.Invite(e.Teacher, e.Ana.ID), e.Invite(e.Teacher, e.Ana.ID)
	var res api.LoginResponse
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: claimed, Name: "Tía Carmen"}, &res); st != 200 {
		t.Fatalf("claim: %d", st)
	}
	for i := range auth.DefaultMaxInviteFailures {
		e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: wrongSecret(burned, i), Name: "Guesser"}, nil)
	}
	id := func(code string) string { c, _ := auth.InviteID(code); return c }
	// Who may not revoke.
	errCode(t, e, "DELETE", ana+"/"+id(revoked), e.Support.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "DELETE", ana+"/"+id(revoked), e.Family.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "DELETE", ana+"/"+id(revoked), e.OtherTeacher.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "DELETE", ana+"/"+id(revoked), oak.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "DELETE", "/api/spaces/"+e.Sam.ID.String()+"/invites/"+id(revoked), e.Admin.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "DELETE", ana+"/"+id(claimed), e.Teacher.Token, nil, 409, auth.CodeExists)
	if st := e.Do("DELETE", ana+"/"+id(revoked), e.Teacher.Token, nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	errCode(t, e, "DELETE", ana+"/"+id(revoked), e.Teacher.Token, nil, 409, auth.CodeExists)
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: revoked, Name: "Too late"}, nil); st != 404 {
		t.Fatalf("revoked invite claimed: %d", st)
	}
	var list []auth.InviteInfo
	if st := e.Do("GET", ana, e.Teacher.Token, nil, &list); st != 200 {
		t.Fatalf("list: %d", st)
	}
	want := map[string]string{id(expired): auth.InviteExpired, id(claimed): auth.InviteClaimed, id(revoked): auth.InviteRevoked, id(burned): auth.InviteBurned, id(open): auth.InviteOpen}
	seen := 0
	for _, ii := range list {
		w, ok := want[ii.ID]
		if !ok {
			continue // Start's own claimed invite
		}
		seen++
		if ii.State != w {
			t.Errorf("invite %s: state %s, want %s", ii.ID, ii.State, w)
		}
		switch w {
		case auth.InviteClaimed:
			if ii.ClaimedBy == nil || ii.ClaimedBy.ID != res.User.ID || ii.ClaimedBy.Name != "Tía Carmen" || ii.ClaimedAt == nil {
				t.Errorf("claimed invite %+v", ii)
			}
		case auth.InviteRevoked:
			if ii.RevokedAt == nil || ii.ByName != "Ms. Park" {
				t.Errorf("revoked invite %+v", ii)
			}
		case auth.InviteBurned:
			if ii.BurnedAt == nil || !ii.Burned {
				t.Errorf("burned invite %+v", ii)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("listed %d of %d invites: %+v", seen, len(want), list)
	}
	errCode(t, e, "GET", ana, e.Support.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "GET", ana, oak.Token, nil, 404, auth.CodeNotFound)
}

func TestSessionsShowLastSeenAndSignOutEverywhereElse(t *testing.T) {
	e := apitest.Start(t, nil)
	second := e.Login("lee", apitest.Password)
	third := e.Login("lee", apitest.Password)
	list := func() map[bool][]auth.SessionInfo {
		var l []auth.SessionInfo
		if st := e.Do("GET", "/api/sessions", e.Teacher.Token, nil, &l); st != 200 {
			t.Fatalf("sessions: %d", st)
		}
		out := map[bool][]auth.SessionInfo{}
		for _, s := range l {
			if s.Client == "" || s.LastSeen == nil || s.Label != "test" {
				t.Fatalf("session without where or when: %+v", s)
			}
			out[s.Current] = append(out[s.Current], s)
		}
		return out
	}
	before := list()
	if len(before[false]) != 2 || len(before[true]) != 1 {
		t.Fatalf("sessions %+v", before)
	}
	// Within a minute a use writes nothing; after it, last seen moves.
	e.Clock.Advance(30 * time.Second)
	e.Do("GET", "/api/me", second.Token, nil, nil)
	for _, s := range list()[false] {
		if !s.LastSeen.Equal(*before[false][0].LastSeen) {
			t.Fatalf("last seen written within a minute: %v, was %v", s.LastSeen, before[false][0].LastSeen)
		}
	}
	e.Clock.Advance(SeenSlack)
	sock := e.MustDial(third.Token) // a sync hello is a use too
	moved := 0
	for _, s := range list()[false] {
		if s.LastSeen.Sub(*before[false][0].LastSeen) >= auth.SeenEvery {
			moved++
		}
	}
	if moved != 1 {
		t.Fatalf("%d sessions' last seen moved after the hello, want 1", moved)
	}
	var ended api.EndedResponse
	if st := e.Do("DELETE", "/api/sessions", e.Teacher.Token, nil, &ended); st != 200 || ended.Ended != 2 {
		t.Fatalf("sign out everywhere else: %d %+v", st, ended)
	}
	waitClosed(t, sock)
	if st := e.Do("GET", "/api/me", second.Token, nil, nil); st != 401 {
		t.Fatalf("other session: %d", st)
	}
	if l := list(); len(l[false]) != 0 || len(l[true]) != 1 {
		t.Fatalf("after signing out elsewhere: %+v", l)
	}
	errCode(t, e, "DELETE", "/api/sessions", "", nil, 401, protocol.CodeUnauthorized)
}

// SeenSlack moves the clock past auth.SeenEvery since the first use.
const SeenSlack = 45 * time.Second

func TestTeamOfASpace(t *testing.T) {
	e := apitest.Start(t, nil)
	_, oak := otherSchool(t, e)
	var inv api.InviteResponse
	if st := e.Do("POST", "/api/invites", e.Teacher.Token, api.InviteRequest{Space: e.Ana.ID, Language: "es"}, &inv); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	var res api.LoginResponse
	e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: inv.Code, Name: "Luis García"}, &res)
	errCode(t, e, "POST", "/api/invites", e.Teacher.Token, api.InviteRequest{Space: e.Ana.ID, Language: "not a tag!"}, 422, protocol.CodeInvalid)
	path := "/api/spaces/" + e.Ana.ID.String() + "/team"
	for name, u := range map[string]apitest.User{"family": e.Family, "support": e.Support, "teacher": e.Teacher, "admin": e.Admin} {
		var team []auth.TeamMember
		if st := e.Do("GET", path, u.Token, nil, &team); st != 200 {
			t.Fatalf("%s: %d", name, st)
		}
		var got []string
		for _, m := range team {
			got = append(got, string(m.Role)+":"+m.Name)
			if m.Since == nil {
				t.Fatalf("%s sees no since for %+v", name, m)
			}
			if m.Name == "Luis García" && (len(m.Languages) != 1 || m.Languages[0] != "es" || m.InvitedBy == nil || m.InvitedBy.ID != e.Teacher.ID) {
				t.Fatalf("invited member %+v", m)
			}
		}
		if strings.Join(got, ",") != "admin:Ms. Park,teacher:Ms. Lee,support:Ms. Ortiz,family:Luis García,family:Rosa García" {
			t.Fatalf("%s sees team %v", name, got)
		}
	}
	errCode(t, e, "GET", path, e.OtherTeacher.Token, nil, 404, auth.CodeNotFound)
	errCode(t, e, "GET", path, oak.Token, nil, 404, auth.CodeNotFound)
	// The school's members are for its admins.
	school := "/api/spaces/" + e.School.ID.String() + "/team"
	errCode(t, e, "GET", school, e.Teacher.Token, nil, 403, protocol.CodeForbidden)
	var staff []auth.TeamMember
	if st := e.Do("GET", school, e.Admin.Token, nil, &staff); st != 200 || len(staff) != 6 {
		t.Fatalf("school members: %d %+v", st, staff)
	}
	// Languages are one's own to set.
	var u api.UserJSON
	if st := e.Do("PUT", "/api/me/languages", e.Teacher.Token, api.LanguagesRequest{Languages: []string{"en", "es"}}, &u); st != 200 || len(u.Languages) != 2 {
		t.Fatalf("languages: %d %+v", st, u)
	}
	errCode(t, e, "PUT", "/api/me/languages", e.Teacher.Token, api.LanguagesRequest{Languages: []string{"<b>"}}, 422, protocol.CodeInvalid)
}

func TestFamiliesInviteWhenTheSchoolAllows(t *testing.T) {
	e := apitest.Start(t, nil)
	_, oak := otherSchool(t, e)
	settings := "/api/schools/" + e.School.ID.String() + "/settings"
	errCode(t, e, "POST", "/api/invites", e.Family.Token, api.InviteRequest{Space: e.Ana.ID}, 403, protocol.CodeForbidden)
	var set api.SettingsJSON
	if st := e.Do("GET", settings, e.Family.Token, nil, &set); st != 200 || set.FamiliesInvite {
		t.Fatalf("default settings: %d %+v", st, set)
	}
	on := api.SettingsJSON{FamiliesInvite: true}
	errCode(t, e, "PUT", settings, e.Teacher.Token, on, 403, protocol.CodeForbidden)
	errCode(t, e, "PUT", settings, e.Family.Token, on, 403, protocol.CodeForbidden)
	errCode(t, e, "PUT", settings, oak.Token, on, 404, auth.CodeNotFound)
	errCode(t, e, "GET", "/api/schools/"+e.Ana.ID.String()+"/settings", e.Admin.Token, nil, 404, auth.CodeNotFound)
	if st := e.Do("PUT", settings, e.Admin.Token, on, &set); st != 200 || !set.FamiliesInvite {
		t.Fatalf("turn on: %d %+v", st, set)
	}
	code := e.Invite(e.Family, e.Ana.ID)
	// Only for their own child.
	errCode(t, e, "POST", "/api/invites", e.Family.Token, api.InviteRequest{Space: e.Sam.ID}, 404, auth.CodeNotFound)
	var res api.LoginResponse
	if st := e.Do("POST", "/api/invites/claim", "", api.ClaimRequest{Code: code, Name: "Papá"}, &res); st != 200 {
		t.Fatalf("co-caregiver claim: %d", st)
	}
	var team []auth.TeamMember
	e.Do("GET", "/api/spaces/"+e.Ana.ID.String()+"/team", e.Teacher.Token, nil, &team)
	found := false
	for _, m := range team {
		if m.ID == res.User.ID {
			found = m.InvitedBy != nil && m.InvitedBy.ID == e.Family.ID && m.Role == server.RoleFamily
		}
	}
	if !found {
		t.Fatalf("team does not say who invited the co-caregiver: %+v", team)
	}
	// The family sees only the invites they made.
	var list []auth.InviteInfo
	if st := e.Do("GET", "/api/spaces/"+e.Ana.ID.String()+"/invites", e.Family.Token, nil, &list); st != 200 || len(list) != 1 || list[0].By != e.Family.ID {
		t.Fatalf("family's invite list: %d %+v", st, list)
	}
	// Turned off again, families cannot invite.
	e.Do("PUT", settings, e.Admin.Token, api.SettingsJSON{}, nil)
	errCode(t, e, "POST", "/api/invites", e.Family.Token, api.InviteRequest{Space: e.Ana.ID}, 403, protocol.CodeForbidden)
}

func TestWrongCurrentPasswordsAndSetupCodesAreLimited(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) {
		c.APILimits.PasswordFailPerUser = api.Rate{Every: time.Hour, Burst: 2}
		c.APILimits.SetupFailPerClient = api.Rate{Every: time.Hour, Burst: 2}
	})
	wrong := api.PasswordRequest{Current: "not the password", Password: "a much better passphrase"}
	for range 2 {
		errCode(t, e, "POST", "/api/me/password", e.Teacher.Token, wrong, 403, protocol.CodeForbidden)
	}
	errCode(t, e, "POST", "/api/me/password", e.Teacher.Token, api.PasswordRequest{Current: apitest.Password, Password: "a much better passphrase"}, 429, protocol.CodeRateLimited)
	// Per user: another teacher is not slowed.
	errCode(t, e, "POST", "/api/me/password", e.OtherTeacher.Token, wrong, 403, protocol.CodeForbidden)
	bad := api.SetupRequest{Code: "AAAAA-AAAAA-AAAAA-AAAAA", Password: "a much better passphrase"}
	for range 2 {
		errCode(t, e, "POST", "/api/password/setup", "", bad, 404, auth.CodeNotFound)
	}
	errCode(t, e, "POST", "/api/password/setup", "", bad, 429, protocol.CodeRateLimited)
}

// TestAdminOfOneSchoolCannotTouchAnotherSchoolsStaff: someone who is admin
// of one school and teacher in another is out of reach of the second
// school's admin: no disable, no setup code, no look at their sessions
// (an admin of any one of a person's schools used to be enough, and a
// setup code for another school's admin is that school taken over).
func TestAdminOfOneSchoolCannotTouchAnotherSchoolsStaff(t *testing.T) {
	e := apitest.Start(t, nil)
	_, oak := otherSchool(t, e)
	if err := e.App.Store.PutMember(context.Background(), server.Member{Space: e.School.ID, User: oak.ID, Role: server.RoleTeacher}); err != nil {
		t.Fatal(err)
	}
	u := "/api/users/" + oak.ID.String()
	errCode(t, e, "POST", u+"/disable", e.Admin.Token, nil, 403, protocol.CodeForbidden)
	errCode(t, e, "POST", u+"/password-reset", e.Admin.Token, nil, 403, protocol.CodeForbidden)
	if st := e.Do("GET", u+"/sessions", e.Admin.Token, nil, nil); st != 403 {
		t.Fatalf("another school's admin's sessions: %d, want 403", st)
	}
	// Their own school's teacher stays within reach.
	if st := e.Do("GET", "/api/users/"+e.Teacher.ID.String()+"/sessions", e.Admin.Token, nil, nil); st != 200 {
		t.Fatalf("own teacher's sessions: %d", st)
	}
}

// TestNewPlanReachesOpenSockets: a plan the admin creates, and a plan a
// staff member is given, show on their open devices at once (each
// connection's spaces are fixed at hello, so the sockets reconnect).
func TestNewPlanReachesOpenSockets(t *testing.T) {
	e := apitest.Start(t, nil)
	as, ts := e.MustDial(e.Admin.Token), e.MustDial(e.OtherTeacher.Token)
	var sp api.SpaceJSON
	if st := e.Do("POST", "/api/students", e.Admin.Token, api.StudentRequest{Name: "Bea"}, &sp); st != 201 {
		t.Fatalf("new student: %d", st)
	}
	waitCode(t, as, protocol.CodeAccessChanged, accessDeadline)
	has := func(s *apitest.Sock, id uuid.UUID) bool {
		for _, w := range s.Welcome.Spaces {
			if w.ID == id {
				return true
			}
		}
		return false
	}
	if s := e.MustDial(e.Admin.Token); !has(s, sp.ID) {
		t.Fatalf("the admin's new socket does not list the new plan: %+v", s.Welcome.Spaces)
	}
	select {
	case <-ts.Closed():
		t.Fatal("a teacher's socket closed when a plan they are not on was made")
	default:
	}
	e.AddMember(sp.ID, e.OtherTeacher.ID, server.RoleTeacher)
	waitCode(t, ts, protocol.CodeAccessChanged, accessDeadline)
	if s := e.MustDial(e.OtherTeacher.Token); !has(s, sp.ID) {
		t.Fatalf("the teacher's new socket does not list the plan they were given: %+v", s.Welcome.Spaces)
	}
}
