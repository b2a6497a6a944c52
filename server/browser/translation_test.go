package browser_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/uuid"
)

// TestTranslationJourney: the teacher writes a note in English; the
// parent, reading the app in Spanish, sees it in Spanish labelled machine
// translation (Apertium, on this server), taps "show original" and sees
// the English; an interpreter corrects the translation, and the parent
// sees "translated by" the interpreter. axe-core finds nothing on the way.
func TestTranslationJourney(t *testing.T) {
	engine, err := translate.NewApertium(context.Background(), translate.ApertiumOptions{})
	if errors.Is(err, translate.ErrNotInstalled) {
		t.Skip("apertium is not installed: make test installs it (apt-get install -y apertium apertium-eng-spa)")
	} else if err != nil {
		t.Fatal(err)
	}
	e := newEnvTranslating(t, engine)
	demo := e.app.Demo
	student, school := findSpaces(t, e.app, demo.InviteStudent)
	ctx := context.Background()
	tran, err := e.app.Auth.AddStaff(ctx, school, "Mr. Tran", "tran", app.DemoPassword, server.RoleInterpreter)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Store.PutMember(ctx, server.Member{Space: student, User: tran.ID, Role: server.RoleInterpreter}); err != nil {
		t.Fatal(err)
	}
	notes := "#/s/" + student.String() + "/notes"
	const note = "Ana read two books this week. Thank you for reading with her."
	spanish := func(b *tab) {
		b.open("#/")
		eval[bool](b, `(localStorage.setItem('plansync.lang', 'es'), true)`)
		b.reload()
		// The plan's screens need the space list (the role in it).
		b.waitFor("the list of students", `document.querySelector('a.big-link[data-space]')`, syncTimeout)
	}
	parent := e.newTab("parent")
	var ok bool
	var art string // the new note's card
	ok = e.step("the parent joins, reading in Spanish", func(t *testing.T) {
		parent.join(demo.InviteCode, "Rosa", "")
		// The family's profile language; the server translates into the
		// languages its members use.
		ms, err := e.app.Store.Members(ctx, student)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Role != server.RoleFamily {
				continue
			}
			u, err := e.app.Store.User(ctx, m.User)
			if err != nil {
				t.Fatal(err)
			}
			u.Languages = []string{"es"}
			if err := e.app.Store.PutUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		spanish(parent)
		parent.visit(notes)
	})
	if !ok {
		return
	}
	ok = e.step("the teacher writes in English; the parent reads Spanish labelled machine translation", func(t *testing.T) {
		lee := e.newTab("lee")
		lee.signIn(app.DemoTeacherLogin, app.DemoPassword)
		lee.visit(notes)
		lee.click(`#main button[data-action=add][data-collection=notes]`)
		lee.waitFor("the note form", `document.querySelector('form.record-form[data-collection=notes]')`, stepTimeout)
		lee.fill(`form.record-form[data-collection=notes]`, map[string]string{"text": note, "lang": "en"})
		lee.synced()
		// The seeded notes are translated too: find this one by its words.
		sel := `[...document.querySelectorAll('#main .translated[data-by=machine]')].find(d => d.innerText.includes('Traducción automática (Apertium)') && d.querySelector('p.text[lang=es]')?.innerText.includes('leyó dos libros'))`
		parent.waitFor("the note in Spanish, labelled", sel, syncTimeout)
		art = fmt.Sprintf(`#main article[data-id="%s"]`, eval[string](parent, sel+`.closest('article').dataset.id`))
		got := eval[string](parent, sel+`.querySelector('p.text').innerText`)
		t.Logf("parent reads %q", got)
		if got == note || eval[bool](parent, fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, note)) {
			t.Fatalf("the parent sees the English original, not a translation: %q", got)
		}
		parent.axe("notes in Spanish with a machine translation")
		parent.click(art + ` .translated[data-by=machine] button[data-action=toggle-original]`)
		parent.waitFor("the original after one tap", fmt.Sprintf(`document.querySelector(%q)?.innerText === %q`, art+" .translated p.text[lang=en]", note), stepTimeout)
		if !eval[bool](parent, fmt.Sprintf(`document.querySelector(%q).innerText.includes('Original, en inglés')`, art)) {
			t.Error("the original is not labelled as the original")
		}
		parent.axe("notes showing the original")
		parent.click(art + ` .translated button[data-action=toggle-original]`)
		parent.waitFor("the translation again", fmt.Sprintf(`document.querySelector(%q)`, art+" .translated[data-by=machine] p.text[lang=es]"), stepTimeout)
	})
	if !ok {
		return
	}
	e.step("the page derives translation ids as the server does", func(t *testing.T) {
		id := uuid.Must(uuid.NewV7())
		hash := plan.SourceHash(note)
		got := eval[string](parent, fmt.Sprintf(`import('/app/translation.js').then(m => m.translationID('notes', %q, 'text', %q, 'ES'))`, id.String(), hash))
		if want := plan.TranslationID("notes", id, "text", hash, "es").String(); got != want {
			t.Fatalf("translationID in the page = %s, plan.TranslationID = %s", got, want)
		}
	})
	e.step("an interpreter corrects it; the parent sees translated by", func(t *testing.T) {
		it := e.newTab("tran")
		it.signIn("tran", app.DemoPassword)
		spanish(it)
		it.visit(notes)
		if it.has(`#main button[data-action=add][data-collection=notes]`) != 0 {
			t.Error("an interpreter is offered to write a note")
		}
		edit := art + ` .translated[data-by=machine] button[data-action=edit-translation]`
		it.waitFor("the machine translation", fmt.Sprintf(`document.querySelector(%q)`, edit), syncTimeout)
		it.click(edit)
		const better = "Ana leyó dos libros esta semana. Gracias por leer con ella."
		eval[bool](it, fmt.Sprintf(`(() => { const a = document.querySelector(%q); a.value = %q; a.form.requestSubmit(); return true })()`, art+" .translation-editor textarea", better))
		it.synced()
		parent.waitFor("the interpreter's translation", fmt.Sprintf(`[...document.querySelectorAll(%q)].some(d => d.innerText.includes(%q) && d.innerText.includes('Traducido por Mr. Tran'))`, art+" .translated[data-by=human]", better), syncTimeout)
		parent.axe("notes with a person's translation")
		parent.click(art + ` .translated[data-by=human] button[data-action=flag-translation]`)
		parent.waitFor("the flag said", fmt.Sprintf(`document.querySelector(%q)`, art+" .translated [data-flagged=true]"), stepTimeout)
		parent.synced()
	})
}
