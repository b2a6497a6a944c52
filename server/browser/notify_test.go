package browser_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/notify"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// mailSink is a real SMTP server (go-smtp) on 127.0.0.1 keeping every
// message, as server/notify's tests use: the verification code is read
// from the mail it was sent in (the store keeps only its hash).
type mailSink struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

func newMailSink(t *testing.T) *mailSink {
	t.Helper()
	k := &mailSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Log("smtp sink:", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return k
}

func (k *mailSink) messages() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.msgs...)
}

type sinkSession struct{ k *mailSink }

func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.k.mu.Lock()
	s.k.msgs = append(s.k.msgs, string(b))
	s.k.mu.Unlock()
	return nil
}

// loopbackOnly is the push channel's client: it dials nothing but
// 127.0.0.1, so no test reaches a real push service.
var loopbackOnly = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			return nil, fmt.Errorf("test: no network but 127.0.0.1 (%s)", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}

// fakeGCM stands in for the push service Chromium registers with (its
// gcm-checkin-url and gcm-registration-url switches point here): a
// checkin answered with an AndroidCheckinResponse (protobuf: stats_ok,
// android_id, security_token) and a registration answered with a token,
// so PushManager.subscribe completes without leaving 127.0.0.1.
type fakeGCM struct {
	url  string
	mu   sync.Mutex
	hits []string
}

func newFakeGCM(t *testing.T) *fakeGCM {
	t.Helper()
	g := &fakeGCM{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		g.mu.Lock()
		g.hits = append(g.hits, r.URL.Path)
		g.mu.Unlock()
		switch r.URL.Path {
		case "/checkin":
			b := []byte{0x08, 0x01} // stats_ok = true
			b = append(b, 0x39)     // android_id, fixed64
			b = binary.LittleEndian.AppendUint64(b, 4242424242)
			b = append(b, 0x41) // security_token, fixed64
			b = binary.LittleEndian.AppendUint64(b, 123456789)
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(b)
		case "/register":
			_, _ = io.WriteString(w, "token=fake-push-token-1")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *fakeGCM) flags() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("gcm-checkin-url", g.url+"/checkin"),
		chromedp.Flag("gcm-registration-url", g.url+"/register"),
		chromedp.Flag("gcm-mcs-endpoint", "https://127.0.0.1:1"),
	}
}

func (g *fakeGCM) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.hits...)
}

// notifyEnv is a seeded server with email (to sink) and push configured.
func notifyEnv(t *testing.T, sink *mailSink, flags ...chromedp.ExecAllocatorOption) *env {
	t.Helper()
	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(sink.addr)
	p, _ := strconv.Atoi(port)
	return newEnvWith(t, &app.NotifyConfig{BaseURL: "http://127.0.0.1", TimeZone: "UTC", Poll: time.Hour,
		Email: &notify.EmailConfig{Host: host, Port: p, From: "plansync@school.example.org", TLS: "none", Timeout: 10 * time.Second},
		Push:  &notify.PushConfig{PublicKey: pub, PrivateKey: priv, Subscriber: "mailto:office@school.example.org", HTTPClient: loopbackOnly}}, flags...)
}

// savedPrefs are a person's notification settings as the server keeps them.
func savedPrefs(t *testing.T, a *app.App, user uuid.UUID) notify.Prefs {
	t.Helper()
	b, err := a.Store.NotifyPrefs(context.Background(), user)
	if err != nil {
		t.Fatalf("the server has no settings for %s: %v", user, err)
	}
	var p notify.Prefs
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// memberNamed finds the user of a space called name.
func memberNamed(t *testing.T, a *app.App, space uuid.UUID, name string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ms, err := a.Store.Members(ctx, space)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if u, err := a.Store.User(ctx, m.User); err == nil && u.Name == name {
			return u.ID
		}
	}
	t.Fatalf("nobody called %s on the plan", name)
	return uuid.Nil
}

// fits fails the step when anything in scope is wider than the 360 px
// viewport or a control there is a tap target under 24 px.
func (b *tab) fits(what, scope string) {
	b.e.t.Helper()
	wide := eval[[]string](b, `[...document.querySelectorAll('#main *')].filter(el => el.getBoundingClientRect().right > innerWidth + 1).map(el => el.tagName + '.' + el.className).slice(0, 5)`)
	if len(wide) > 0 {
		b.e.t.Errorf("%s: wider than 360 px: %v", what, wide)
	}
	small := eval[[]string](b, `[...document.querySelectorAll('`+scope+`')].flatMap(s => [...s.querySelectorAll('button, a, input, select')]).map(el => [el, el.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && (r.height < 24 || r.width < 24)).map(([el, r]) => el.tagName + '#' + el.id + ' ' + r.width + 'x' + r.height + ' ' + el.textContent.slice(0, 30)).slice(0, 5)`)
	if len(small) > 0 {
		b.e.t.Errorf("%s: tap targets under 24 px: %v", what, small)
	}
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// TestNotifySettings is the notification settings in a real browser at
// 360 px, for a parent who joined Ana's plan: the family profile's
// "text message, phone call, after 6 pm" fills the defaults and the
// screen says so; a new email address with daily digests and other quiet
// hours is saved on the server, the code mailed to it is refused when
// wrong (keeping what was typed) and accepted when right, after which the
// server counts the address verified and a reload shows what was saved.
// axe-core finds nothing in English and Spanish.
func TestNotifySettings(t *testing.T) {
	sink := newMailSink(t)
	e := notifyEnv(t, sink)
	student, _ := findSpaces(t, e.app, e.app.Demo.InviteStudent)
	fam := e.newTab("family")
	fam.join(e.app.Demo.InviteCode, "Rosa", "")
	rosa := memberNamed(t, e.app, student, "Rosa")
	form := `document.querySelector('#notify-prefs')`

	ok := e.step("the profile's defaults, shown as such", func(t *testing.T) {
		fam.synced() // no re-render from the first sync under the form
		fam.visit("#/settings")
		fam.waitFor("the notification settings", form, stepTimeout)
		if eval[string](fam, form+`.dataset.fromProfile || ''`) != "true" || fam.has(`#notify-prefs .notice`) != 1 {
			t.Error("the defaults from the family's profile are not marked")
		}
		checked := eval[[]string](fam, `[...document.querySelectorAll('#notify-prefs input[name=channel]:checked')].map(x => x.value)`)
		if strings.Join(checked, ",") != "sms,call" {
			t.Errorf("channels checked %v, want the profile's sms,call", checked)
		}
		if qs, qe := eval[string](fam, form+`.querySelector('[name=quiet_start]').value`), eval[string](fam, form+`.querySelector('[name=quiet_end]').value`); qs != "21:00" || qe != "18:00" {
			t.Errorf("quiet hours %s-%s, want the profile's 21:00-18:00", qs, qe)
		}
		if !eval[bool](fam, form+`.checkValidity()`) {
			t.Error("the form does not start valid")
		}
		fam.axe("notification settings (en)")
		fam.fits("notification settings", "#notify")
		fam.screenshot("notify-settings.png")
	})
	if !ok {
		return
	}

	ok = e.step("saving an email address sends a code; the server keeps the settings", func(t *testing.T) {
		// Offline first: the save fails in words and keeps what was typed.
		fam.setOffline(true)
		eval[chromedp.Void](fam, `(() => {
			const f = document.querySelector('#notify-prefs');
			f.querySelector('[name=email]').value = 'rosa@example.org';
			f.querySelector('input[name=digest][value=weekly]').checked = true;
			f.requestSubmit();
		})()`)
		fam.waitFor("the failure", `document.querySelector('#notify-prefs .error:not([hidden])')`, stepTimeout)
		if got := eval[string](fam, `(() => { const f = document.querySelector('#notify-prefs'); return f.querySelector('[name=email]').value + ' ' + f.querySelector('input[name=digest]:checked').value; })()`); got != "rosa@example.org weekly" {
			t.Errorf("after a failed save the form holds %q", got)
		}
		fam.setOffline(false)
		eval[chromedp.Void](fam, `(() => {
			const f = document.querySelector('#notify-prefs');
			f.querySelector('input[name=channel][value=email]').checked = true;
			f.querySelector('input[name=channel][value=sms]').checked = false;
			f.querySelector('[name=email]').value = 'rosa@example.org';
			f.querySelector('[name=quiet_start]').value = '22:00';
			f.querySelector('[name=quiet_end]').value = '07:30';
			f.querySelector('input[name=digest][value=daily]').checked = true;
			f.requestSubmit();
		})()`)
		fam.waitFor("the code form", `document.querySelector('#notify-code input[name=code]')`, stepTimeout)
		p := savedPrefs(t, e.app, rosa)
		if strings.Join(p.Channels, ",") != "call,email" || p.Email != "rosa@example.org" || p.Digest != notify.DigestDaily ||
			p.QuietStart != "22:00" || p.QuietEnd != "07:30" || p.EmailVerified || p.FromProfile {
			t.Errorf("the server keeps %+v", p)
		}
		fam.axe("notification settings with the code form (en)")
		fam.fits("the code form", "#notify")
	})
	if !ok {
		return
	}

	ok = e.step("a wrong code is refused and kept; the right one verifies", func(t *testing.T) {
		var code string
		deadline := time.Now().Add(stepTimeout)
		for code == "" && time.Now().Before(deadline) {
			for _, m := range sink.messages() {
				if mm := sixDigits.FindStringSubmatch(m); mm != nil {
					code = mm[1]
				}
			}
			time.Sleep(pollEvery)
		}
		if code == "" {
			t.Fatalf("no code mailed: %q", sink.messages())
		}
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		eval[chromedp.Void](fam, fmt.Sprintf(`(() => { const f = document.querySelector('#notify-code'); f.querySelector('[name=code]').value = %q; f.requestSubmit(); })()`, wrong))
		fam.waitFor("the refusal", `document.querySelector('#notify-code .error:not([hidden])')`, stepTimeout)
		if got := eval[string](fam, `document.querySelector('#notify-code [name=code]').value`); got != wrong {
			t.Errorf("after a refusal the code field holds %q, want what was typed", got)
		}
		if got := eval[string](fam, `document.querySelector('#notify-prefs [name=email]').value`); got != "rosa@example.org" {
			t.Errorf("after a refusal the email field holds %q", got)
		}
		if savedPrefs(t, e.app, rosa).EmailVerified {
			t.Fatal("a wrong code verified the address")
		}
		eval[chromedp.Void](fam, fmt.Sprintf(`(() => { const f = document.querySelector('#notify-code'); f.querySelector('[name=code]').value = %q; f.requestSubmit(); })()`, code))
		fam.waitFor("the address confirmed", `!document.querySelector('#notify-code') && document.querySelector('#notify-prefs [data-verified=true]')`, stepTimeout)
		if !savedPrefs(t, e.app, rosa).EmailVerified {
			t.Error("the server does not count the address verified")
		}
	})
	if !ok {
		return
	}

	e.step("a reload shows what was saved, in Spanish too", func(t *testing.T) {
		fam.setLang("es")
		fam.visit("#/settings")
		fam.waitFor("the notification settings", form, stepTimeout)
		got := eval[string](fam, `(() => { const f = document.querySelector('#notify-prefs');
			return [f.dataset.fromProfile || '-', f.querySelector('[name=email]').value, f.querySelector('input[name=digest]:checked').value,
				f.querySelector('[name=quiet_start]').value, f.querySelector('[name=quiet_end]').value,
				[...f.querySelectorAll('input[name=channel]:checked')].map(x => x.value).join('+')].join(' '); })()`)
		if got != "- rosa@example.org daily 22:00 07:30 email+call" {
			t.Errorf("after a reload the form shows %q", got)
		}
		if txt := eval[string](fam, `document.getElementById('h-notify').textContent`); txt != "Avisos" {
			t.Errorf("the section is titled %q in Spanish", txt)
		}
		fam.axe("notification settings (es)")
		fam.fits("notification settings (es)", "#notify")
	})
}

// TestNotifyPush is Web Push in a real Chromium: with the notifications
// permission granted through the DevTools protocol, the settings
// subscribe this browser with the server's VAPID key and the server keeps
// the subscription; a push delivered to the service worker with
// ServiceWorker.deliverPushMessage shows a notification with the
// payload's title and body and the link to the exact item, and the worker
// tells the open page.
func TestNotifyPush(t *testing.T) {
	sink := newMailSink(t)
	gcm := newFakeGCM(t)
	e := notifyEnv(t, sink, gcm.flags()...)
	student, _ := findSpaces(t, e.app, e.app.Demo.InviteStudent)
	// Push needs the browser's own profile: a new browser context is off
	// the record, where Chromium refuses push subscriptions.
	ctx, cancel := chromedp.NewContext(e.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
		t.Fatal(err)
	}
	lee := &tab{e: e, name: "teacher", ctx: ctx}
	lee.signIn(e.app.Demo.TeacherLogin, app.DemoPassword)
	teacher := memberNamed(t, e.app, student, "Ms. Lee")
	origin := strings.TrimSuffix(e.url(""), "/")

	ok := e.step("permission granted, the settings subscribe to push", func(t *testing.T) {
		if _, err := chromedp.CallBrowser(lee.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted,
			Origin: origin}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.CallBrowser(lee.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "push", UserVisibleOnly: true}, Setting: browser.PermissionSettingGranted,
			Origin: origin}); err != nil {
			t.Fatal(err)
		}
		lee.synced() // no re-render from the first sync under the form
		lee.visit("#/settings")
		lee.waitFor("the notification settings", `document.querySelector('#notify-prefs input[name=channel][value=push]:not([disabled])')`, stepTimeout)
		if eval[string](lee, `Notification.permission`) != "granted" {
			t.Fatal("the permission was not granted")
		}
		eval[chromedp.Void](lee, `(() => { const f = document.querySelector('#notify-prefs'); f.querySelector('input[name=channel][value=push]').checked = true; f.requestSubmit(); })()`)
		lee.waitFor("the save to end", `document.querySelector('#notify .status').textContent || document.querySelector('#notify-prefs .error:not([hidden])')`, 45*time.Second)
		if msg := eval[string](lee, `document.querySelector('#notify-prefs .error:not([hidden])')?.textContent || ''`); msg != "" {
			dbg := eval[string](lee, `navigator.serviceWorker.ready.then(r => r.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: new Uint8Array(65).fill(4)})).then(s => 'ok ' + s.endpoint, e => 'err ' + e.name + ': ' + e.message)`)
			t.Fatalf("subscribing failed: %s (push service asked: %v; %s)", msg, gcm.requests(), dbg)
		}
		p := savedPrefs(t, e.app, teacher)
		t.Logf("push service asked %v; subscription %+v", gcm.requests(), p.Push)
		if p.Push == nil || !strings.HasPrefix(p.Push.Endpoint, "https://") || p.Push.Keys.P256dh == "" || p.Push.Keys.Auth == "" || p.Channels[0] != notify.ChanPush && p.Channels[len(p.Channels)-1] != notify.ChanPush {
			t.Errorf("the server keeps %+v (push %+v)", p, p.Push)
		}
	})
	if !ok {
		return
	}

	e.step("a push to the service worker shows the notification", func(t *testing.T) {
		regs := make(chan []*serviceworker.Registration, 16)
		if err := chromedp.Listen(lee.ctx, func(ev any) {
			if u, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
				select {
				case regs <- u.Registrations:
				default:
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(lee.ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		var reg serviceworker.RegistrationID
		timeout := time.After(stepTimeout)
		for reg == "" {
			select {
			case rs := <-regs:
				for _, r := range rs {
					if !r.IsDeleted && strings.HasPrefix(r.ScopeURL, origin) {
						reg = r.RegistrationID
					}
				}
			case <-timeout:
				t.Fatal("no service worker registration reported")
			}
		}
		eval[chromedp.Void](lee, `(() => { window.__pushes = []; navigator.serviceWorker.addEventListener('message', (ev) => window.__pushes.push(ev.data)); })()`)
		link := origin + "/#/s/" + student.String() + "/notes/" + uuid.Must(uuid.NewV7()).String()
		payload, _ := json.Marshal(map[string]string{"title": "Ms. Lee wrote a note", "body": "Open Plansync to read it.", "url": link, "tag": "t-1", "lang": "en"})
		if _, err := chromedp.Call(lee.ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{Origin: origin, RegistrationID: reg, Data: string(payload)}); err != nil {
			t.Fatal(err)
		}
		lee.waitFor("the page to hear of the push", `window.__pushes.some(p => p.type === 'push-shown')`, stepTimeout)
		got := eval[string](lee, `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => [n.title, n.body, n.tag, n.data && n.data.url].join('|')).join('\n'))`)
		want := strings.Join([]string{"Ms. Lee wrote a note", "Open Plansync to read it.", "t-1", link}, "|")
		if got != want {
			t.Errorf("notifications shown:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestCallList is the office's call list in a real browser at 360 px:
// the admin reaches it from the admin screen and sees the seeded plan's
// people no channel reaches, in a table that prints with nothing else
// (axe-core clean in English and Spanish); a teacher is refused, on the
// screen and by the server.
func TestCallList(t *testing.T) {
	e := newEnvWith(t, &app.NotifyConfig{BaseURL: "http://127.0.0.1", TimeZone: "UTC", Poll: time.Hour})
	student, school := findSpaces(t, e.app, e.app.Demo.InviteStudent)
	// A note from the teacher gives the office someone to call: the
	// others on the plan, whom no channel reaches.
	op := record.Op{Space: student, Collection: "notes", ID: uuid.Must(uuid.NewV7()), HLC: hlc.NewClock(nil, 0).Now(),
		Node: uuid.Must(uuid.NewV7()), Author: memberNamed(t, e.app, student, "Ms. Lee"), Writes: []record.Write{
			{Name: "kind", Value: "update"}, {Name: "lang", Value: "en"}, {Name: "text", Value: "Ana read a whole book today"}}}
	if _, err := e.app.Store.Commit(context.Background(), []record.Op{op}); err != nil {
		t.Fatal(err)
	}
	park := e.newTab("admin")
	park.signIn(e.app.Demo.AdminLogin, app.DemoPassword)

	ok := e.step("the admin's call list", func(t *testing.T) {
		deadline := time.Now().Add(stepTimeout)
		for {
			items, err := e.app.Store.NotifyItems(context.Background(), school, store.NotifyCall, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the seeded plan queued nobody to call")
			}
			time.Sleep(pollEvery)
		}
		park.visit("#/admin/" + school.String() + "/people")
		park.waitFor("the call list link", `document.getElementById('calls-link')`, stepTimeout)
		park.click(`#calls-link`)
		park.waitFor("the call list", `document.querySelector('table#calls tbody tr')`, stepTimeout)
		if n := park.has(`table#calls tbody tr`); n < 1 {
			t.Errorf("%d rows", n)
		}
		park.axe("call list (en)")
		park.fits("call list (en)", "#main .call-list, #main .admin")
		park.media("print")
		shown := eval[[]string](park, `[...document.querySelectorAll('body *')].filter(el => el.getClientRects().length > 0 && !el.closest('.call-list') && !el.querySelector('.call-list')).map(el => el.tagName + '.' + el.className)`)
		if len(shown) > 0 {
			t.Errorf("printing shows more than the call list: %v", shown)
		}
		if park.has(`.call-list button:not([hidden])`) > 0 && eval[bool](park, `[...document.querySelectorAll('.call-list button')].some(b => b.getClientRects().length > 0)`) {
			t.Error("the print button prints")
		}
		park.printPages("call-list.pdf", 8.27, 11.69)
		park.media("")
		park.setLang("es")
		park.visit("#/calls/" + school.String())
		park.waitFor("the call list", `document.querySelector('table#calls tbody tr')`, stepTimeout)
		park.axe("call list (es)")
		park.fits("call list (es)", "#main .call-list")
		park.screenshot("call-list-es.png")
	})
	if !ok {
		return
	}

	e.step("a teacher is refused", func(t *testing.T) {
		lee := e.newTab("teacher")
		lee.signIn(e.app.Demo.TeacherLogin, app.DemoPassword)
		lee.visit("#/calls/" + school.String())
		if lee.has(`table#calls`) != 0 || lee.has(`#main .notice[role=alert]`) != 1 {
			t.Error("a teacher sees the call list")
		}
		req, _ := http.NewRequest("GET", e.app.BaseURL()+"/api/notify/call-list", nil)
		req.Header.Set("Authorization", "Bearer "+e.app.Demo.TeacherToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("the server answers a teacher %d", resp.StatusCode)
		}
	})
}

// TestUrgentNote is the school's urgent mark on a note: the teacher's
// note form offers it, the note is saved with urgent set on the server
// and marked in the list; a parent's form does not offer it.
func TestUrgentNote(t *testing.T) {
	e := newEnv(t)
	student, _ := findSpaces(t, e.app, e.app.Demo.InviteStudent)
	notes := "#/s/" + student.String() + "/notes"
	addForm := `document.querySelector('#main .add form.record-form[data-collection=notes]')`

	lee := e.newTab("teacher")
	lee.signIn(e.app.Demo.TeacherLogin, app.DemoPassword)
	lee.synced()
	lee.visit(notes)
	lee.click(`button[data-action=add][data-collection=notes]`)
	lee.waitFor("the note form", addForm, stepTimeout)
	if lee.has(`#main .add form.record-form input[type=checkbox][name=urgent]`) != 1 {
		t.Fatal("the teacher's note form has no urgent box")
	}
	eval[chromedp.Void](lee, addForm+`.querySelector('[name=urgent]').checked = true`)
	lee.fill(`#main .add form.record-form`, map[string]string{"text": "The school closes at noon today."})
	lee.waitFor("the urgent note in the list", `document.querySelector('#main ol.thread [data-urgent=true]')`, stepTimeout)
	lee.axe("notes with an urgent one (en)")
	lee.synced()
	recs, err := e.app.Store.CollectionRecords(context.Background(), student, "notes", 100)
	if err != nil {
		t.Fatal(err)
	}
	urgent := 0
	for _, r := range recs {
		if r.Value("urgent") == true {
			urgent++
			if r.Value("text") != "The school closes at noon today." {
				t.Errorf("urgent note %q", r.Value("text"))
			}
		}
	}
	if urgent != 1 {
		t.Errorf("%d urgent notes on the server, want 1", urgent)
	}

	fam := e.newTab("family")
	fam.join(e.app.Demo.InviteCode, "Rosa", "")
	fam.synced()
	fam.visit(notes)
	fam.waitFor("the urgent mark", `document.querySelector('#main ol.thread [data-urgent=true]')`, syncTimeout)
	fam.click(`button[data-action=add][data-collection=notes]`)
	fam.waitFor("the note form", addForm, stepTimeout)
	if fam.has(`#main form.record-form [name=urgent]`) != 0 {
		t.Error("a parent's note form offers the urgent mark")
	}
}
