package browser_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
)

// axeVersion is the axe-core the tests inject (make browser installs it
// under .tmp/node), pinned so a new rule cannot fail a build that did not
// change.
const axeVersion = "4.10.3"

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		p := filepath.Join(repoRoot(t), ".tmp", "node", "node_modules", "axe-core", "axe.min.js")
		var b []byte
		b, axeErr = os.ReadFile(p)
		if axeErr != nil {
			axeErr = fmt.Errorf("axe-core %s is not installed (make browser, or npm install --prefix .tmp/node axe-core@%s): %w", axeVersion, axeVersion, axeErr)
			return
		}
		axeJS = string(b)
	})
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	return axeJS
}

// axe runs axe-core on the page as it is and fails the step on any
// violation, naming the rule and the elements.
func (b *tab) axe(screen string) {
	b.e.t.Helper()
	if !eval[bool](b, `typeof window.axe === 'object'`) {
		eval[chromedp.Void](b, axeSource(b.e.t)+"\n;undefined")
	}
	if v := eval[string](b, `axe.version`); v != axeVersion {
		b.fatalf("axe-core %s injected, want %s", v, axeVersion)
	}
	got := eval[[]string](b, `axe.run(document).then(r => r.violations.map(v => v.id + ' (' + v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ') + ')'))`)
	if len(got) > 0 {
		b.e.t.Errorf("%s: %s: axe-core finds %d violations: %v", b.name, screen, len(got), got)
	}
}

// visit goes to a screen and waits for its heading.
func (b *tab) visit(frag string) {
	b.e.t.Helper()
	if eval[string](b, `location.hash`) == frag {
		// Setting the same hash is no navigation: the screen would stay
		// as it was drawn (the admin's screens are not redrawn by sync).
		eval[chromedp.Void](b, `location.reload()`)
		b.waitFor("the app to start after a reload", `document.documentElement.dataset.ready === 'true'`, loadTimeout)
	}
	b.goTo(frag)
	b.waitFor("screen "+frag, fmt.Sprintf(`location.hash === %q && document.querySelector('#main h1') && !document.getElementById('loading')`, frag), stepTimeout)
}

// has counts the elements sel matches on the page.
func (b *tab) has(sel string) int {
	b.e.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

func (b *tab) join(code, name, passphrase string) {
	b.e.t.Helper()
	b.open("#/join")
	b.waitFor("the join form", `document.querySelector('form#join')`, stepTimeout)
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#join input[name=code]`), code),
		chromedp.SendKeys(chromedp.CSS(`#join input[name=name]`), name),
	)
	if passphrase != "" {
		b.do(chromedp.SendKeys(chromedp.CSS(`#join input[name=passphrase]`), passphrase))
	}
	b.click(`#join button[type=submit]`)
	b.waitFor("the list of students", `document.querySelector('a.big-link[data-space]')`, syncTimeout)
}

// TestRoleScreens signs in a family member, a teacher, a support staff
// member and the admin, and checks that each sees the controls the
// server would accept from them and no others.
func TestRoleScreens(t *testing.T) {
	e := newEnv(t)
	demo := e.app.Demo
	student, school := findSpaces(t, e.app, demo.InviteStudent)
	ctx := context.Background()
	ortiz, err := e.app.Auth.AddStaff(ctx, school, "Ms. Ortiz", "ortiz", app.DemoPassword, server.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Store.PutMember(ctx, server.Member{Space: student, User: ortiz.ID, Role: server.RoleSupport}); err != nil {
		t.Fatal(err)
	}
	s := student.String()
	goals := "#/s/" + s + "/goals"
	services := "#/school/" + school.String() + "/services"
	addGoal := `#main button[data-action=add][data-collection=goals]`
	deleteGoal := `#main article[data-collection=goals] button[data-action=delete]`
	editGoal := `#main article[data-collection=goals] button[data-action=edit]`
	addService := `#main button[data-action=add][data-collection=services]`
	var goalID string

	e.step("a teacher may add and delete goals, not services", func(t *testing.T) {
		lee := e.newTab("lee")
		lee.signIn(app.DemoTeacherLogin, app.DemoPassword)
		lee.visit(goals)
		lee.waitFor("the seeded goal", `document.querySelector('#main article[data-collection=goals]')`, syncTimeout)
		goalID = eval[string](lee, `document.querySelector('#main article[data-collection=goals]').dataset.id`)
		if lee.has(addGoal) != 1 || lee.has(deleteGoal) == 0 || lee.has(editGoal) == 0 {
			t.Errorf("a teacher sees %d add-goal, %d delete-goal, %d edit-goal controls, want all of them", lee.has(addGoal), lee.has(deleteGoal), lee.has(editGoal))
		}
		lee.axe("goals")
		lee.visit(services)
		lee.waitFor("the seeded services", `document.querySelector('#main article[data-collection=services]')`, syncTimeout)
		if n := lee.has(addService); n != 0 {
			t.Errorf("a teacher sees %d add-service controls; the server refuses them", n)
		}
		lee.axe("services")
	})

	e.step("the admin may add a service", func(t *testing.T) {
		park := e.newTab("park")
		park.signIn(app.DemoAdminLogin, app.DemoPassword)
		park.visit(services)
		park.waitFor("the add-service control", `document.querySelector('`+addService+`')`, syncTimeout)
	})

	e.step("a family member sees only what the server takes from them", func(t *testing.T) {
		fam := e.newTab("family")
		fam.join(demo.InviteCode, "Rosa", "")
		fam.visit(goals)
		fam.waitFor("the seeded goal", `document.querySelector('#main article[data-collection=goals]')`, syncTimeout)
		if n := fam.has(addGoal) + fam.has(deleteGoal) + fam.has(editGoal); n != 0 {
			t.Errorf("a family member sees %d add/edit/delete goal controls; the server refuses them all", n)
		}
		fam.axe("goals")
		if got := eval[[]string](fam, `[...document.querySelectorAll('.tabs a')].map(a => a.getAttribute('href').split('/').pop())`); strings.Join(got, ",") != "about,goals,notes,meetings,family" {
			t.Errorf("a family member's tabs are %v", got)
		}
		fam.visit("#/s/" + s + "/goal/" + goalID)
		// At home, yes; at school, no; a check-in, at home only.
		if fam.has(`#main button[data-action=add][data-collection=actions]`) != 1 {
			t.Errorf("a family member sees %d add-action controls, want 1 (at home)", fam.has(`#main button[data-action=add][data-collection=actions]`))
		}
		school := eval[int](fam, `[...document.querySelectorAll('#main article[data-collection=actions]')].filter(a => a.innerText.includes('paired reading') && a.querySelector('button[data-action=edit], button[data-action=delete]')).length`)
		if school != 0 {
			t.Error("a family member may edit the school's action")
		}
		fam.click(`#main button[data-action=add][data-collection=checkins]`)
		fam.waitFor("the check-in form", `document.querySelector('form.record-form[data-collection=checkins]')`, stepTimeout)
		if n := fam.has(`form.record-form[data-collection=checkins] [name=where]`); n != 0 {
			t.Errorf("the family's check-in form offers a where (%d controls); it is at home", n)
		}
		fam.axe("goal with the check-in form open")
		fam.fill(`form.record-form[data-collection=checkins]`, map[string]string{"what_happened": "Read two pages to her brother"})
		fam.waitFor("the check-in saved", `!document.querySelector('form.record-form[data-collection=checkins]')`, stepTimeout)
		fam.synced()
		if n := fam.has(`#main article[data-collection=checkins]`); n != 1 {
			t.Errorf("%d check-ins after the family added one and synced", n)
		}
		fam.visit("#/s/" + s + "/notes")
		fam.click(`#main button[data-action=add][data-collection=notes]`)
		fam.waitFor("the note form", `document.querySelector('form.record-form[data-collection=notes]')`, stepTimeout)
		if k := eval[string](fam, `document.querySelector('form.record-form[data-collection=notes] [name=kind]').value`); k != "update" {
			t.Errorf("a new note starts as %q, want update", k)
		}
		fam.axe("notes with the form open")
		// The device checks every op against the schema and the role
		// table before it promises anything: what the server would
		// refuse is refused here, and nothing waits to be sent.
		fam.synced()
		for _, c := range []struct{ coll, fields, want string }{
			{"goals", `{description: 'A goal a family may not write'}`, "role_forbidden"},
			{"checkins", fmt.Sprintf(`{goal_id: %q, where: 'school', what_happened: 'At school'}`, goalID), "home_only"},
			{"checkins", fmt.Sprintf(`{goal_id: %q, what_happened: 'Nowhere'}`, goalID), "home_only"},
			{"notes", `{kind: 'praise', text: 'No language'}`, "required"},
			{"notes", `{kind: 'cheer', text: 'Hi', lang: 'es'}`, "not_in_enum"},
			{"notes", "{kind: 'update', text: 'x'.repeat(20000), lang: 'es'}", "too_long"},
		} {
			got := eval[string](fam, fmt.Sprintf(`import('/app/guard.js').then(g => g.put({kind: 'student', space: %q, collection: %q, role: 'family'}, null, %s)).then(() => 'saved', e => e.code)`, s, c.coll, c.fields))
			if got != c.want {
				t.Errorf("a family's %s %s: the device says %q, want %q", c.coll, c.fields, got, c.want)
			}
		}
		if n := eval[string](fam, `document.getElementById('sync').dataset.pending`); n != "0" {
			t.Errorf("%s changes wait after the device refused them all", n)
		}
		// Two caregivers may each write a family profile: both show.
		fam.visit("#/s/" + s + "/family")
		fam.waitFor("the seeded profile", `document.querySelector('#main article[data-collection=family]')`, syncTimeout)
		fam.click(`#main button[data-action=add][data-collection=family]`)
		fam.fill(`form.record-form[data-collection=family]`, map[string]string{"best_times": "Sábados por la mañana"})
		fam.waitFor("two profiles", `document.querySelectorAll('#main article[data-collection=family]').length === 2`, stepTimeout)
		fam.axe("family with two profiles")
		fam.visit(services)
		fam.waitFor("the seeded services", `document.querySelector('#main article[data-collection=services]')`, syncTimeout)
		if n := fam.has(addService) + fam.has(`#main article[data-collection=services] button[data-action=edit]`); n != 0 {
			t.Errorf("a family member sees %d service controls", n)
		}
	})

	e.step("support staff see what their role may read", func(t *testing.T) {
		sup := e.newTab("ortiz")
		sup.signIn("ortiz", app.DemoPassword)
		sup.visit(goals)
		sup.waitFor("the seeded goal", `document.querySelector('#main article[data-collection=goals]')`, syncTimeout)
		if got := eval[[]string](sup, `[...document.querySelectorAll('.tabs a')].map(a => a.getAttribute('href').split('/').pop())`); strings.Join(got, ",") != "goals,notes,meetings,family" {
			t.Errorf("support staff's tabs are %v, want no About (their role may not read it)", got)
		}
		if n := sup.has(addGoal) + sup.has(editGoal) + sup.has(deleteGoal); n != 0 {
			t.Errorf("support staff see %d goal controls", n)
		}
		sup.visit("#/s/" + s + "/about")
		sup.waitFor("a notice instead of an empty tab", `document.querySelector('#main .notice')`, stepTimeout)
		sup.axe("about, not readable")
		sup.visit("#/s/" + s + "/goal/" + goalID)
		if sup.has(`#main button[data-action=add][data-collection=checkins]`) != 1 || sup.has(`#main button[data-action=add][data-collection=actions]`) != 0 {
			t.Error("support staff may add check-ins and not actions")
		}
	})
}

// TestNotSaved has a Spanish-speaking family member write, offline, what the server will
// refuse from them, and finds every word kept after the refusal and a
// reload; then the words go out as a note, and a second refusal is
// discarded on purpose. It also checks the small things a family met
// on the way: the header while signed out, the passphrase hint, the
// tabs, the breadcrumbs and the button that opens a form, at 360 px.
func TestNotSaved(t *testing.T) {
	e := newEnv(t)
	demo := e.app.Demo
	student, _ := findSpaces(t, e.app, demo.InviteStudent)
	s := student.String()
	fam := e.newTab("family")
	// Words with accents, a line break and an emoji: all of them must come
	// back.
	const words = "Ana leyó sola el capítulo 3 🎉\nMañana seguimos con el 4, después de la cena."
	const second = "Una meta nueva que la familia no puede crear"
	card := `#main .notsaved-card`

	ok := e.step("signed out and online, the header does not say offline", func(t *testing.T) {
		fam.open("#/join")
		eval[chromedp.Void](fam, `(() => { localStorage.setItem('plansync.lang', 'es'); })()`)
		fam.reload()
		fam.waitFor("the join form", `document.querySelector('form#join')`, stepTimeout)
		fam.waitFor("the signed-out state", `document.getElementById('sync').dataset.state === 'signedOut'`, stepTimeout)
		if got := eval[string](fam, `document.getElementById('sync').textContent`); got != "Sin sesión iniciada" {
			t.Errorf("the header reads %q on the join screen while online", got)
		}
		hint := eval[string](fam, `document.querySelector('#join').innerText`)
		if !strings.Contains(hint, "otro teléfono") || !strings.Contains(hint, "opcional") {
			t.Errorf("the passphrase hint does not say what it is for and that it is optional: %q", hint)
		}
		fam.axe("join")
		fam.join(demo.InviteCode, "Rosa", "")
	})
	if !ok {
		return
	}

	ok = e.step("at 360 px in Spanish: tabs, breadcrumbs, and the button that opens a form", func(t *testing.T) {
		fam.visit("#/s/" + s + "/notes")
		off := eval[[]string](fam, `[...document.querySelectorAll('.tabs a')].filter(a => { const r = a.getBoundingClientRect(); return r.right > innerWidth || r.left < 0 }).map(a => a.textContent)`)
		if len(off) > 0 {
			t.Errorf("tabs off screen at 360 px: %v", off)
		}
		low := eval[[]string](fam, `[...document.querySelectorAll('#crumbs a')].filter(a => a.getBoundingClientRect().height < 24).map(a => a.textContent)`)
		if len(low) > 0 {
			t.Errorf("breadcrumb links under 24 px tall: %v", low)
		}
		open := `#main button[data-action=add][data-collection=notes]`
		fam.click(open)
		fam.waitFor("the note form", `document.querySelector('form.record-form[data-collection=notes]')`, stepTimeout)
		if shown := eval[bool](fam, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).display !== 'none'`, open)); shown {
			t.Error("the button that opened the form is still shown: a second tap opens a second form")
		}
		eval[chromedp.Void](fam, `document.querySelector('form.record-form[data-collection=notes] button[data-action=cancel]').click()`)
	})
	if !ok {
		return
	}

	put := func(fields string) string {
		return fmt.Sprintf(`plansync.put(%q, 'goals', null, %s)`, s, fields)
	}
	ok = e.step("offline, a refused edit keeps its words through reconnect and reload", func(t *testing.T) {
		fam.visit("#/s/" + s + "/goals")
		fam.waitFor("the service worker to control the page", `navigator.serviceWorker.controller !== null`, loadTimeout)
		fam.synced()
		e.stop()
		fam.setOffline(true)
		// The screens offer a family no goal form: write through the
		// client directly, as a page from before this check would have.
		eval[string](fam, put(fmt.Sprintf(`{description: %q}`, words)))
		fam.waitFor("the edit waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		e.start()
		fam.setOffline(false)
		fam.waitFor("the Not saved card", `document.querySelector('`+card+`')`, syncTimeout)
		fam.synced()
		if got := eval[string](fam, `document.querySelector('`+card+` .words').textContent`); got != words {
			t.Errorf("the card holds %q, want %q", got, words)
		}
		if strings.Contains(eval[string](fam, `[...document.querySelectorAll('#main article[data-collection=goals]')].map(a => a.innerText).join()`), "capítulo 3") {
			t.Error("the refused goal is still shown as a goal")
		}
		fam.reload()
		fam.visit("#/s/" + s + "/goals")
		fam.waitFor("the card after a reload", `document.querySelector('`+card+` .words')`, stepTimeout)
		if got := eval[string](fam, `document.querySelector('`+card+` .words').textContent`); got != words {
			t.Errorf("after a reload the card holds %q, want %q", got, words)
		}
		if r := eval[string](fam, `document.querySelector('`+card+`').innerText`); !strings.Contains(r, "No puede cambiar esto.") {
			t.Errorf("the card gives no reason: %q", r)
		}
		fam.axe("goals with a Not saved card")
		if missing := eval[[]string](fam, `plansyncMissingStrings()`); len(missing) > 0 {
			t.Errorf("Spanish UI lacks %v", missing)
		}
	})
	if !ok {
		return
	}

	ok = e.step("the words go to the teacher as a note", func(t *testing.T) {
		fam.click(card + ` button[data-action=send-note]`)
		fam.waitFor("the card to go", `!document.querySelector('`+card+`')`, stepTimeout)
		fam.synced()
		id := eval[string](fam, fmt.Sprintf(`plansync.list(%q, 'notes').then(ns => (ns.find(n => n.fields.text && n.fields.text.value === %q) || {}).id || '')`, s, words))
		if id == "" {
			t.Fatal("no note with the words on the device")
		}
		if got := serverRecord(t, e.app, student, "notes", id).Fields["text"].Value; got != words {
			t.Errorf("the server's note holds %q", got)
		}
		// Its byline is the author the server stamped, with their role.
		fam.visit("#/s/" + s + "/notes")
		sel := fmt.Sprintf(`#main article[data-collection=notes][data-id=%q] h3`, id)
		fam.waitFor("the note", `document.querySelector('`+sel+`')`, stepTimeout)
		if h := eval[string](fam, `document.querySelector('`+sel+`').textContent`); !strings.Contains(h, "(familia)") {
			t.Errorf("the note's byline reads %q, want the author's role", h)
		}
	})
	if !ok {
		return
	}

	e.step("discarding is explicit, and then the words are gone", func(t *testing.T) {
		eval[string](fam, put(fmt.Sprintf(`{description: %q}`, second)))
		fam.waitFor("the second card", `document.querySelector('`+card+`')`, syncTimeout)
		eval[chromedp.Void](fam, `(() => { window.confirm = () => false; })()`)
		fam.click(card + ` button[data-action=discard]`)
		if fam.has(card) != 1 {
			t.Fatal("a cancelled discard removed the card")
		}
		eval[chromedp.Void](fam, `(() => { window.confirm = () => true; })()`)
		// By keyboard: the card's buttons take focus and Enter.
		fam.do(chromedp.Focus(chromedp.CSS(card+` button[data-action=discard]`)), chromedp.KeyEvent(kb.Enter))
		fam.waitFor("the card to go", `!document.querySelector('`+card+`')`, stepTimeout)
		fam.reload()
		fam.visit("#/s/" + s + "/goals")
		fam.waitFor("the goals", `document.querySelector('#main article[data-collection=goals]')`, stepTimeout)
		if n := fam.has(card); n != 0 {
			t.Errorf("%d cards after a discard and a reload", n)
		}
	})
}
