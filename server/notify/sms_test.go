package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// twilioFake is a Twilio-style API on 127.0.0.1: it checks the account's
// basic auth and keeps each form it is sent; status says what it answers.
type twilioFake struct {
	mu     sync.Mutex
	forms  []url.Values
	keys   []string
	status int
}

func (f *twilioFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || !ok || user != "AC123" || pass != "tok-secret" {
		http.Error(w, `{"code":20003,"message":"Authenticate"}`, http.StatusUnauthorized)
		return
	}
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forms = append(f.forms, r.PostForm)
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	st := f.status
	if st == 0 {
		st = http.StatusCreated
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	if st >= 400 {
		_, _ = w.Write([]byte(`{"code":21211,"message":"The 'To' number is not a valid phone number."}`))
		return
	}
	_, _ = w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
}

func (f *twilioFake) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

// The SMS adapter at its HTTP boundary: the form, the auth, the words; a
// 400 fails the item for good, a 503 is retried later with the same key.
func TestSMSAdapter(t *testing.T) {
	fake := &twilioFake{}
	api := httptest.NewServer(fake)
	defer api.Close()
	prov := &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}
	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{SMS{P: prov}}})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})

	noteID := w.note(w.teacher.ID, "secret words")
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}
	forms := fake.sent()
	if len(forms) != 1 {
		t.Fatalf("provider got %d", len(forms))
	}
	f := forms[0]
	if f.Get("To") != "+15551230000" || f.Get("From") != "+15550001111" {
		t.Errorf("form %v", f)
	}
	body := f.Get("Body")
	if !strings.Contains(body, "Ms. Lee escribió una nota en el plan de Ana.") || !strings.Contains(body, "/notes/"+noteID.String()) || strings.Contains(body, "secret words") {
		t.Errorf("text %q", body)
	}

	// A provider outage: retried later, under the same key.
	fake.mu.Lock()
	fake.status = http.StatusServiceUnavailable
	fake.mu.Unlock()
	w.note(w.teacher.ID, "second")
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatal("a 503 counted as sent")
	}
	fake.mu.Lock()
	fake.status = 0
	fake.mu.Unlock()
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatal("retried before its backoff")
	}
	w.clock.Add(time.Minute)
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the backoff: sent %d, %v", n, err)
	}
	fake.mu.Lock()
	keys := append([]string(nil), fake.keys...)
	fake.mu.Unlock()
	if len(keys) != 3 || keys[1] != keys[2] || keys[0] == keys[1] {
		t.Errorf("idempotency keys %q: want the retry under its first key", keys)
	}

	// A refused number: failed for good, not retried.
	fake.mu.Lock()
	fake.status = http.StatusBadRequest
	fake.mu.Unlock()
	w.note(w.teacher.ID, "third")
	_, _ = svc.DispatchOnce(context.Background())
	w.clock.Add(7 * time.Hour)
	_, _ = svc.DispatchOnce(context.Background())
	if n := len(fake.sent()); n != 4 {
		t.Errorf("provider got %d requests, want 4 (a 400 is not retried)", n)
	}
	if st := svc.Stats(); st.Failed != 1 {
		t.Errorf("failed %d, want 1", st.Failed)
	}
}

// The inbound webhook at its HTTP boundary: a signed text from the
// parent's number lands as the parent's note answering the teacher's;
// an unsigned one is 403, an unknown number 404, a flood 429.
func TestSMSInboundWebhook(t *testing.T) {
	fake := &twilioFake{}
	api := httptest.NewServer(fake)
	defer api.Close()
	prov := &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}
	var h http.Handler
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer hook.Close()
	public := "https://plans.example.org/api/notify/sms"

	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{SMS{P: prov}}, SMSInbound: prov, SMSPublicURL: public, ReplyRate: rate.Every(time.Hour), ReplyBurst: 3})
	defer w.stop()
	h = svc.Handler()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	noteID := w.note(w.teacher.ID, "Can you come on Tuesday?")
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}

	post := func(form url.Values, sign bool) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, hook.URL+"/api/notify/sms", strings.NewReader(form.Encode()))
		must(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign {
			req.Header.Set("X-Twilio-Signature", SignTwilio("tok-secret", public, form))
		} else {
			req.Header.Set("X-Twilio-Signature", SignTwilio("wrong", public, form))
		}
		resp, err := hook.Client().Do(req)
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	reply := url.Values{"From": {"+15551230000"}, "To": {"+15550001111"}, "Body": {"Sí, el martes puedo."}, "MessageSid": {"SM9"}}
	if c := post(reply, false); c != http.StatusForbidden {
		t.Errorf("unsigned: %d, want 403", c)
	}
	if c := post(reply, true); c != http.StatusOK {
		t.Fatalf("signed reply: %d, want 200", c)
	}
	w.waitConsumed()
	var found bool
	for _, n := range w.notes() {
		if f := n.Fields["text"]; f != nil && f.Author == w.parent.ID {
			found = true
			if f.Value != "Sí, el martes puedo." || n.Value("reply_to") != noteID.String() {
				t.Errorf("landed note %v reply_to %v", f.Value, n.Value("reply_to"))
			}
		}
	}
	if !found {
		t.Fatal("the text did not land as the parent's note")
	}

	stranger := url.Values{"From": {"+15559998888"}, "Body": {"hola"}}
	codes := map[int]int{}
	for range 5 {
		codes[post(stranger, true)]++
	}
	if codes[http.StatusNotFound] == 0 || codes[http.StatusTooManyRequests] == 0 {
		t.Errorf("unknown number: %v, want 404s then 429s", codes)
	}
	if got := len(w.notes()); got != 2 {
		t.Errorf("%d notes, want the teacher's and the parent's reply", got)
	}
}

// A school's daily cap: past it, messages wait for the next UTC day.
func TestDailyCap(t *testing.T) {
	fake := &twilioFake{}
	api := httptest.NewServer(fake)
	defer api.Close()
	prov := &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}
	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{SMS{P: prov}}, DailyCap: 1})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	w.note(w.teacher.ID, "one")
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 {
		t.Fatal("first message not sent")
	}
	w.note(w.teacher.ID, "two")
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatal("sent past the cap")
	}
	if st := svc.Stats(); st.CapHeld != 1 {
		t.Errorf("held %d", st.CapHeld)
	}
	now := w.clock.Now().UTC()
	next := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 6, 0, 0, time.UTC)
	w.clock.Add(next.Sub(now))
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 || len(fake.sent()) != 2 {
		t.Fatalf("next day: sent %d, provider has %d", n, len(fake.sent()))
	}
}

// A digest too long for a text keeps its first lines and ends with the
// link to the app, within three segments.
func TestSMSLongDigestTruncated(t *testing.T) {
	fake := &twilioFake{}
	api := httptest.NewServer(fake)
	defer api.Close()
	ch := SMS{P: &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}}
	link := "https://plans.example.org/"
	must(t, ch.Send(context.Background(), &Message{To: "+15551230000", Text: strings.Repeat("Ms. Lee escribió una nota. ", 40), Link: link, Key: "k"}))
	body := fake.sent()[0].Get("Body")
	if n := len([]rune(body)); n > maxSMSRunes || !strings.HasSuffix(body, "…\n"+link) {
		t.Fatalf("%d runes: %q", n, body)
	}
}

// A retry that would land in the person's quiet hours waits for them to
// end.
func TestRetryRespectsQuietHours(t *testing.T) {
	fake := &twilioFake{status: http.StatusServiceUnavailable}
	api := httptest.NewServer(fake)
	defer api.Close()
	prov := &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}
	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{SMS{P: prov}}})
	defer w.stop()
	t0 := w.clock.Now() // on a minute
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", QuietStart: hhmm(t0.Add(time.Minute)),
		QuietEnd: hhmm(t0.Add(3 * time.Hour)), TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	w.clock.Add(40 * time.Second)
	w.note(w.teacher.ID, "x")
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 || len(fake.sent()) != 1 {
		t.Fatal("the first attempt did not fail")
	}
	fake.mu.Lock()
	fake.status = 0
	fake.mu.Unlock()
	w.clock.Add(2 * time.Minute) // past the backoff, inside quiet hours
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatal("retried in quiet hours")
	}
	w.clock.Add(t0.Add(3*time.Hour + time.Second).Sub(w.clock.Now()))
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 {
		t.Fatal("not retried when quiet hours ended")
	}
}
