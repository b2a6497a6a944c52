package browser_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/plansync/plansync/server/app"
)

// TestProgressChart is a goal's measure in a real browser at 360 px: a
// teacher gives the seeded goal a measure (name, unit, starting point,
// target, target date) and records a reading at school; a Spanish-speaking
// family member records one at home typing "62,5", after a word and a
// number out of range were each refused with a message beside the field
// and every typed character kept. Both pages then draw the home and the
// school series with their own markers, the target and the starting
// point, and a table listing every reading; the server holds 62.5.
// axe-core finds nothing on the goal page, with the form's error showing
// and with the chart, in Spanish and in English.
func TestProgressChart(t *testing.T) {
	e := newEnv(t)
	demo := e.app.Demo
	student, _ := findSpaces(t, e.app, demo.InviteStudent)
	s := student.String()
	var goalID, goalPage string
	checkinForm := `#main .add form.record-form[data-collection=checkins]`
	valueInput := checkinForm + ` input[name=value]`

	lee := e.newTab("teacher")
	e.step("a teacher sets a measure and a reading at school", func(t *testing.T) {
		lee.signIn(app.DemoTeacherLogin, app.DemoPassword)
		lee.visit("#/s/" + s + "/goals")
		lee.waitFor("the seeded goal", `document.querySelector('#main article[data-collection=goals]')`, syncTimeout)
		goalID = eval[string](lee, `document.querySelector('#main article[data-collection=goals]').dataset.id`)
		goalPage = "#/s/" + s + "/goal/" + goalID
		lee.visit(goalPage)
		if lee.has(`#main .progress`) != 0 {
			t.Error("a goal without a measure shows a progress section")
		}
		sel := fmt.Sprintf(`article[data-collection=goals][data-id=%q]`, goalID)
		lee.click(sel + ` button[data-action=edit]`)
		lee.waitFor("the goal form", `document.querySelector('`+sel+` form.record-form')`, stepTimeout)
		if got := eval[[]string](lee, `[...document.querySelectorAll('`+sel+` fieldset[data-group=measure] [name]')].map(x => x.name)`); strings.Join(got, ",") != "measure_name,measure_unit,measure_baseline,measure_target,measure_target_date" {
			t.Errorf("the measure's fieldset holds %v", got)
		}
		if got := eval[string](lee, `document.querySelector('`+sel+` [name=measure_target]').getAttribute('inputmode')`); got != "decimal" {
			t.Errorf("the target's inputmode is %q, want decimal", got)
		}
		lee.axe("the goal form with its measure (en)")
		lee.fill(sel+` form.record-form`, map[string]string{"measure_name": "Words read correctly in a minute", "measure_unit": "words",
			"measure_baseline": "40", "measure_target": "90", "measure_target_date": "2027-03-15"})
		lee.waitFor("the form to close", `!document.querySelector('`+sel+` form.record-form')`, stepTimeout)
		lee.waitFor("the progress section, empty", `document.querySelector('#main .progress .chart p.muted')`, stepTimeout)
		lee.click(`#main button[data-action=add][data-collection=checkins]`)
		lee.waitFor("the check-in form", `document.querySelector('`+checkinForm+`')`, stepTimeout)
		if got := eval[string](lee, `document.querySelector('label[for="' + document.querySelector('`+valueInput+`').id + '"]').textContent`); got != "Words read correctly in a minute (words)" {
			t.Errorf("the reading's label is %q", got)
		}
		lee.fill(checkinForm, map[string]string{"date": "2026-11-02", "value": "52", "what_happened": "Read a page aloud"})
		lee.waitFor("the check-in saved", `!document.querySelector('`+checkinForm+`')`, stepTimeout)
		lee.synced()
	})

	fam := e.newTab("family")
	e.step("the family, in Spanish, records 62,5 at home after two refusals", func(t *testing.T) {
		fam.join(demo.InviteCode, "Rosa", "")
		fam.setLang("es")
		fam.synced()
		fam.visit(goalPage)
		fam.waitFor("the chart with the teacher's reading", `document.querySelector('#main .progress svg[role=img] [data-series=school] rect')`, syncTimeout)
		fam.click(`#main button[data-action=add][data-collection=checkins]`)
		fam.waitFor("the check-in form", `document.querySelector('`+checkinForm+`')`, stepTimeout)
		errShown := `(() => { const i = document.querySelector('` + valueInput + `'); const m = i.closest('.field').querySelector('.field-error'); return m && !m.hidden && i.getAttribute('aria-invalid') === 'true' ? m.textContent : ''; })()`
		for _, c := range []struct{ typed, want string }{
			{"sesenta", "necesita un número, por ejemplo 2,5"},
			{"2000000000", "debe estar entre -1.000.000.000 y 1.000.000.000"},
		} {
			eval[chromedp.Void](fam, `document.querySelector('`+valueInput+`').value = ''`)
			fam.do(chromedp.SendKeys(chromedp.CSS(valueInput), c.typed))
			fam.click(checkinForm + ` button[type=submit]`)
			fam.waitFor("the reading's error", errShown, stepTimeout)
			if got := eval[string](fam, errShown); !strings.Contains(got, c.want) {
				t.Errorf("typing %q: the field says %q, want it to say %q", c.typed, got, c.want)
			}
			if got := eval[string](fam, `document.querySelector('`+checkinForm+` p[role=alert]').textContent`); !strings.Contains(got, c.want) {
				t.Errorf("typing %q: the form's alert says %q", c.typed, got)
			}
			if got := eval[string](fam, `document.querySelector('`+valueInput+`').value`); got != c.typed {
				t.Errorf("after the refusal the input holds %q, want %q as typed", got, c.typed)
			}
			if got := eval[string](fam, `document.activeElement.name`); got != "value" {
				t.Errorf("focus is on %q after the refusal, want the reading", got)
			}
		}
		fam.axe("the check-in form with a refused reading (es)")
		eval[chromedp.Void](fam, `document.querySelector('`+valueInput+`').value = ''`)
		fam.do(chromedp.SendKeys(chromedp.CSS(valueInput), "62,5"))
		if got := eval[string](fam, errShown); got != "" {
			t.Errorf("the error stays after a good number was typed: %q", got)
		}
		fam.fill(checkinForm, map[string]string{"date": "2026-11-20", "what_happened": "Leyó con su hermano"})
		fam.waitFor("the check-in saved", `!document.querySelector('`+checkinForm+`')`, stepTimeout)
		fam.synced()
	})

	// series counts each series' markers; the table lists its values.
	series := `['school', 'home'].map(k => k + ':' + document.querySelectorAll('#main .progress svg [data-series=' + k + '] > :not(polyline)').length).join(',')`
	tableValues := `[...document.querySelectorAll('#main .progress table tbody td.num')].map(td => td.textContent)`
	e.step("both pages draw both series, the target and the table", func(t *testing.T) {
		fam.waitFor("the home reading in the chart", `document.querySelector('#main .progress svg [data-series=home] circle')`, stepTimeout)
		lee.visit(goalPage)
		lee.waitFor("the family's reading on the teacher's page", `document.querySelector('#main .progress svg [data-series=home] circle')`, syncTimeout)
		for _, c := range []struct {
			b      *tab
			values []string
			words  []string
		}{
			{fam, []string{"52", "62,5"}, []string{"En casa", "En la escuela", "Objetivo 90", "Inicio 40"}},
			{lee, []string{"52", "62.5"}, []string{"At home", "At school", "Target 90", "Start 40"}},
		} {
			b := c.b
			if got := eval[string](b, series); got != "school:1,home:1" {
				b.fatalf("markers per series %s, want school:1,home:1", got)
			}
			if b.has(`#main .progress svg line.target`) != 1 || b.has(`#main .progress svg line.baseline`) != 1 {
				t.Errorf("%s: %d target and %d baseline lines", b.name, b.has(`#main .progress svg line.target`), b.has(`#main .progress svg line.baseline`))
			}
			if got := eval[[]string](b, tableValues); !slices.Equal(got, c.values) {
				t.Errorf("%s: the table lists %v, want %v", b.name, got, c.values)
			}
			name := eval[string](b, `document.querySelector('#main .progress svg[role=img]').getAttribute('aria-label')`)
			if !strings.Contains(name, "Words read correctly in a minute") || !strings.Contains(name, c.values[1]) || !strings.Contains(name, "90") {
				t.Errorf("%s: the chart's name %q does not say what it shows", b.name, name)
			}
			text := eval[string](b, `document.querySelector('#main .progress').innerText`)
			for _, w := range c.words {
				if !strings.Contains(text, w) {
					t.Errorf("%s: the progress section lacks %q: %s", b.name, w, text)
				}
			}
			if b.has(`#main .progress table caption`) != 1 || b.has(`#main .progress table thead th[scope=col]`) != 3 {
				t.Errorf("%s: the table has no caption or not three column headers", b.name)
			}
			// At 360 px nothing of the chart runs off the screen.
			if w := eval[float64](b, `Math.max(...[...document.querySelectorAll('#main .progress svg, #main .progress table')].map(x => x.getBoundingClientRect().right))`); w > 360 {
				t.Errorf("%s: the chart reaches %.0f px on a 360 px screen", b.name, w)
			}
			b.axe("the goal page with its chart")
			b.shot("#main .progress", "progress-"+b.name+".png")
		}
		rec := serverRecord(t, e.app, student, "checkins", eval[string](fam, `[...document.querySelectorAll('#main article[data-collection=checkins]')].find(a => a.innerText.includes('Leyó')).dataset.id`))
		if v, ok := rec.Value("value").(float64); !ok || v != 62.5 {
			t.Errorf("the server holds the family's reading as %T %v, want 62.5", rec.Value("value"), rec.Value("value"))
		}
	})

	e.step("numbers are read in the reader's way", func(t *testing.T) {
		for _, c := range []struct {
			text, lang string
			want       string
		}{
			{"2,5", "es", "2.5"}, {"2.5", "es", "2.5"}, {"1.000", "es", "1000"}, {"1.000,5", "es", "1000.5"},
			{"1,000", "en", "1000"}, {"1,000.25", "en", "1000.25"}, {"2,5", "en", "2.5"}, {"-3,75", "vi", "-3.75"},
			{"\u22124", "en", "-4"}, {"\u0662\u066b\u0665", "ar", "2.5"}, {".5", "en", "0.5"}, {"-0", "en", "0"},
			{"1.2.3", "en", "no"}, {"12,34,567", "en", "no"}, {"1e5", "en", "no"}, {"2 5", "en", "no"}, {"abc", "es", "no"}, {"", "en", "no"},
		} {
			got := eval[string](lee, fmt.Sprintf(`import('/app/numbers.js').then(m => { const r = m.parseNumber(%q, %q); return r.ok ? String(r.value) : 'no'; })`, c.text, c.lang))
			if got != c.want {
				t.Errorf("parseNumber(%q, %s) = %s, want %s", c.text, c.lang, got, c.want)
			}
		}
	})
}

// shot saves a picture of what sel matches, for a person to look at.
func (b *tab) shot(sel, name string) {
	b.e.t.Helper()
	dir := os.Getenv("PLANSYNC_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.e.t.ArtifactDir()
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.fatalf("screenshot of %s: %v", sel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.fatalf("%v", err)
	}
}
