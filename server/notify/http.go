package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/vmihailenco/msgpack/v5"
)

const (
	maxBody        = 16 << 10 // bytes: the API's own bound
	requestTimeout = 30 * time.Second
	// maxCallList bounds one call list: an office rings fewer than this a
	// day.
	maxCallList = 500
)

func (s *Service) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/notify/prefs", s.authed(s.getPrefs))
	m.HandleFunc("PUT /api/notify/prefs", s.authed(s.putPrefs))
	m.HandleFunc("POST /api/notify/prefs/verify", s.authed(s.verifyPrefs))
	m.HandleFunc("GET /api/notify/call-list", s.authed(s.callList))
	m.HandleFunc("POST /api/notify/sms", s.smsInbound)
	return m
}

type errJSON struct {
	Error struct {
		Code    protocol.Code `json:"code"`
		Message string        `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		if errors.Is(err, server.ErrUnavailable) {
			pe = protocol.Errorf(protocol.CodeUnavailable, "the server cannot save changes right now: try again later")
			w.Header().Set("Retry-After", "5")
		} else {
			s.log.Error("internal error", "err", err)
			pe = protocol.Errorf(protocol.CodeInternal, "something went wrong on the server; try again later")
		}
	}
	var body errJSON
	body.Error.Code, body.Error.Message = pe.Code, pe.Message
	writeJSON(w, statusOf(pe.Code), body)
}

func (s *Service) authed(h func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		tok := ""
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			tok = strings.TrimSpace(h[7:])
		}
		p, err := s.o.Auth.Authenticate(ctx, tok)
		if err != nil {
			s.fail(w, err)
			return
		}
		h(w, r, p)
	}
}

// PrefsJSON is what GET /api/notify/prefs answers: the preferences and
// the channels this server can use, so the screen offers only those.
type PrefsJSON struct {
	Prefs
	Available []string `json:"available"`
	// VAPIDPublicKey is what the service worker subscribes to push with.
	VAPIDPublicKey string `json:"vapid_public_key,omitempty"`
	// Verifying names the channel ("email", "sms") a code was sent on,
	// waiting for POST /api/notify/prefs/verify.
	Verifying string `json:"verifying,omitempty"`
}

func (s *Service) prefsJSON(p *Prefs) PrefsJSON {
	out := PrefsJSON{Prefs: *p, Available: s.available()}
	out.Verify = nil
	if p.Verify != nil {
		out.Verifying = p.Verify.Channel
	}
	if push, ok := s.chans[ChanPush].(*Push); ok {
		out.VAPIDPublicKey = push.PublicKey()
	}
	return out
}

func (s *Service) available() []string {
	out := []string{}
	for _, c := range []string{ChanPush, ChanEmail, ChanSMS} {
		if s.chans[c] != nil {
			out = append(out, c)
		}
	}
	return append(out, ChanCall)
}

func (s *Service) getPrefs(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	prefs, err := s.prefs(r.Context(), p.User.ID, uuid.Nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.prefsJSON(prefs))
}

func (s *Service) putPrefs(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	// A PrefsJSON, so that what GET answered may be sent back as it is;
	// its read-only parts are ignored.
	var in PrefsJSON
	if err := dec.Decode(&in); err != nil {
		s.fail(w, protocol.Errorf(protocol.CodeInvalid, "preferences: "+err.Error()))
		return
	}
	prefs := in.Prefs
	if err := prefs.Validate(); err != nil {
		s.fail(w, protocol.Errorf(protocol.CodeInvalid, "preferences: "+err.Error()))
		return
	}
	prefs.FromProfile = false
	old, err := s.prefs(r.Context(), p.User.ID, uuid.Nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	// What the person cannot set: verification is the server's.
	prefs.EmailVerified = old.EmailVerified && prefs.Email == old.Email
	prefs.PhoneVerified = old.PhoneVerified && prefs.Phone == old.Phone
	prefs.Verify = old.Verify
	if err := s.startVerify(r.Context(), p.User, &prefs); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.savePrefs(r.Context(), p.User.ID, &prefs); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.prefsJSON(&prefs))
}

func (s *Service) savePrefs(ctx context.Context, user uuid.UUID, p *Prefs) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.o.Store.PutNotifyPrefs(ctx, user, b)
}

// CallJSON is one line of the call list.
type CallJSON struct {
	Who      string    `json:"who"`
	User     uuid.UUID `json:"user"`
	Phone    string    `json:"phone,omitempty"`
	Language string    `json:"language"`
	About    string    `json:"about"` // in the person's language, to read out
	Plan     string    `json:"plan"`
	Link     string    `json:"link"`
	Since    time.Time `json:"since"`
}

// callList answers a school admin with who the office should ring, in
// which language, about what: the items of people no channel reaches.
// ?format=text gives a printable table.
func (s *Service) callList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	school, err := s.adminSchool(r, p)
	if err != nil {
		s.fail(w, err)
		return
	}
	items, err := s.o.Store.NotifyItems(r.Context(), school, store.NotifyCall, maxCallList)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]CallJSON, 0, len(items))
	for _, it := range items {
		pl := new(payload)
		if msgpack.Unmarshal(it.Payload, pl) != nil {
			continue
		}
		c := CallJSON{User: it.User, Who: s.userName(r.Context(), it.User), Language: catalogLang(pl.Lang), About: pl.line(), Plan: pl.Where, Link: pl.link(s.o.BaseURL), Since: it.Created}
		if prefs, err := s.prefs(r.Context(), it.User, pl.Space); err == nil {
			c.Phone = prefs.Phone
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b CallJSON) int { return strings.Compare(a.Who, b.Who) })
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHO\tPHONE\tLANGUAGE\tPLAN\tABOUT")
		for _, c := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Who, c.Phone, c.Language, c.Plan, c.About)
		}
		_ = tw.Flush()
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

// adminSchool is the school named by ?school=, or the one the caller
// administers; anyone else is refused.
func (s *Service) adminSchool(r *http.Request, p *auth.Principal) (uuid.UUID, error) {
	if q := r.URL.Query().Get("school"); q != "" {
		id, err := uuid.Parse(q)
		if err != nil {
			return uuid.Nil, protocol.Errorf(protocol.CodeInvalid, "school: not an id")
		}
		if p.Role(id) != server.RoleAdmin {
			return uuid.Nil, auth.ErrNotAdmin
		}
		return id, nil
	}
	var found []uuid.UUID
	for id, role := range p.Roles {
		if role != server.RoleAdmin {
			continue
		}
		if sp, err := s.o.Store.Space(r.Context(), id); err == nil && sp.Kind == server.KindSchool {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return uuid.Nil, auth.ErrNotAdmin
	case 1:
		return found[0], nil
	}
	return uuid.Nil, protocol.Errorf(protocol.CodeInvalid, "you administer several schools: name one (school)")
}

// smsInbound is the provider's webhook for a text message sent to the
// school's number: checked for the provider's signature, matched by the
// sender's number to the newest reply token sent there, landed as that
// person's note. Unsigned: 403; unmatched: 404; too many: 429. It answers
// an empty TwiML document, so the provider sends nothing back.
func (s *Service) smsInbound(w http.ResponseWriter, r *http.Request) {
	if s.o.SMSInbound == nil {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.fail(w, protocol.Errorf(protocol.CodeInvalid, "unreadable form"))
		return
	}
	if !s.o.SMSInbound.VerifyInbound(r, s.o.SMSPublicURL) {
		s.stats.refused.Add(1)
		s.log.Warn("notify: text webhook refused: bad signature")
		s.fail(w, protocol.Errorf(protocol.CodeForbidden, errUnsigned.Error()))
		return
	}
	from := r.PostForm.Get("From")
	now := s.o.Clock.Now()
	if !s.replyLimits.allow("from:"+from, now) {
		s.stats.refused.Add(1)
		w.Header().Set("Retry-After", "20")
		s.fail(w, protocol.Errorf(protocol.CodeRateLimited, ErrReplyLimited.Error()))
		return
	}
	rb, err := s.o.Store.ReplyBindingFor(r.Context(), from, now)
	if err != nil {
		s.stats.refused.Add(1)
		s.log.Info("notify: text reply refused: unmatched")
		s.fail(w, protocol.Errorf(auth.CodeNotFound, ErrReplyUnmatched.Error()))
		return
	}
	switch _, err := s.Land(r.Context(), rb, r.PostForm.Get("Body"), "sms"); {
	case errors.Is(err, ErrReplyLimited):
		w.Header().Set("Retry-After", "20")
		s.fail(w, protocol.Errorf(protocol.CodeRateLimited, err.Error()))
		return
	case errors.Is(err, ErrReplyEmpty):
		s.fail(w, protocol.Errorf(protocol.CodeInvalid, err.Error()))
		return
	case errors.Is(err, ErrReplyForbidden):
		s.fail(w, protocol.Errorf(protocol.CodeForbidden, err.Error()))
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`))
}

// statusOf maps a code to an HTTP status, as server/api does.
func statusOf(c protocol.Code) int {
	switch c {
	case auth.CodeNotFound:
		return http.StatusNotFound
	case auth.CodeDisabled:
		return http.StatusForbidden
	}
	return protocol.StatusOf(c).HTTP
}
