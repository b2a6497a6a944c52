package browser_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/shared/uuid"
)

// accessDeadline is how soon an open page of someone removed from a plan
// must lose it (the issue asks for a second; the server's part is
// tested in server/api, this is the whole way to the screen).
const accessDeadline = time.Second

// tabTo presses Tab until sel has the focus, as a keyboard user would,
// at most limit times.
func (b *tab) tabTo(sel string, limit int) {
	b.e.t.Helper()
	for range limit {
		if eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)) {
			return
		}
		b.do(chromedp.KeyEvent(kb.Tab))
	}
	b.fatalf("%s never got the focus in %d presses of Tab (focus on %s)", sel, limit, eval[string](b, `document.activeElement.outerHTML.slice(0, 120)`))
}

// keys types into whatever has the focus.
func (b *tab) keys(s string) {
	b.e.t.Helper()
	b.do(chromedp.KeyEvent(s))
}

// inLang sets the UI language and reloads the page.
func (b *tab) inLang(lang string) {
	b.e.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`localStorage.setItem('plansync.lang', %q)`, lang))
	b.reload()
}

// signedOut says whether the page's client stopped for want of a session.
const signedOut = `document.getElementById('sync').dataset.state === 'stopped' || document.getElementById('sync').dataset.state === 'signedOut'`

// setup uses a setup code on #/setup and waits for the signed-in home.
func (b *tab) setup(code, password string) {
	b.e.t.Helper()
	b.open("#/setup")
	b.waitFor("the setup form", `document.querySelector('form#setup')`, stepTimeout)
	b.fill(`form#setup`, map[string]string{"code": code, "password": password})
	b.waitFor("the home screen after setting the password", `location.hash === '#/' && document.querySelector('#h-students')`, syncTimeout)
}

// TestAdminScreens is the school's admin at work, and everyone's
// settings: the admin adds a teacher (by keyboard only) and a student and
// assigns them, the teacher sets their password with the setup code and
// sees the plan; the team screen shows who is on a plan; a family member
// never sees an admin control and loses the plan within a second of being
// removed; an account is disabled and enabled; a password is reset with
// a setup code; a teacher changes their password and signs a device out.
// axe-core checks every new screen in English and Spanish at 360 px.
func TestAdminScreens(t *testing.T) {
	e := newEnv(t)
	demo := e.app.Demo
	ana, school := findSpaces(t, e.app, demo.InviteStudent)
	ctx := context.Background()
	cred, err := e.app.Store.Credential(ctx, app.DemoTeacherLogin)
	if err != nil {
		t.Fatal(err)
	}
	lee := cred.User
	people := "#/admin/" + school.String() + "/people"
	students := "#/admin/" + school.String() + "/students"
	settings := "#/admin/" + school.String() + "/settings"
	anaPlan := "#/admin/plan/" + ana.String()
	anaTeam := "#/s/" + ana.String() + "/team"

	park := e.newTab("park")
	var code, diazID, bea string
	const diazPass = "a passphrase Díaz chose"

	ok := e.step("the admin adds a teacher by keyboard only", func(t *testing.T) {
		park.signIn(app.DemoAdminLogin, app.DemoPassword)
		park.waitFor("the admin's way in on the home screen", fmt.Sprintf(`document.querySelector('a#admin-%s')`, school), stepTimeout)
		park.click("a#admin-" + school.String())
		park.waitFor("the people tab", fmt.Sprintf(`location.hash === %q && document.querySelector('form#add-staff') && document.querySelector('.people li[data-user="%s"]')`, people, lee), syncTimeout)
		park.axe("admin people")
		// From the screen's heading, where focus lands on a new screen.
		park.tabTo(`#add-staff input[name=name]`, 40)
		park.keys("Mr. Díaz")
		park.do(chromedp.KeyEvent(kb.Tab))
		park.keys("mdiaz")
		park.do(chromedp.KeyEvent(kb.Tab))
		if got := eval[string](park, `document.activeElement.name + '=' + document.activeElement.value`); got != "role=teacher" {
			t.Fatalf("after the login, Tab reaches %q, want the role starting as teacher", got)
		}
		park.do(chromedp.KeyEvent(kb.Tab))
		if got := eval[string](park, `document.activeElement.type`); got != "submit" {
			t.Fatalf("after the role, Tab reaches %q, want the submit button", got)
		}
		park.do(chromedp.KeyEvent(kb.Enter))
		park.waitFor("the setup code", `document.querySelector('#main .setup-slip .setup-code')`, stepTimeout)
		code = eval[string](park, `document.querySelector('#main .setup-slip .setup-code').dataset.code`)
		park.waitFor("the focus on the slip with the code", `document.activeElement.classList.contains('setup-slip')`, stepTimeout)
		if n := eval[string](park, `document.querySelector('#add-staff input[name=name]').value`); n != "" {
			t.Errorf("the form still holds %q after success", n)
		}
		slip := eval[string](park, `document.querySelector('#main .setup-slip').innerText`)
		if !strings.Contains(slip, "Mr. Díaz") || !strings.Contains(slip, "#/setup") || strings.Contains(strings.ToLower(slip), "password:") {
			t.Errorf("the slip reads %q", slip)
		}
		park.waitFor("Mr. Díaz in the list", `[...document.querySelectorAll('.people li[data-role=teacher]')].some(li => li.innerText.includes('Mr. Díaz'))`, stepTimeout)
		diazID = eval[string](park, `[...document.querySelectorAll('.people li[data-role=teacher]')].find(li => li.innerText.includes('Mr. Díaz')).dataset.user`)
		park.axe("admin people with a setup code")
	})
	if !ok {
		return
	}

	ok = e.step("a taken login keeps what was typed", func(t *testing.T) {
		park.fill(`form#add-staff`, map[string]string{"name": "Ms. Lee again", "login": app.DemoTeacherLogin})
		park.waitFor("the error", `!document.querySelector('#add-staff .error').hidden`, stepTimeout)
		if got := eval[string](park, `document.querySelector('#add-staff .error').textContent`); !strings.Contains(got, "login is taken") {
			t.Errorf("the error reads %q", got)
		}
		if got := eval[string](park, `document.querySelector('#add-staff input[name=name]').value + '|' + document.querySelector('#add-staff input[name=login]').value`); got != "Ms. Lee again|"+app.DemoTeacherLogin {
			t.Errorf("the form holds %q after the refusal", got)
		}
	})
	if !ok {
		return
	}

	ok = e.step("the admin adds a student and assigns the teacher", func(t *testing.T) {
		park.visit(students)
		park.waitFor("the students", fmt.Sprintf(`document.querySelector('.students a[data-space="%s"]')`, ana), syncTimeout)
		park.axe("admin students")
		park.fill(`form#add-student`, map[string]string{"name": "Bea"})
		park.waitFor("the new plan's link", `document.querySelector('#new-student')`, stepTimeout)
		bea = strings.TrimPrefix(eval[string](park, `document.querySelector('#new-student').getAttribute('href')`), "#/admin/plan/")
		if _, err := uuid.Parse(bea); err != nil {
			t.Fatalf("the new plan's link is %q", bea)
		}
		park.click("#new-student")
		park.waitFor("the plan's member page with the assign form", `document.querySelector('form#assign select[name=user]')`, syncTimeout)
		park.axe("who is on Bea's plan")
		eval[chromedp.Void](park, fmt.Sprintf(`(() => { const s = document.querySelector('form#assign select[name=user]'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, diazID))
		if r := eval[string](park, `document.querySelector('form#assign select[name=role]').value`); r != "teacher" {
			t.Errorf("the role starts as %q for a teacher", r)
		}
		eval[chromedp.Void](park, `document.querySelector('form#assign').requestSubmit()`)
		park.waitFor("Mr. Díaz on Bea's plan", fmt.Sprintf(`document.querySelector('.members li[data-user="%s"][data-role=teacher]')`, diazID), stepTimeout)
	})
	if !ok {
		return
	}

	diaz := e.newTab("diaz")
	ok = e.step("the teacher sets a password with the code and sees the plan", func(t *testing.T) {
		diaz.setup(code, diazPass)
		diaz.waitFor("Bea's plan", fmt.Sprintf(`document.querySelector('a.big-link[data-space="%s"]')`, bea), syncTimeout)
		if n := diaz.has(`a[id^=admin-]`); n != 0 {
			t.Errorf("a teacher sees %d admin links", n)
		}
		// The code works once.
		other := e.newTab("second use")
		other.open("#/setup")
		other.fill(`form#setup`, map[string]string{"code": code, "password": "another one entirely"})
		other.waitFor("the refusal", `!document.querySelector('#setup .error').hidden`, stepTimeout)
		if got := eval[string](other, `document.querySelector('#setup .error').textContent`); !strings.Contains(got, "already used") {
			t.Errorf("a used code reads %q", got)
		}
		other.axe("setup with an error")
	})
	if !ok {
		return
	}

	fam := e.newTab("family")
	ok = e.step("the team screen, and a family member sees no admin control", func(t *testing.T) {
		fam.join(demo.InviteCode, "Rosa", "")
		fam.visit("#/s/" + ana.String() + "/goals")
		fam.click("#team-link")
		fam.waitFor("the team", `document.querySelector('#main .team li[data-role=family]')`, syncTimeout)
		roles := eval[string](fam, `[...document.querySelectorAll('#main .team li')].map(li => li.dataset.role).join(',')`)
		for _, r := range []string{"admin", "teacher", "family"} {
			if !strings.Contains(roles, r) {
				t.Errorf("the team lists roles %s, no %s", roles, r)
			}
		}
		text := eval[string](fam, `document.querySelector('#main .team').innerText`)
		for _, w := range []string{"Ms. Lee", "Rosa", "Since", "Languages"} {
			if !strings.Contains(text, w) {
				t.Errorf("the team screen does not show %q: %q", w, text)
			}
		}
		if got := eval[string](fam, `document.querySelector('#main h1').textContent`); got != demo.InviteStudent+"'s team" {
			t.Errorf("the team screen's heading is %q", got)
		}
		fam.axe("team")
		if n := fam.has(`#manage-plan`); n != 0 {
			t.Error("a family member is offered to change who is on the plan")
		}
		fam.visit("#/")
		if n := fam.has(`a[id^=admin-]`); n != 0 {
			t.Errorf("a family member sees %d admin links", n)
		}
		fam.visit(people)
		if n := fam.has(`#main form, #main button[data-action]`); n != 0 {
			t.Errorf("a family member who types the admin address sees %d admin controls", n)
		}
		fam.waitFor("a notice", `document.querySelector('#main .notice')`, stepTimeout)
		fam.visit(anaPlan)
		if n := fam.has(`#main form, #main .confirm`); n != 0 {
			t.Errorf("a family member sees %d controls on the plan's member page", n)
		}
		fam.visit(anaTeam)
		fam.waitFor("the team again", `document.querySelector('#main .team li')`, syncTimeout)
	})
	if !ok {
		return
	}

	ok = e.step("the admin removes the family member; their open page loses the plan within a second", func(t *testing.T) {
		fam.visit("#/")
		fam.waitFor("Ana's plan on the family's home", fmt.Sprintf(`document.querySelector('a.big-link[data-space="%s"]')`, ana), stepTimeout)
		park.visit(anaTeam)
		park.click("#manage-plan")
		park.waitFor("Rosa on the member page", `[...document.querySelectorAll('.members li[data-role=family]')].some(li => li.innerText.includes('Rosa'))`, syncTimeout)
		if n := park.has(`.members li[data-role=admin] .confirm`); n != 0 {
			t.Error("the admin is offered to remove an admin")
		}
		rosa := `[...document.querySelectorAll('.members li[data-role=family]')].find(li => li.innerText.includes('Rosa'))`
		eval[chromedp.Void](park, rosa+`.querySelector('.confirm button').click()`)
		park.waitFor("the question", rosa+`.querySelector('.confirm .question')`, stepTimeout)
		park.axe("remove, asking")
		eval[chromedp.Void](park, rosa+`.querySelector('.confirm button.danger').click()`)
		park.waitFor("the removal said", `document.querySelector('#main .status').textContent.includes('no longer')`, stepTimeout)
		start := time.Now()
		fam.waitFor("the plan gone from the family's open page", fmt.Sprintf(`!document.querySelector('a.big-link[data-space="%s"]')`, ana), 5*time.Second)
		if d := time.Since(start); d > accessDeadline {
			t.Errorf("the family's page lost the plan %v after the admin saw it removed, want within %v", d, accessDeadline)
		}
		t.Logf("the family's page lost the plan %v after the removal", time.Since(start))
	})
	if !ok {
		return
	}

	leeTab := e.newTab("lee")
	ok = e.step("the admin disables an account and enables it again", func(t *testing.T) {
		leeTab.signIn(app.DemoTeacherLogin, app.DemoPassword)
		leeTab.synced()
		park.visit(people)
		btn := fmt.Sprintf(`.people li[data-user="%s"] button[data-action=disable]`, lee)
		park.waitFor("Ms. Lee's disable button", `document.querySelector('`+btn+`')`, syncTimeout)
		park.click(btn)
		park.waitFor("the account shown disabled", fmt.Sprintf(`document.querySelector('.people li[data-user="%s"] button[data-action=enable]')`, lee), stepTimeout)
		leeTab.waitFor("Ms. Lee's open page signed out", signedOut, syncTimeout)
		park.axe("people with a disabled account")
		park.click(fmt.Sprintf(`.people li[data-user="%s"] button[data-action=enable]`, lee))
		park.waitFor("the account shown enabled", `document.querySelector('`+btn+`')`, stepTimeout)
		again := e.newTab("lee again")
		again.signIn(app.DemoTeacherLogin, app.DemoPassword)
	})
	if !ok {
		return
	}

	ok = e.step("the admin resets a password: a setup code, and using it works", func(t *testing.T) {
		reset := fmt.Sprintf(`.people li[data-user="%s"] button[data-action=reset]`, lee)
		park.click(reset)
		slip := fmt.Sprintf(`.people li[data-user="%s"] .setup-slip .setup-code`, lee)
		park.waitFor("the setup code", `document.querySelector('`+slip+`')`, stepTimeout)
		c := eval[string](park, `document.querySelector('`+slip+`').dataset.code`)
		if len(c) != len("XXXXX-XXXXX-XXXXX-XXXXX") {
			t.Errorf("the setup code reads %q", c)
		}
		fresh := e.newTab("lee with the code")
		fresh.setup(c, "Lee's own new passphrase")
		signin := e.newTab("lee with the new password")
		signin.signIn(app.DemoTeacherLogin, "Lee's own new passphrase")
	})
	if !ok {
		return
	}

	ok = e.step("a teacher's open page shows a new plan they are given", func(t *testing.T) {
		open := e.newTab("lee, open")
		open.signIn(app.DemoTeacherLogin, "Lee's own new passphrase")
		open.synced()
		if n := open.has(fmt.Sprintf(`a.big-link[data-space="%s"]`, bea)); n != 0 {
			t.Fatal("Ms. Lee sees Bea's plan before she is given it")
		}
		park.visit("#/admin/plan/" + bea)
		park.waitFor("the assign form", `document.querySelector('form#assign select[name=user]')`, syncTimeout)
		eval[chromedp.Void](park, fmt.Sprintf(`(() => { const s = document.querySelector('form#assign select[name=user]'); s.value = %q; s.dispatchEvent(new Event('change')); document.querySelector('form#assign').requestSubmit(); })()`, lee))
		park.waitFor("Ms. Lee on Bea's plan", fmt.Sprintf(`document.querySelector('.members li[data-user="%s"]')`, lee), stepTimeout)
		start := time.Now()
		open.waitFor("Bea's plan on Ms. Lee's open home", fmt.Sprintf(`document.querySelector('a.big-link[data-space="%s"]')`, bea), 10*time.Second)
		t.Logf("Ms. Lee's open page showed the plan %v after it was given", time.Since(start))
	})
	if !ok {
		return
	}

	ok = e.step("school settings: families may invite a co-caregiver", func(t *testing.T) {
		park.visit(settings)
		park.waitFor("the setting", `document.querySelector('#families-invite')`, syncTimeout)
		if eval[bool](park, `document.querySelector('#families-invite').checked`) {
			t.Error("families may invite by default")
		}
		park.axe("school settings")
		park.click("#families-invite")
		park.waitFor("saved", `document.querySelector('#main .status').textContent.includes('Saved')`, stepTimeout)
		st, err := e.app.Store.Settings(ctx, school)
		if err != nil || !st.FamiliesInvite {
			t.Errorf("the school's settings after the admin turned it on: %+v, %v", st, err)
		}
	})
	if !ok {
		return
	}

	diaz2 := e.newTab("diaz second device")
	ok = e.step("a teacher changes their password and signs a device out", func(t *testing.T) {
		diaz2.signIn("mdiaz", diazPass)
		diaz2.synced()
		diaz.visit("#/settings")
		diaz.waitFor("the password form and two devices", `document.querySelector('form#change-password') && document.querySelectorAll('.devices li').length === 2`, syncTimeout)
		diaz.axe("settings with password and devices")
		diaz.fill(`form#change-password`, map[string]string{"current": "not my password", "password": "Díaz's newer passphrase", "again": "Díaz's newer passphrase"})
		diaz.waitFor("the error", `!document.querySelector('#change-password .error').hidden`, stepTimeout)
		if got := eval[string](diaz, `document.querySelector('#change-password .error').textContent`); !strings.Contains(got, "current password is not right") {
			t.Errorf("a wrong current password reads %q", got)
		}
		if got := eval[string](diaz, `document.querySelector('#change-password input[name=password]').value`); got != "Díaz's newer passphrase" {
			t.Errorf("the new password was dropped after the refusal: %q", got)
		}
		// Revoke the other device first: it must be signed out.
		other := `document.querySelector('.devices li:not([data-current]) .confirm button')`
		eval[chromedp.Void](diaz, other+`.click()`)
		diaz.waitFor("the question", `document.querySelector('.devices li:not([data-current]) .confirm .question')`, stepTimeout)
		eval[chromedp.Void](diaz, `document.querySelector('.devices li:not([data-current]) .confirm button.danger').click()`)
		diaz.waitFor("one device left", `document.querySelectorAll('.devices li').length === 1 && document.querySelector('.devices li[data-current]')`, stepTimeout)
		diaz2.waitFor("the revoked device signed out", signedOut, syncTimeout)
		diaz.fill(`form#change-password`, map[string]string{"current": diazPass, "password": "Díaz's newer passphrase", "again": "Díaz's newer passphrase"})
		diaz.waitFor("changed", `document.querySelector('#main .status') && [...document.querySelectorAll('#main .status')].some(s => s.textContent.includes('password is changed'))`, stepTimeout)
		if got := eval[string](diaz, `document.querySelector('#change-password input[name=current]').value`); got != "" {
			t.Error("the password form keeps the passwords after success")
		}
		third := e.newTab("diaz third device")
		third.signIn("mdiaz", "Díaz's newer passphrase")
	})
	if !ok {
		return
	}

	ok = e.step("offline, the team says it needs a connection, and tries again", func(t *testing.T) {
		team := "#/s/" + bea + "/team"
		diaz.visit(team)
		diaz.waitFor("Bea's team", `document.querySelector('#main .team li[data-role=teacher]')`, syncTimeout)
		diaz.waitFor("the service worker to control the page", `navigator.serviceWorker.controller !== null`, loadTimeout)
		diaz.setOffline(true)
		diaz.reload()
		diaz.visit(team)
		diaz.waitFor("the notice", `document.querySelector('#main .notice[role=alert]')`, syncTimeout)
		if got := eval[string](diaz, `document.querySelector('#main .notice[role=alert]').textContent`); !strings.Contains(got, "needs a connection") {
			t.Errorf("offline, the team screen reads %q", got)
		}
		diaz.axe("team offline")
		diaz.setOffline(false)
		diaz.click(`#main .notice[role=alert] + button`)
		diaz.waitFor("Bea's team again", `document.querySelector('#main .team li[data-role=teacher]')`, syncTimeout)
	})
	if !ok {
		return
	}

	e.step("every new screen in Spanish at 360 px", func(t *testing.T) {
		park.inLang("es")
		for _, sc := range []struct{ frag, ready string }{
			{people, ".people li"}, {students, ".students a"}, {settings, "#families-invite"},
			{anaPlan, ".members li"}, {anaTeam, ".team li"}, {"#/settings", ".devices li"},
		} {
			frag := sc.frag
			park.visit(frag)
			park.waitFor("the screen loaded "+frag, fmt.Sprintf(`document.querySelector('#main %s')`, sc.ready), syncTimeout)
			park.axe("es " + frag)
			wide := eval[[]string](park, `[...document.querySelectorAll('#main *')].filter(el => el.getBoundingClientRect().right > innerWidth + 1).map(el => el.tagName + '.' + el.className).slice(0, 5)`)
			if len(wide) > 0 {
				t.Errorf("%s: wider than 360 px: %v", frag, wide)
			}
			// On Settings, the sections of this screen's modules (the
			// login slip's link is another module's).
			scope := "#main"
			if frag == "#/settings" {
				scope = "#main section:has(#h-password), #main section:has(#h-devices)"
			}
			small := eval[[]string](park, `[...document.querySelectorAll('`+scope+`')].flatMap(s => [...s.querySelectorAll('button, a, input, select')]).map(el => [el, el.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && (r.height < 24 || r.width < 24)).map(([el, r]) => el.tagName + '#' + el.id + ' ' + r.width + 'x' + r.height + ' ' + el.textContent.slice(0, 30)).slice(0, 5)`)
			if len(small) > 0 {
				t.Errorf("%s: tap targets under 24 px: %v", frag, small)
			}
		}
		if got := eval[string](park, `document.querySelector('#h-devices').textContent`); got != "Sus dispositivos" {
			t.Errorf("the devices heading in Spanish reads %q", got)
		}
		setup := e.newTab("setup es")
		setup.open("#/setup")
		setup.inLang("es")
		setup.waitFor("the setup form", `document.querySelector('form#setup')`, stepTimeout)
		setup.axe("es setup")
	})
}
