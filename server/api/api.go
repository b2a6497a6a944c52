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
//	GET    /api/sessions                   the caller's sessions [{id, label, created, expires, current}]
//	DELETE /api/sessions/{id}              revoke one (its live sockets close)
//	GET    /api/users/{user}/sessions      an admin lists a school member's sessions
//	DELETE /api/users/{user}/sessions/{id} and revokes one
//	POST   /api/staff                      {name, login, password, role, school?} (admins)
//	POST   /api/students                   {name, school?} -> space (admins)
//	POST   /api/spaces/{space}/members     {user, role: teacher|support} (admins)
//	GET    /api/spaces/{space}/records/{collection}/{id}/history
//	                                       [{seq, time, author {id, name}, fields, conflict}]
//
// Login, claim and invite creation are rate-limited (per IP and login, per
// IP and invite, per user) with bounded maps of token buckets; a wrong
// invite secret also counts durably against its invite, which is burned
// after auth.DefaultMaxInviteFailures. Sessions list no last-seen time:
// recording one would cost a write per connection.
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
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/hub"
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
)

// Default rates. A person mistyping a password a few times is never
// slowed; a guesser gets a handful of tries a minute.
var (
	DefaultLoginPerIP    = Rate{Every: 6 * time.Second, Burst: 10}
	DefaultLoginPerLogin = Rate{Every: 30 * time.Second, Burst: 5}
	DefaultClaimPerIP    = Rate{Every: 6 * time.Second, Burst: 10}
	DefaultClaimPerCode  = Rate{Every: time.Minute, Burst: 5}
	DefaultInvitePerUser = Rate{Every: 30 * time.Second, Burst: 20}
)

// Limits are the rate limits; zero values take the defaults.
type Limits struct {
	LoginPerIP    Rate
	LoginPerLogin Rate
	ClaimPerIP    Rate
	ClaimPerCode  Rate
	InvitePerUser Rate
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
}

// API serves /api/.
type API struct {
	o   Options
	log *slog.Logger
	mux *http.ServeMux

	loginIP, loginName, claimIP, claimCode, invites *limiters
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
	def(&l.LoginPerIP, DefaultLoginPerIP)
	def(&l.LoginPerLogin, DefaultLoginPerLogin)
	def(&l.ClaimPerIP, DefaultClaimPerIP)
	def(&l.ClaimPerCode, DefaultClaimPerCode)
	def(&l.InvitePerUser, DefaultInvitePerUser)
	if l.MaxKeys == 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	a := &API{
		o:         o,
		log:       o.Logger.With("component", "api"),
		mux:       http.NewServeMux(),
		loginIP:   newLimiters(l.LoginPerIP, l.MaxKeys),
		loginName: newLimiters(l.LoginPerLogin, l.MaxKeys),
		claimIP:   newLimiters(l.ClaimPerIP, l.MaxKeys),
		claimCode: newLimiters(l.ClaimPerCode, l.MaxKeys),
		invites:   newLimiters(l.InvitePerUser, l.MaxKeys),
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
	m.HandleFunc("GET /api/spaces/{space}/records/{collection}/{id}/history", a.authed(a.history))
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

// unavailableRetryAfter is the Retry-After (seconds) of a 503 unavailable:
// the store takes writes again at its next free-space reading once space
// returns, so a short wait is enough and clients do not hammer it.
const unavailableRetryAfter = 5 // seconds

// fail writes err as JSON. Errors that are not *protocol.Error are internal:
// logged, and shown only as a generic message.
func (a *API) fail(w http.ResponseWriter, err error) {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		if errors.Is(err, server.ErrUnavailable) {
			pe = protocol.Errorf(protocol.CodeUnavailable, "the server cannot save changes right now: try again later")
			w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
		} else {
			a.log.Error("internal error", "err", err)
			pe = protocol.Errorf(protocol.CodeInternal, "something went wrong on the server; try again later")
		}
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

// clientIP is the peer address's host. Behind a reverse proxy every
// request would share the proxy's address; trusting a forwarding header is
// a deployment choice left for when there is one.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Login string    `json:"login,omitempty"`
}

func userJSON(u *server.User) UserJSON { return UserJSON{ID: u.ID, Name: u.Name, Login: u.Login} }

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
	key := strings.ToLower(strings.TrimSpace(req.Login))
	if len(key) > auth.MaxLoginLen {
		key = key[:auth.MaxLoginLen]
	}
	// Both buckets are charged, so a guesser spreading over logins meets
	// the IP limit and one spreading over IPs meets the login limit.
	okIP := a.loginIP.allow(clientIP(r), now)
	okName := a.loginName.allow(key, now)
	if !okIP || !okName {
		a.fail(w, errTooMany)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	tok, u, err := a.o.Auth.Login(ctx, req.Login, req.Password, req.Device)
	if err != nil {
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
		a.fail(w, errTooMany)
		return
	}
	code, exp, err := a.o.Auth.NewInvite(r.Context(), p, req.Space)
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
	if !a.claimIP.allow(clientIP(r), now) {
		a.fail(w, errTooMany)
		return
	}
	if id, ok := auth.InviteID(req.Code); ok && !a.claimCode.allow(id, now) {
		a.fail(w, errTooMany)
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
	res, err := a.o.Auth.Claim(ctx, p, auth.ClaimRequest{Code: req.Code, Name: req.Name, Passphrase: req.Passphrase, Device: req.Device})
	if err != nil {
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
