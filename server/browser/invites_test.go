package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
)

// Paper sizes in inches, as Page.printToPDF takes them.
var papers = []struct {
	name string
	w, h float64
}{{"A4", 8.27, 11.69}, {"US Letter", 8.5, 11}}

// pdfPage counts page objects in a PDF (not the /Pages tree nodes).
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// qrText screenshots the element sel and decodes the QR code in it with
// ZXing's Go port: what a phone's camera would read.
func (b *tab) qrText(sel string) string {
	b.e.t.Helper()
	b.do(chromedp.ScrollIntoView(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(sel), 2))
	if err != nil {
		b.fatalf("screenshot of the QR code: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.fatalf("the QR screenshot: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		b.fatalf("the QR screenshot: %v", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		b.fatalf("decoding the QR code: %v", err)
	}
	return res.GetText()
}

// makeInvite makes an invite from the invites screen in lang and returns
// the code the slip shows.
func (b *tab) makeInvite(lang string) string {
	b.e.t.Helper()
	b.waitFor("the invite form", `document.querySelector('form#new-invite')`, stepTimeout)
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { const f = document.querySelector('form#new-invite'); f.querySelector('[name=language]').value = %q; f.requestSubmit(); })()`, lang))
	b.waitFor("the slip", `document.querySelector('#main .slip .slip-code') && document.querySelector('#main .slip svg.qr')`, stepTimeout)
	return eval[string](b, `document.querySelector('#main .slip .slip-code').textContent`)
}

// printPages prints the page to PDF on paper w x h inches, keeps it as
// name among the screenshots and counts its pages.
func (b *tab) printPages(name string, w, h float64) int {
	b.e.t.Helper()
	var pdf []byte
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: w, PaperHeight: h})
		pdf = res.Data
		return err
	}))
	dir := os.Getenv("PLANSYNC_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.e.t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.fatalf("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), pdf, 0o644); err != nil {
		b.fatalf("%v", err)
	}
	return len(pdfPage.FindAll(pdf, -1))
}

// media emulates a CSS media type ("print"; "" for the screen again).
func (b *tab) media(m string) {
	b.e.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return err
	}))
}

func (b *tab) setLang(lang string) {
	b.e.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { localStorage.setItem('plansync.lang', %q); })()`, lang))
	b.reload()
}

// TestInvites is "bring the family in" in a real browser at 360 px: a
// teacher makes an invite and gets a slip whose QR code decodes to the
// join link and which prints on one page of A4 and of US Letter with
// nothing but the slip; a second context in Spanish opens that link, finds
// the code filled in, joins with a passphrase and is shown its login,
// which a third context signs in with; a revoked invite's claim is
// refused; a burned invite carries a note for the teacher; a family
// member may invite a co-caregiver only once the school allows it, and
// the teacher sees who made that invite. axe-core runs on every new
// screen in English and Spanish.
func TestInvites(t *testing.T) {
	e := newEnv(t)
	student, school := findSpaces(t, e.app, e.app.Demo.InviteStudent)
	s := student.String()
	ctx := context.Background()
	lee := e.newTab("lee")
	fam := e.newTab("family")
	var code, link, login string
	const passphrase = "girasoles en el patio"

	ok := e.step("support staff are offered no invite", func(t *testing.T) {
		ortiz, err := e.app.Auth.AddStaff(ctx, school, "Ms. Ortiz", "ortiz", app.DemoPassword, server.RoleSupport)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.Store.PutMember(ctx, server.Member{Space: student, User: ortiz.ID, Role: server.RoleSupport}); err != nil {
			t.Fatal(err)
		}
		sup := e.newTab("ortiz")
		sup.signIn("ortiz", app.DemoPassword)
		sup.visit("#/s/" + s + "/family")
		sup.waitFor("the family tab", `document.querySelector('#main .tab')`, stepTimeout)
		if n := sup.has(`#main a[data-action=invites]`); n != 0 {
			t.Errorf("support staff see %d invite controls; the server refuses their invites", n)
		}
		sup.visit("#/s/" + s + "/invites")
		if n := sup.has(`form#new-invite`); n != 0 {
			t.Error("support staff are offered the invite form")
		}
		sup.axe("invites, not for this role (en)")
	})
	if !ok {
		return
	}

	ok = e.step("the teacher makes an invite and gets a slip", func(t *testing.T) {
		lee.signIn(app.DemoTeacherLogin, app.DemoPassword)
		lee.visit("#/s/" + s + "/family")
		lee.waitFor("the invite control", `document.querySelector('#main a[data-action=invites]')`, stepTimeout)
		lee.click(`#main a[data-action=invites]`)
		lee.waitFor("the invites screen", `location.hash.endsWith('/invites') && document.querySelector('form#new-invite')`, stepTimeout)
		lee.axe("invites (en)")
		// By keyboard: the language and the button take focus and keys.
		lee.do(chromedp.Focus(chromedp.CSS(`#new-invite select[name=language]`)))
		eval[chromedp.Void](lee, `(() => { const s = document.querySelector('#new-invite select[name=language]'); s.value = 'es'; s.dispatchEvent(new Event('change')); })()`)
		lee.do(chromedp.Focus(chromedp.CSS(`#new-invite button[type=submit]`)), chromedp.KeyEvent(kb.Enter))
		lee.waitFor("the slip", `document.querySelector('#main .slip .slip-code') && document.querySelector('#main .slip svg.qr')`, stepTimeout)
		code = eval[string](lee, `document.querySelector('#main .slip .slip-code').textContent`)
		if small := eval[[]string](lee, `[...document.querySelectorAll('#main button, #main a.button')].filter(b => b.getBoundingClientRect().height < 44 || b.getBoundingClientRect().width < 44).map(b => b.textContent)`); len(small) > 0 {
			t.Errorf("controls under 44 px on the slip: %v", small)
		}
		if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}$`).MatchString(code) {
			t.Fatalf("the slip shows the code %q", code)
		}
		link = e.url("#/join?code=" + code)
		if got := eval[string](lee, `document.querySelector('#main .slip-link a').getAttribute('href')`); got != link {
			t.Errorf("the slip's link is %q, want %q", got, link)
		}
		if got := lee.qrText(`#main .slip svg.qr`); got != link {
			t.Errorf("the QR code decodes to %q, want %q", got, link)
		}
		// The how-to is in the slip's language, not the teacher's.
		if l := eval[string](lee, `document.querySelector('#main .slip').lang`); l != "es" {
			t.Errorf("the slip's lang is %q", l)
		}
		if txt := eval[string](lee, `document.querySelector('#main .slip-steps').innerText`); !strings.Contains(txt, "Escanee el código QR") || eval[int](lee, `document.querySelectorAll('#main .slip-steps li').length`) != 3 {
			t.Errorf("the slip's how-to is not three lines in Spanish: %q", txt)
		}
		lee.axe("invite slip (en)")
		lee.screenshot("invite-slip.png")

		// Shared through the share sheet where there is one; copied where not.
		eval[chromedp.Void](lee, `(() => { window.__shared = null; navigator.share = async (d) => { window.__shared = d; }; navigator.canShare = () => true; })()`)
		lee.click(`#main button[data-action=share]`)
		lee.waitFor("the share sheet", `window.__shared`, stepTimeout)
		if got := eval[string](lee, `window.__shared.url`); got != link {
			t.Errorf("shared %q, want the join link", got)
		}
		if txt := eval[string](lee, `window.__shared.text`); !strings.Contains(txt, code) {
			t.Errorf("the shared text %q lacks the code", txt)
		}
		eval[chromedp.Void](lee, `(() => { delete navigator.share; navigator.share = undefined; window.__copied = null; Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: async (s) => { window.__copied = s; } } }); })()`)
		lee.click(`#main button[data-action=share]`)
		lee.waitFor("the copy", `window.__copied`, stepTimeout)
		if got := eval[string](lee, `window.__copied`); !strings.Contains(got, link) || !strings.Contains(got, code) {
			t.Errorf("copied %q, want the code and the link", got)
		}
	})
	if !ok {
		return
	}

	e.step("the slip alone prints, on one page of A4 and of US Letter", func(t *testing.T) {
		lee.media("print")
		hidden := eval[[]string](lee, `['header.top', '#crumbs', '#main > h1', '.slip-actions', '#main > div > p.muted'].filter(s => { const el = document.querySelector(s); return el && getComputedStyle(el).display !== 'none'; })`)
		if len(hidden) > 0 {
			t.Errorf("printed besides the slip: %v", hidden)
		}
		if !eval[bool](lee, `['.slip', '.slip-code', '.slip svg.qr', '.slip-steps'].every(s => getComputedStyle(document.querySelector(s)).display !== 'none')`) {
			t.Error("the slip itself is not printed")
		}
		lee.media("")
		for _, p := range papers {
			if n := lee.printPages("slip-"+strings.ReplaceAll(p.name, " ", "-")+".pdf", p.w, p.h); n != 1 {
				t.Errorf("the slip prints on %d pages of %s, want 1", n, p.name)
			}
		}
	})

	ok = e.step("in Spanish, the link opens the join screen with the code filled in", func(t *testing.T) {
		fam.open("#/join")
		fam.setLang("es")
		// From the join screen, the link is only a new fragment: the
		// screen follows it. Then as a fresh load.
		fam.do(chromedp.Navigate(link))
		fam.waitFor("the code from the link", fmt.Sprintf(`document.querySelector('#join input[name=code]')?.value === %q`, code), stepTimeout)
		fam.reload()
		fam.waitFor("the join form", `document.querySelector('form#join')`, stepTimeout)
		if got := eval[string](fam, `document.querySelector('#join input[name=code]').value`); got != code {
			t.Fatalf("the code field holds %q, want %q", got, code)
		}
		fam.axe("join with the code filled in (es)")
		fam.do(
			chromedp.SendKeys(chromedp.CSS(`#join input[name=name]`), "Rosa"),
			chromedp.SendKeys(chromedp.CSS(`#join input[name=passphrase]`), passphrase),
		)
		fam.click(`#join button[type=submit]`)
		fam.waitFor("the login slip", `document.querySelector('#main #my-login')`, syncTimeout)
		login = eval[string](fam, `document.getElementById('my-login').textContent`)
		if !strings.HasPrefix(login, "rosa-") {
			t.Errorf("the login slip shows %q", login)
		}
		if txt := eval[string](fam, `document.querySelector('#main .slip').innerText`); !strings.Contains(txt, "frase secreta") {
			t.Errorf("the login slip is not in Spanish: %q", txt)
		}
		fam.axe("login slip (es)")
		fam.screenshot("login-slip.png")
		fam.visit("#/settings")
		fam.waitFor("the login in Settings", `document.getElementById('settings-login')`, stepTimeout)
		if got := eval[string](fam, `document.getElementById('settings-login').textContent`); got != login {
			t.Errorf("Settings shows the login %q, want %q", got, login)
		}
		fam.axe("settings with the login (es)")
	})
	if !ok {
		return
	}

	e.step("a third context signs in with that login", func(t *testing.T) {
		other := e.newTab("other phone")
		other.signIn(login, passphrase)
		if n := other.has(`a.big-link[data-space="` + s + `"]`); n != 1 {
			t.Errorf("signed in with the family's login, %d links to the plan", n)
		}
		other.visit("#/login")
		other.waitFor("the login slip", `document.getElementById('my-login')`, stepTimeout)
		if got := eval[string](other, `document.getElementById('my-login').textContent`); got != login {
			t.Errorf("the second device's login slip shows %q", got)
		}
		other.axe("login slip (en)")
		other.visit("#/settings")
		other.axe("settings with the login (en)")
	})

	e.step("the list: claimed, revoked and refused, burned with a note", func(t *testing.T) {
		lee.visit("#/s/" + s + "/invites")
		second := lee.makeInvite("en")
		lee.click(`#main button[data-action=done]`)
		lee.waitFor("the list", `document.querySelector('#main .invite-list')`, stepTimeout)
		item := func(c string) string { return fmt.Sprintf(`#main li.invite[data-invite=%q]`, c[:auth.InviteIDLen]) }
		lee.waitFor("the claimed invite", `document.querySelector('`+item(code)+`[data-state=claimed]')`, stepTimeout)
		if txt := eval[string](lee, `document.querySelector('`+item(code)+`').innerText`); !strings.Contains(txt, "Rosa joined") {
			t.Errorf("the claimed invite reads %q", txt)
		}
		if lee.has(item(code)+` button[data-action=revoke]`) != 0 {
			t.Error("a claimed invite offers to be taken back")
		}
		eval[chromedp.Void](lee, `(() => { window.confirm = () => true; })()`)
		lee.do(chromedp.Focus(chromedp.CSS(item(second)+` button[data-action=revoke]`)), chromedp.KeyEvent(kb.Enter))
		lee.waitFor("the revoked invite", `document.querySelector('`+item(second)+`[data-state=revoked]')`, stepTimeout)
		lee.waitFor("the keyboard kept on that invite", `document.activeElement === document.querySelector('`+item(second)+` h3')`, stepTimeout)
		if small := eval[[]string](lee, `[...document.querySelectorAll('#main button, #main a.button')].filter(b => b.getBoundingClientRect().height < 44).map(b => b.textContent)`); len(small) > 0 {
			t.Errorf("controls under 44 px on the invites: %v", small)
		}

		late := e.newTab("late")
		late.open("#/join?code=" + second)
		late.waitFor("the join form", `document.querySelector('form#join')`, stepTimeout)
		if got := eval[string](late, `document.querySelector('#join input[name=code]').value`); got != second {
			t.Errorf("the code field holds %q", got)
		}
		late.do(chromedp.SendKeys(chromedp.CSS(`#join input[name=name]`), "Late"))
		late.click(`#join button[type=submit]`)
		late.waitFor("the refusal", `document.querySelector('#join .error:not([hidden])')`, stepTimeout)
		if late.has(`a.big-link[data-space]`) != 0 {
			t.Error("a revoked invite let someone join")
		}

		// Five wrong codes at one invite burn it.
		cred, err := e.app.Store.Credential(ctx, app.DemoTeacherLogin)
		if err != nil {
			t.Fatal(err)
		}
		burnt, _, err := e.app.Auth.MakeInvite(ctx, student, cred.User)
		if err != nil {
			t.Fatal(err)
		}
		wrong := []byte(strings.ReplaceAll(burnt, "-", ""))
		last := wrong[len(wrong)-1]
		wrong[len(wrong)-1] = wrong[0]
		if wrong[0] == last {
			wrong[len(wrong)-1] = wrong[1]
		}
		for range 5 {
			if _, err := e.app.Auth.Claim(ctx, nil, auth.ClaimRequest{Code: string(wrong), Name: "Guess"}); err == nil {
				t.Fatal("a wrong code was accepted")
			}
		}
		lee.reload()
		lee.visit("#/s/" + s + "/invites")
		lee.waitFor("the burned invite", `document.querySelector('`+item(burnt)+`[data-state=burned] [data-note=burned]')`, stepTimeout)
		if txt := eval[string](lee, `document.querySelector('`+item(burnt)+` [data-note=burned]').innerText`); !strings.Contains(txt, "Make a new invite") {
			t.Errorf("the burned invite's note reads %q", txt)
		}
		lee.axe("invites with every state (en)")
		lee.screenshot("invites.png")
		lee.setLang("es")
		lee.visit("#/s/" + s + "/invites")
		lee.waitFor("the burned invite", `document.querySelector('`+item(burnt)+` [data-note=burned]')`, stepTimeout)
		lee.axe("invites with every state (es)")
		lee.makeInvite("en")
		lee.axe("invite slip (es)")
		if missing := eval[[]string](lee, `plansyncMissingStrings()`); len(missing) > 0 {
			t.Errorf("Spanish UI lacks %v", missing)
		}
	})

	e.step("a family member invites a co-caregiver once the school allows it", func(t *testing.T) {
		fam.visit("#/s/" + s + "/family")
		fam.waitFor("the family tab", `document.querySelector('#main .tab')`, stepTimeout)
		if n := fam.has(`#main a[data-action=invites]`); n != 0 {
			t.Errorf("the school does not let families invite, yet the family sees %d invite controls", n)
		}
		if err := e.app.Store.PutSettings(ctx, school, &server.SchoolSettings{FamiliesInvite: true}); err != nil {
			t.Fatal(err)
		}
		fam.reload()
		fam.visit("#/s/" + s + "/family")
		fam.waitFor("the co-caregiver control", `document.querySelector('#main a[data-action=invites]')`, stepTimeout)
		if txt := eval[string](fam, `document.querySelector('#main a[data-action=invites]').textContent`); txt != "Invitar a otro cuidador" {
			t.Errorf("the family's control reads %q", txt)
		}
		fam.click(`#main a[data-action=invites]`)
		fam.waitFor("the invites screen", `document.querySelector('form#new-invite')`, stepTimeout)
		fam.axe("invites, as a family member (es)")
		theirs := fam.makeInvite("es")
		fam.axe("invite slip, as a family member (es)")
		fam.click(`#main button[data-action=done]`)
		fam.waitFor("their list", `document.querySelector('#main .invite-list')`, stepTimeout)
		if n := fam.has(`#main li.invite`); n != 1 {
			t.Errorf("the family member sees %d invites, want only their own", n)
		}

		lee.reload()
		lee.visit("#/s/" + s + "/invites")
		sel := fmt.Sprintf(`#main li.invite[data-invite=%q]`, theirs[:auth.InviteIDLen])
		lee.waitFor("the co-caregiver invite", `document.querySelector('`+sel+`')`, stepTimeout)
		if txt := eval[string](lee, `document.querySelector('`+sel+`').innerText`); !strings.Contains(txt, "Rosa (familia)") {
			t.Errorf("the teacher's list does not say a family member made it: %q", txt)
		}
	})
}
