// Package api is the JSON HTTP API under /api/: signing in, invites,
// sessions, staff and student management, and a record's history. Tokens
// travel in the JSON body of responses and in the Authorization header of
// requests ("Bearer <token>"), never in URLs, which end up in logs.
//
// Endpoints (bodies and answers are the Request/Response types here):
//
//	POST   /api/login                      {login, password, device} -> {token, user}
//	POST   /api/logout                     ends the caller's session (204)
//	GET    /api/me                         the caller and their spaces with roles
//	POST   /api/invites                    {space} -> {code, expires}   (teachers, admins)
//	POST   /api/invites/claim              {code, name, passphrase?, device} -> {token, user, space}
//	                                       (with a bearer token: join another space, no new token)
//	GET    /api/sessions                   the caller's sessions [{id, label, created, expires, current, last_seen, client}]
//	DELETE /api/sessions/{id}              revoke one (its live sockets close)
//	GET    /api/users/{user}/sessions      an admin lists a school member's sessions
//	DELETE /api/users/{user}/sessions/{id} and revokes one
//	POST   /api/staff                      {name, login, password, role, school?} (admins)
//	POST   /api/students                   {name, school?} -> space (admins)
//	POST   /api/spaces/{space}/members     {user, role: teacher|support} (admins)
//	GET    /api/spaces/{space}/invites     [{id, state, by, created, expires, failures, burned, ...}]
//	                                       (the space's teachers and admins; every state)
//	GET    /api/spaces/{space}/records/{collection}/{id}/history
//	                                       [{seq, time, author {id, name}, fields, conflict}]
//
// Team and account management (team.go; who may call each, and the JSON,
// in shared/PROTOCOL.md, "HTTP API"): DELETE /api/spaces/{space}/members/{user},
// GET /api/spaces/{space}/team, DELETE /api/spaces/{space}/invites/{id},
// POST /api/users/{user}/disable|enable|password-reset, POST /api/password/setup,
// POST /api/me/password, PUT /api/me/languages, DELETE /api/sessions (all
// but this one), GET|PUT /api/schools/{school}/settings.
//
// Failed logins and claims are rate-limited with bounded maps of token
// buckets that count only failures, keyed by client and target (client
// and login, client and invite id) plus a loose per-client bucket; a
// login's global bucket only slows attempts, so no stranger can lock its
// owner out. Invite creation is limited per user. A wrong invite secret
// also counts durably against its invite, which is burned after
// auth.DefaultMaxInviteFailures. The client is the peer address, or the
// forwarded one behind a trusted proxy (server/clientaddr). A session's
// last-seen time is written at most once a minute (auth.SeenEvery).
//
// Errors are {"error": {"code", "message"}} with the HTTP status of the code
// (shared/protocol's table, plus not_found 404 and exists 409). Internal
// errors are logged and shown as a generic message.
//
// What a caller may read is decided by the same hub.Rules the sync hub
// uses (server/access), so a record hidden from a role over sync is hidden
// here too.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/clientaddr"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// Default limits.
const (
	// MaxBodyBytes bounds a request body: every request here is a few
	// short fields.
	MaxBodyBytes = 16 << 10 // bytes
	// DefaultMaxKeys bounds each rate-limit map.
	DefaultMaxKeys = 10000
	// requestTimeout bounds the store work of one request.
	requestTimeout = 30 * time.Second
	// DefaultLoginSlowdown is how long each attempt at a login waits once
	// that login's global failure bucket is empty (guesses from many
	// addresses): long enough to make a distributed guesser crawl, short
	// enough that the owner, typing the right password from anywhere, is
	// only slowed and never refused.
	DefaultLoginSlowdown = 2 * time.Second
	// busyRetryAfter is the Retry-After of a 503: the hashing queue or a
	// full disk, both of which clear within seconds or need an operator.
	busyRetryAfter = "5"
)

// Default rates. Only failures are counted, and each bucket is keyed by
// the client (its address grouped as server/clientaddr groups it) and the
// target together, so a stranger's wrong guesses never lock the owner out
// from the owner's own address. A person mistyping a few times is never
// slowed; a guesser gets a handful of tries a minute per target.
var (
	// DefaultLoginFailPerClientLogin: five wrong passwords from one
	// address at one login, then one a minute.
	DefaultLoginFailPerClientLogin = Rate{Every: time.Minute, Burst: 5}
	// DefaultLoginFailPerClient bounds one address guessing across many
	// logins; loose, so that a school behind one NAT is not locked out by
	// one pupil.
	DefaultLoginFailPerClient = Rate{Every: 3 * time.Second, Burst: 50}
	// DefaultLoginFailPerLogin is the global bucket of one login, from all
	// addresses. When it is empty attempts are slowed (LoginSlowdown),
	// never refused: refusing would let anyone lock a staff member out.
	DefaultLoginFailPerLogin = Rate{Every: 10 * time.Second, Burst: 50}
	// DefaultClaimFailPerClientInvite: wrong codes from one address at one
	// invite id (the durable per-invite count burns it at
	// auth.DefaultMaxInviteFailures whoever guesses).
	DefaultClaimFailPerClientInvite = Rate{Every: time.Minute, Burst: 5}
	// DefaultClaimFailPerClient bounds one address spraying random codes;
	// above the ten junk claims a shared network may see before a parent
	// types the right code.
	DefaultClaimFailPerClient = Rate{Every: 30 * time.Second, Burst: 20}
	// DefaultInvitePerUser bounds invite creation by one signed-in user
	// (every call, not only failures: each costs a hash and a write).
	DefaultInvitePerUser = Rate{Every: 30 * time.Second, Burst: 20}
	// DefaultSetupFailPerClient bounds wrong password setup codes from one
	// address. A code carries 100 bits, so this guards the hashing each
	// attempt costs (the new password is hashed first), not the code.
	DefaultSetupFailPerClient = Rate{Every: 30 * time.Second, Burst: 20}
	// DefaultPasswordFailPerUser bounds wrong current passwords in a
	// password change by one signed-in user: a stolen session must not
	// become a way to guess the password behind it.
	DefaultPasswordFailPerUser = Rate{Every: time.Minute, Burst: 5}
)

// Limits are the rate limits; zero values take the defaults.
type Limits struct {
	LoginFailPerClientLogin  Rate
	LoginFailPerClient       Rate
	LoginFailPerLogin        Rate
	ClaimFailPerClientInvite Rate
	ClaimFailPerClient       Rate
	InvitePerUser            Rate
	SetupFailPerClient       Rate
	PasswordFailPerUser      Rate
	// LoginSlowdown is DefaultLoginSlowdown unless set.
	LoginSlowdown time.Duration
	// MaxKeys bounds every rate-limit map.
	MaxKeys int
}

// Options configure the API.
type Options struct {
	Auth   *auth.Service
	Store  server.Store
	Rules  hub.Rules
	Logger *slog.Logger
	Now    func() time.Time
	Limits Limits
	// ClientKey names the client of a request for rate limits and the
	// security log; nil means the peer address (clientaddr.Resolver with
	// no trusted proxy).
	ClientKey func(*http.Request) string
	// Events is the security event log; nil only counts events.
	Events *secevent.Log
	// LanguagesChanged, when set, is called after a person's first
	// language changed (PUT /api/me/languages): the translator then
	// translates their plans' texts into it. It must not block.
	LanguagesChanged func(user uuid.UUID)
}

// API serves /api/.
type API struct {
	o   Options
	log *slog.Logger
	mux *http.ServeMux

	loginPair, loginClient, loginName, claimPair, claimClient, invites, setupClient, passwordUser *limiters
}

// New returns the API handler.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &o.Limits
	def := func(r *Rate, d Rate) {
		if r.Every == 0 || r.Burst == 0 {
			*r = d
		}
	}
	def(&l.LoginFailPerClientLogin, DefaultLoginFailPerClientLogin)
	def(&l.LoginFailPerClient, DefaultLoginFailPerClient)
	def(&l.LoginFailPerLogin, DefaultLoginFailPerLogin)
	def(&l.ClaimFailPerClientInvite, DefaultClaimFailPerClientInvite)
	def(&l.ClaimFailPerClient, DefaultClaimFailPerClient)
	def(&l.InvitePerUser, DefaultInvitePerUser)
	def(&l.SetupFailPerClient, DefaultSetupFailPerClient)
	def(&l.PasswordFailPerUser, DefaultPasswordFailPerUser)
	if l.LoginSlowdown == 0 {
		l.LoginSlowdown = DefaultLoginSlowdown
	}
	if l.MaxKeys == 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	if o.ClientKey == nil {
		o.ClientKey = clientaddr.New(nil).Key
	}
	a := &API{
		o:            o,
		log:          o.Logger.With("component", "api"),
		mux:          http.NewServeMux(),
		loginPair:    newLimiters(l.LoginFailPerClientLogin, l.MaxKeys),
		loginClient:  newLimiters(l.LoginFailPerClient, l.MaxKeys),
		loginName:    newLimiters(l.LoginFailPerLogin, l.MaxKeys),
		claimPair:    newLimiters(l.ClaimFailPerClientInvite, l.MaxKeys),
		claimClient:  newLimiters(l.ClaimFailPerClient, l.MaxKeys),
		invites:      newLimiters(l.InvitePerUser, l.MaxKeys),
		setupClient:  newLimiters(l.SetupFailPerClient, l.MaxKeys),
		passwordUser: newLimiters(l.PasswordFailPerUser, l.MaxKeys),
	}
	m := a.mux
	m.HandleFunc("POST /api/login", a.login)
	m.HandleFunc("POST /api/logout", a.authed(a.logout))
	m.HandleFunc("GET /api/me", a.authed(a.me))
	m.HandleFunc("POST /api/invites", a.authed(a.newInvite))
	m.HandleFunc("POST /api/invites/claim", a.claim)
	m.HandleFunc("GET /api/sessions", a.authed(a.sessions))
	m.HandleFunc("DELETE /api/sessions/{id}", a.authed(a.revoke))
	m.HandleFunc("GET /api/users/{user}/sessions", a.authed(a.sessions))
	m.HandleFunc("DELETE /api/users/{user}/sessions/{id}", a.authed(a.revoke))
	m.HandleFunc("POST /api/staff", a.authed(a.newStaff))
	m.HandleFunc("POST /api/students", a.authed(a.newStudent))
	m.HandleFunc("POST /api/spaces/{space}/members", a.authed(a.addMember))
	m.HandleFunc("GET /api/spaces/{space}/invites", a.authed(a.listInvites))
	m.HandleFunc("GET /api/spaces/{space}/records/{collection}/{id}/history", a.authed(a.history))
	a.teamRoutes(m)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, protocol.Errorf(auth.CodeNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path))
	})
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	a.mux.ServeHTTP(w, r)
}

// statusOf maps a code to an HTTP status: shared/protocol's table plus the
// two codes only this API uses.
func statusOf(c protocol.Code) int {
	switch c {
	case auth.CodeNotFound:
		return http.StatusNotFound
	case auth.CodeExists:
		return http.StatusConflict
	case auth.CodeDisabled:
		return http.StatusForbidden
	}
	return protocol.StatusOf(c).HTTP
}

// ErrorJSON is an error as the API shows it.
type ErrorJSON struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
}

type errorBody struct {
	Error ErrorJSON `json:"error"`
}

// fail writes err as JSON. Errors that are not *protocol.Error are internal:
// logged, and shown only as a generic message.
func (a *API) fail(w http.ResponseWriter, err error) {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		if errors.Is(err, server.ErrUnavailable) {
			pe = protocol.Errorf(protocol.CodeUnavailable, "the server cannot save changes right now: try again later")
		} else {
			a.log.Error("internal error", "err", err)
			pe = protocol.Errorf(protocol.CodeInternal, "something went wrong on the server; try again later")
		}
	}
	if pe.Code == protocol.CodeUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", busyRetryAfter)
	}
	writeJSON(w, statusOf(pe.Code), errorBody{Error: ErrorJSON{Code: pe.Code, Message: pe.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v.
func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body too large")
		}
		return protocol.Errorf(protocol.CodeBadRequest, "the request body is not the JSON expected")
	}
	return nil
}

// tooMany refuses a rate-limited attempt, saying when to come back, and
// logs the hit (never the password or code that was sent).
func (a *API) tooMany(w http.ResponseWriter, client, limit string, wait time.Duration, attrs ...any) {
	a.o.Events.Event(secevent.RateLimited, append([]any{"client", client, "limit", limit}, attrs...)...)
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	a.fail(w, errTooMany)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

var errTooMany = protocol.Errorf(protocol.CodeRateLimited, "too many attempts: wait a minute and try again")

type handler func(w http.ResponseWriter, r *http.Request, p *auth.Principal)

// authed runs h for a signed-in caller.
func (a *API) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		p, err := a.o.Auth.Authenticate(ctx, bearer(r))
		if err != nil {
			a.fail(w, err)
			return
		}
		h(w, r, p)
	}
}

// UserJSON is a user as the API shows them.
type UserJSON struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Login     string    `json:"login,omitempty"`
	Languages []string  `json:"languages,omitempty"`
	Disabled  bool      `json:"disabled,omitempty"`
}

func userJSON(u *server.User) UserJSON {
	return UserJSON{ID: u.ID, Name: u.Name, Login: u.Login, Languages: u.Languages, Disabled: u.Disabled}
}

// SpaceJSON is a space as the API shows it.
type SpaceJSON struct {
	ID     uuid.UUID        `json:"id"`
	Name   string           `json:"name"`
	Kind   server.SpaceKind `json:"kind"`
	Role   server.Role      `json:"role,omitempty"`
	School *uuid.UUID       `json:"school,omitempty"`
}

func spaceJSON(sp *server.Space, role server.Role) SpaceJSON {
	s := SpaceJSON{ID: sp.ID, Name: sp.Name, Kind: sp.Kind, Role: role}
	if sp.School != uuid.Nil {
		id := sp.School
		s.School = &id
	}
	return s
}

// LoginRequest is the body of POST /api/login.
type LoginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	Device   string `json:"device"`
}

// LoginResponse answers a login or a claim.
type LoginResponse struct {
	Token string     `json:"token,omitempty"`
	User  UserJSON   `json:"user"`
	Space *SpaceJSON `json:"space,omitempty"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	now := a.o.Now()
	login := strings.ToLower(strings.TrimSpace(req.Login))
	if len(login) > auth.MaxLoginLen {
		login = login[:auth.MaxLoginLen]
	}
	client := a.o.ClientKey(r)
	pair := client + "|" + login
	if no, wait := a.loginPair.blocked(pair, now); no {
		a.tooMany(w, client, "login_per_client_login", wait, "login", secevent.Typed(login))
		return
	}
	if no, wait := a.loginClient.blocked(client, now); no {
		a.tooMany(w, client, "login_per_client", wait)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	if no, _ := a.loginName.blocked(login, now); no {
		// Guesses at this login from many addresses: slow every attempt,
		// refuse none, so the owner still gets in.
		a.o.Events.Event(secevent.RateLimited, "client", client, "limit", "login_per_login", "login", secevent.Typed(login), "action", "slowed")
		t := time.NewTimer(a.o.Limits.LoginSlowdown)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	tok, u, err := a.o.Auth.LoginFrom(ctx, req.Login, req.Password, req.Device, client)
	if err != nil {
		if errors.Is(err, auth.ErrBadLogin) {
			now := a.o.Now()
			a.loginPair.fail(pair, now)
			a.loginClient.fail(client, now)
			a.loginName.fail(login, now)
			logged := login
			if errors.Is(err, auth.ErrUnknownLogin) {
				logged = secevent.Typed(login)
			}
			a.o.Events.Event(secevent.FailedLogin, "client", client, "login", logged)
		}
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, LoginResponse{Token: tok, User: userJSON(u)})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := a.o.Auth.Logout(r.Context(), p); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// MeResponse is the caller and their spaces.
type MeResponse struct {
	User   UserJSON    `json:"user"`
	Spaces []SpaceJSON `json:"spaces"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	out := MeResponse{User: userJSON(p.User), Spaces: []SpaceJSON{}}
	ms, err := a.o.Store.Memberships(r.Context(), p.User.ID)
	if err != nil {
		a.fail(w, err)
		return
	}
	for _, m := range ms {
		sp, err := a.o.Store.Space(r.Context(), m.Space)
		if err != nil {
			a.fail(w, err)
			return
		}
		out.Spaces = append(out.Spaces, spaceJSON(sp, m.Role))
	}
	writeJSON(w, http.StatusOK, out)
}

// InviteRequest is the body of POST /api/invites.
type InviteRequest struct {
	Space uuid.UUID `json:"space"`
	// Language is the slip's language (BCP 47, optional); it becomes the
	// new member's language.
	Language string `json:"language,omitempty"`
}

// InviteResponse is a new invite code.
type InviteResponse struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

func (a *API) newInvite(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req InviteRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	if !a.invites.allow(p.User.ID.String(), a.o.Now()) {
		a.tooMany(w, a.o.ClientKey(r), "invites_per_user", a.invites.rate.Every, "user", p.User.ID)
		return
	}
	code, exp, err := a.o.Auth.NewInvite(r.Context(), p, req.Space, req.Language)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, InviteResponse{Code: code, Expires: exp})
}

// ClaimRequest is the body of POST /api/invites/claim.
type ClaimRequest struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Passphrase string `json:"passphrase,omitempty"`
	Device     string `json:"device"`
}

// claim joins a space by invite, as a new user, or, with a bearer token,
// as the signed-in user.
func (a *API) claim(w http.ResponseWriter, r *http.Request) {
	var req ClaimRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	now := a.o.Now()
	client := a.o.ClientKey(r)
	// The invite id is the code's public lookup part; a code that does not
	// parse counts only against its sender's address.
	id, _ := auth.InviteID(req.Code)
	pair := client + "|" + id
	if no, wait := a.claimClient.blocked(client, now); no {
		a.tooMany(w, client, "claim_per_client", wait)
		return
	}
	if no, wait := a.claimPair.blocked(pair, now); id != "" && no {
		a.tooMany(w, client, "claim_per_client_invite", wait, "invite", id)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	var p *auth.Principal
	if tok := bearer(r); tok != "" {
		var err error
		if p, err = a.o.Auth.Authenticate(ctx, tok); err != nil {
			a.fail(w, err)
			return
		}
	}
	res, err := a.o.Auth.Claim(ctx, p, auth.ClaimRequest{Code: req.Code, Name: req.Name, Passphrase: req.Passphrase, Device: req.Device, Client: client})
	if err != nil {
		if errors.Is(err, auth.ErrBadInvite) {
			now := a.o.Now()
			a.claimClient.fail(client, now)
			if id != "" {
				a.claimPair.fail(pair, now)
			}
			a.o.Events.Event(secevent.FailedClaim, "client", client, "invite", id)
		}
		a.fail(w, err)
		return
	}
	sp := spaceJSON(res.Space, server.RoleFamily)
	writeJSON(w, http.StatusOK, LoginResponse{Token: res.Token, User: userJSON(res.User), Space: &sp})
}

// targetUser is the {user} of the path, or the caller.
func targetUser(r *http.Request, p *auth.Principal) (uuid.UUID, error) {
	s := r.PathValue("user")
	if s == "" {
		return p.User.ID, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, protocol.Errorf(auth.CodeNotFound, "no such user")
	}
	return id, nil
}

func (a *API) sessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	user, err := targetUser(r, p)
	if err != nil {
		a.fail(w, err)
		return
	}
	ses, err := a.o.Auth.Sessions(r.Context(), p, user)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ses)
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	user, err := targetUser(r, p)
	if err != nil {
		a.fail(w, err)
		return
	}
	if err := a.o.Auth.Revoke(r.Context(), p, user, r.PathValue("id")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// StaffRequest is the body of POST /api/staff.
type StaffRequest struct {
	School   *uuid.UUID  `json:"school,omitempty"`
	Name     string      `json:"name"`
	Login    string      `json:"login"`
	Password string      `json:"password"`
	Role     server.Role `json:"role"`
}

func (a *API) school(r *http.Request, p *auth.Principal, named *uuid.UUID) (uuid.UUID, error) {
	if named != nil {
		return *named, nil
	}
	var schools []uuid.UUID
	for id, role := range p.Roles {
		if role != server.RoleAdmin {
			continue
		}
		sp, err := a.o.Store.Space(r.Context(), id)
		if err != nil {
			return uuid.Nil, err
		}
		if sp.Kind == server.KindSchool {
			schools = append(schools, id)
		}
	}
	switch len(schools) {
	case 0:
		return uuid.Nil, auth.ErrNotAdmin
	case 1:
		return schools[0], nil
	}
	return uuid.Nil, protocol.Errorf(protocol.CodeInvalid, "you administer several schools: name one (school)")
}

func (a *API) newStaff(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req StaffRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	school, err := a.school(r, p, req.School)
	if err != nil {
		a.fail(w, err)
		return
	}
	u, err := a.o.Auth.CreateStaff(r.Context(), p, school, req.Name, req.Login, req.Password, req.Role)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, userJSON(u))
}

// StudentRequest is the body of POST /api/students.
type StudentRequest struct {
	School *uuid.UUID `json:"school,omitempty"`
	Name   string     `json:"name"`
}

func (a *API) newStudent(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req StudentRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	school, err := a.school(r, p, req.School)
	if err != nil {
		a.fail(w, err)
		return
	}
	sp, err := a.o.Auth.CreateStudent(r.Context(), p, school, req.Name)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, spaceJSON(sp, server.RoleAdmin))
}

// MemberRequest is the body of POST /api/spaces/{space}/members.
type MemberRequest struct {
	User uuid.UUID   `json:"user"`
	Role server.Role `json:"role"`
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	space, err := uuid.Parse(r.PathValue("space"))
	if err != nil {
		a.fail(w, auth.ErrNoSuchSpace)
		return
	}
	var req MemberRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	if err := a.o.Auth.AddMember(r.Context(), p, space, req.User, req.Role); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listInvites(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	space, err := uuid.Parse(r.PathValue("space"))
	if err != nil {
		a.fail(w, auth.ErrNoSuchSpace)
		return
	}
	invs, err := a.o.Auth.Invites(r.Context(), p, space)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, invs)
}
