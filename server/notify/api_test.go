package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/shared/uuid"
)

func (w *world) do(srv *httptest.Server, method, path, token, body string) (int, string) {
	w.t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	must(w.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The family profile ("text message, phone call, después de las 6 de la
// tarde", Spanish) fills the parent's defaults; PUT refuses what is wrong
// and keeps what is right.
func TestPrefsAPIDefaultsFromProfile(t *testing.T) {
	w := newWorld(t)
	svc := w.start(Options{})
	defer w.stop()
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	w.write(w.parent.ID, "family", uuid.Must(uuid.NewV7()), map[string]any{"preferred_language": "es", "contact_methods": []any{"text_message", "phone_call"},
		"best_times": "Después de las 6 de la tarde", "lang": "es"})
	tok, err := w.auth.StartSession(context.Background(), w.parent.ID, "phone")
	must(t, err)

	if code, _ := w.do(srv, "GET", "/api/notify/prefs", "", ""); code != http.StatusUnauthorized {
		t.Errorf("signed out: %d", code)
	}
	code, body := w.do(srv, "GET", "/api/notify/prefs", tok, "")
	if code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, body)
	}
	var got PrefsJSON
	must(t, json.Unmarshal([]byte(body), &got))
	if strings.Join(got.Channels, ",") != "sms,call" || got.QuietStart != "21:00" || got.QuietEnd != "18:00" || got.Lang != "es" || !got.FromProfile {
		t.Errorf("defaults %+v", got.Prefs)
	}
	if strings.Join(got.Available, ",") != "call" {
		t.Errorf("available %v on a server without channels", got.Available)
	}

	for _, bad := range []string{`{"channels":["fax"],"digest":"now"}`, `{"channels":["sms"],"phone":"555-1234","digest":"now"}`,
		`{"channels":["sms"],"digest":"hourly"}`, `{"channels":["sms"],"digest":"now","quiet_start":"25:00","quiet_end":"08:00"}`, `{"nope":1}`} {
		if code, body := w.do(srv, "PUT", "/api/notify/prefs", tok, bad); code != http.StatusUnprocessableEntity {
			t.Errorf("PUT %s: %d %s", bad, code, body)
		}
	}
	good := `{"channels":["sms"],"phone":"+15551230000","quiet_start":"21:00","quiet_end":"18:00","time_zone":"America/Chicago","digest":"daily","lang":"es"}`
	if code, body := w.do(srv, "PUT", "/api/notify/prefs", tok, good); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	_, body = w.do(srv, "GET", "/api/notify/prefs", tok, "")
	got = PrefsJSON{}
	must(t, json.Unmarshal([]byte(body), &got))
	if got.Phone != "+15551230000" || got.Digest != DigestDaily || got.TimeZone != "America/Chicago" || got.FromProfile {
		t.Errorf("saved %+v", got.Prefs)
	}
}

// A server without channels: the office's call list says who to ring, in
// which language, about what; only the school's admin may read it.
func TestCallList(t *testing.T) {
	w := newWorld(t)
	svc := w.start(Options{})
	defer w.stop()
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	w.note(w.teacher.ID, "secret words")
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatal("sent without a channel")
	}
	admin, err := w.auth.StartSession(context.Background(), w.admin.ID, "office")
	must(t, err)
	teacher, err := w.auth.StartSession(context.Background(), w.teacher.ID, "laptop")
	must(t, err)
	if code, _ := w.do(srv, "GET", "/api/notify/call-list", teacher, ""); code != http.StatusForbidden {
		t.Errorf("teacher: %d, want 403", code)
	}
	code, body := w.do(srv, "GET", "/api/notify/call-list", admin, "")
	if code != http.StatusOK {
		t.Fatalf("admin: %d %s", code, body)
	}
	var list struct{ Calls []CallJSON }
	must(t, json.Unmarshal([]byte(body), &list))
	if len(list.Calls) != 1 {
		t.Fatalf("calls %+v", list.Calls)
	}
	c := list.Calls[0]
	if c.Who != "Rosa García" || c.Language != "es" || c.Phone != "+15551230000" || c.Plan != "Ana" || !strings.Contains(c.About, "escribió una nota") {
		t.Errorf("call %+v", c)
	}
	if strings.Contains(body, "secret words") {
		t.Error("the call list carries the note's text")
	}
	_, text := w.do(srv, "GET", "/api/notify/call-list?format=text", admin, "")
	if !strings.Contains(text, "Rosa García") || !strings.Contains(text, "LANGUAGE") {
		t.Errorf("printable list:\n%s", text)
	}
}

func TestQuietFromBestTimes(t *testing.T) {
	for _, c := range []struct{ in, start, end string }{
		{"after 6 pm", "21:00", "18:00"},
		{"Text me after 6pm please", "21:00", "18:00"},
		{"Después de las 6 de la tarde", "21:00", "18:00"},
		{"despues de las 7", "22:00", "19:00"},
		{"after 18:30", "21:30", "18:30"},
		{"before 8 am", "08:00", "06:00"},
		{"antes de las 8 de la mañana", "08:00", "06:00"},
		{"weekends", "", ""},
	} {
		s, e, ok := quietFromBestTimes(c.in)
		if s != c.start || e != c.end || ok != (c.start != "") {
			t.Errorf("%q: %q-%q %v, want %q-%q", c.in, s, e, ok, c.start, c.end)
		}
	}
}

func TestDue(t *testing.T) {
	loc, err := time.LoadLocation("America/Chicago")
	must(t, err)
	p := &Prefs{QuietStart: "21:00", QuietEnd: "18:00", TimeZone: "America/Chicago", Digest: DigestNow}
	morning := time.Date(2026, 12, 2, 10, 0, 0, 0, loc) // a Wednesday
	if got := p.due(morning, false); !got.Equal(time.Date(2026, 12, 2, 18, 0, 0, 0, loc)) {
		t.Errorf("now, in quiet hours: %v", got)
	}
	if got := p.due(morning, true); !got.Equal(morning) {
		t.Errorf("urgent: %v, want at once", got)
	}
	evening := time.Date(2026, 12, 2, 19, 0, 0, 0, loc)
	if got := p.due(evening, false); !got.Equal(evening) {
		t.Errorf("now, in the evening: %v", got)
	}
	p.Digest = DigestDaily
	if got := p.due(evening, false); !got.Equal(time.Date(2026, 12, 3, 18, 0, 0, 0, loc)) {
		t.Errorf("daily: %v", got)
	}
	if got := p.due(morning, false); !got.Equal(time.Date(2026, 12, 2, 18, 0, 0, 0, loc)) {
		t.Errorf("daily, from the morning: %v", got)
	}
	if got := p.due(morning, true); !got.Equal(morning) {
		t.Errorf("urgent daily: %v, want at once", got)
	}
	p.Digest = DigestWeekly
	if got := p.due(morning, false); !got.Equal(time.Date(2026, 12, 6, 18, 0, 0, 0, loc)) {
		t.Errorf("weekly: %v, want Sunday 18:00", got)
	}
}

// An address a person types gets nothing but its code until the code is
// entered: no plan's news goes to an address nobody proved theirs.
func TestVerifyAddress(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}})
	defer w.stop()
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	tok, err := w.auth.StartSession(context.Background(), w.parent.ID, "phone")
	must(t, err)
	// What GET answered, sent back with a new address and a forged flag.
	_, body := w.do(srv, "GET", "/api/notify/prefs", tok, "")
	var got PrefsJSON
	must(t, json.Unmarshal([]byte(body), &got))
	got.Channels, got.Email, got.EmailVerified, got.Lang, got.TimeZone = []string{ChanEmail}, "rosa@example.org", true, "es", "UTC"
	got.QuietStart, got.QuietEnd = "", ""
	b, _ := json.Marshal(got)
	code, body := w.do(srv, "PUT", "/api/notify/prefs", tok, string(b))
	if code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	got = PrefsJSON{}
	must(t, json.Unmarshal([]byte(body), &got))
	if got.EmailVerified || got.Verifying != ChanEmail || strings.Contains(body, "hash") {
		t.Fatalf("after PUT: %s", body)
	}
	msgs := sink.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the code", len(msgs))
	}
	_, text := parseMail(t, msgs[0])
	m := regexpCode.FindStringSubmatch(text)
	if m == nil || !strings.Contains(text, "Su código de Plansync") {
		t.Fatalf("code message:\n%s", text)
	}

	// Unverified: a note goes to the call list, not the inbox.
	w.note(w.teacher.ID, "before")
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 || len(sink.messages()) != 1 {
		t.Fatal("a message went to an unverified address")
	}
	wrong := "000000"
	if m[1] == wrong {
		wrong = "000001"
	}
	if code, _ := w.do(srv, "POST", "/api/notify/prefs/verify", tok, `{"code":"`+wrong+`"}`); code != http.StatusForbidden {
		t.Errorf("wrong code: %d", code)
	}
	if code, body := w.do(srv, "POST", "/api/notify/prefs/verify", tok, `{"code":"`+m[1]+`"}`); code != http.StatusOK || !strings.Contains(body, `"email_verified":true`) {
		t.Fatalf("right code: %d %s", code, body)
	}
	w.note(w.teacher.ID, "after")
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 || len(sink.messages()) != 2 {
		t.Fatalf("after verifying: sent %d", n)
	}
}

var regexpCode = regexp.MustCompile(`\b(\d{6})\b`)
