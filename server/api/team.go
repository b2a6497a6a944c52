package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// teamRoutes are the endpoints of team and account management (the table
// in README.md's API section and in auth/team.go says who may).
func (a *API) teamRoutes(m *http.ServeMux) {
	m.HandleFunc("DELETE /api/spaces/{space}/members/{user}", a.authed(a.removeMember))
	m.HandleFunc("GET /api/spaces/{space}/team", a.authed(a.team))
	m.HandleFunc("DELETE /api/spaces/{space}/invites/{id}", a.authed(a.revokeInvite))
	m.HandleFunc("POST /api/users/{user}/disable", a.authed(a.setDisabled(true)))
	m.HandleFunc("POST /api/users/{user}/enable", a.authed(a.setDisabled(false)))
	m.HandleFunc("POST /api/users/{user}/password-reset", a.authed(a.resetPassword))
	m.HandleFunc("POST /api/password/setup", a.setupPassword)
	m.HandleFunc("POST /api/me/password", a.authed(a.changePassword))
	m.HandleFunc("PUT /api/me/languages", a.authed(a.setLanguages))
	m.HandleFunc("DELETE /api/sessions", a.authed(a.signOutOthers))
	m.HandleFunc("GET /api/schools/{school}/settings", a.authed(a.settings))
	m.HandleFunc("PUT /api/schools/{school}/settings", a.authed(a.putSettings))
}

func pathID(r *http.Request, name string, notFound error) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

var errNoUser = protocol.Errorf(auth.CodeNotFound, "no such user")

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	space, err := pathID(r, "space", auth.ErrNoSuchSpace)
	if err != nil {
		a.fail(w, err)
		return
	}
	user, err := pathID(r, "user", auth.ErrNoSuchOne)
	if err != nil {
		a.fail(w, err)
		return
	}
	if err := a.o.Auth.RemoveMember(r.Context(), p, space, user); err != nil {
		a.fail(w, err)
		return
	}
	a.o.Events.Event(secevent.MemberRemoved, "client", a.o.ClientKey(r), "space", space, "user", user, "by", p.User.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) team(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	space, err := pathID(r, "space", auth.ErrNoSuchSpace)
	if err != nil {
		a.fail(w, err)
		return
	}
	t, err := a.o.Auth.Team(r.Context(), p, space)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (a *API) revokeInvite(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	space, err := pathID(r, "space", auth.ErrNoSuchSpace)
	if err != nil {
		a.fail(w, err)
		return
	}
	if err := a.o.Auth.RevokeInvite(r.Context(), p, space, r.PathValue("id")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) setDisabled(disabled bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		user, err := pathID(r, "user", errNoUser)
		if err != nil {
			a.fail(w, err)
			return
		}
		u, err := a.o.Auth.SetDisabled(r.Context(), p, user, disabled)
		if err != nil {
			a.fail(w, err)
			return
		}
		ev := secevent.AccountEnabled
		if disabled {
			ev = secevent.AccountDisabled
		}
		a.o.Events.Event(ev, "client", a.o.ClientKey(r), "user", user, "by", p.User.ID)
		writeJSON(w, http.StatusOK, userJSON(u))
	}
}

// SetupCodeResponse is a password setup code, shown once to the admin.
type SetupCodeResponse struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	user, err := pathID(r, "user", errNoUser)
	if err != nil {
		a.fail(w, err)
		return
	}
	code, exp, err := a.o.Auth.ResetPassword(r.Context(), p, user)
	if err != nil {
		a.fail(w, err)
		return
	}
	a.o.Events.Event(secevent.PasswordReset, "client", a.o.ClientKey(r), "user", user, "by", p.User.ID)
	writeJSON(w, http.StatusCreated, SetupCodeResponse{Code: code, Expires: exp})
}

// SetupRequest is the body of POST /api/password/setup.
type SetupRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

// SetupResponse names the login whose password was set.
type SetupResponse struct {
	Login string `json:"login"`
}

func (a *API) setupPassword(w http.ResponseWriter, r *http.Request) {
	var req SetupRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	client := a.o.ClientKey(r)
	if no, wait := a.setupClient.blocked(client, a.o.Now()); no {
		a.tooMany(w, client, "setup_per_client", wait)
		return
	}
	login, err := a.o.Auth.UseSetupCode(r.Context(), req.Code, req.Password)
	if err != nil {
		if errors.Is(err, auth.ErrBadSetup) {
			a.setupClient.fail(client, a.o.Now())
			a.o.Events.Event(secevent.FailedSetup, "client", client)
		}
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, SetupResponse{Login: login})
}

// PasswordRequest is the body of POST /api/me/password.
type PasswordRequest struct {
	Current  string `json:"current"`
	Password string `json:"password"`
}

// EndedResponse says how many other sessions ended.
type EndedResponse struct {
	Ended int `json:"ended"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req PasswordRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	key := p.User.ID.String()
	if no, wait := a.passwordUser.blocked(key, a.o.Now()); no {
		a.tooMany(w, a.o.ClientKey(r), "password_per_user", wait, "user", p.User.ID)
		return
	}
	n, err := a.o.Auth.ChangePassword(r.Context(), p, req.Current, req.Password)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeForbidden {
			a.passwordUser.fail(key, a.o.Now())
			a.o.Events.Event(secevent.FailedLogin, "client", a.o.ClientKey(r), "login", p.User.Login, "action", "password_change")
		}
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, EndedResponse{Ended: n})
}

// LanguagesRequest is the body of PUT /api/me/languages.
type LanguagesRequest struct {
	Languages []string `json:"languages"`
}

func (a *API) setLanguages(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req LanguagesRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	before := firstLang(p.User.Languages)
	u, err := a.o.Auth.SetLanguages(r.Context(), p, req.Languages)
	if err != nil {
		a.fail(w, err)
		return
	}
	if a.o.LanguagesChanged != nil && firstLang(u.Languages) != before {
		a.o.LanguagesChanged(u.ID)
	}
	writeJSON(w, http.StatusOK, userJSON(u))
}

// firstLang is the base of a person's first language ("es" of "es-MX"),
// the one translations are made into.
func firstLang(langs []string) string {
	if len(langs) == 0 {
		return ""
	}
	return plan.BaseLang(langs[0])
}

func (a *API) signOutOthers(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	n, err := a.o.Auth.SignOutOthers(r.Context(), p)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, EndedResponse{Ended: n})
}

// SettingsJSON is a school's settings.
type SettingsJSON struct {
	FamiliesInvite bool `json:"families_invite"`
}

func (a *API) settings(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	school, err := pathID(r, "school", auth.ErrNoSuchSpace)
	if err != nil {
		a.fail(w, err)
		return
	}
	st, err := a.o.Auth.Settings(r.Context(), p, school)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, SettingsJSON{FamiliesInvite: st.FamiliesInvite})
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	school, err := pathID(r, "school", auth.ErrNoSuchSpace)
	if err != nil {
		a.fail(w, err)
		return
	}
	var req SettingsJSON
	if err := decode(r, &req); err != nil {
		a.fail(w, err)
		return
	}
	if err := a.o.Auth.PutSettings(r.Context(), p, school, &server.SchoolSettings{FamiliesInvite: req.FamiliesInvite}); err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}
