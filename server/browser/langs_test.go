package browser_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/plansync/plansync/server/app"
)

// box is an element's bounding box in CSS pixels.
type box struct {
	Left, Right, Top, Bottom float64
}

// rect returns sel's bounding box, failing when nothing matches.
func (b *tab) rect(sel string) box {
	b.e.t.Helper()
	return eval[box](b, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) throw new Error('no %s');
		const r = el.getBoundingClientRect(); return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom}; })()`, sel, sel))
}

// fitsViewport fails the step on a page wider than the viewport or any
// shown element that sticks out of it on either side (in right-to-left
// an overflow goes out on the left, where scrollWidth does not count it).
func (b *tab) fitsViewport(screen string) {
	b.e.t.Helper()
	if w, vw := eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `innerWidth`); w > vw {
		b.e.t.Errorf("%s: %s: the page is %d px wide at a %d px viewport", b.name, screen, w, vw)
	}
	wide := eval[[]string](b, `[...document.body.querySelectorAll('*')]
		.filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && (r.left < -0.5 || r.right > innerWidth + 0.5) })
		.map(el => Math.round(el.getBoundingClientRect().left) + '..' + Math.round(el.getBoundingClientRect().right) + ' ' + el.outerHTML.slice(0, 80))`)
	if len(wide) > 0 {
		b.e.t.Errorf("%s: %s: elements outside the %d px viewport: %v", b.name, screen, eval[int](b, `innerWidth`), wide)
	}
}

// noMissing fails the step on any key the page looked up that the
// current catalog lacks.
func (b *tab) noMissing(screen string) {
	b.e.t.Helper()
	if missing := eval[[]string](b, `plansyncMissingStrings()`); len(missing) > 0 {
		b.e.t.Errorf("%s: %s: the %s catalog lacks %v", b.name, screen, eval[string](b, `document.documentElement.lang`), missing)
	}
}

// checkDoc fails the step unless <html> has the language and direction.
func (b *tab) checkDoc(lang, dir string) {
	b.e.t.Helper()
	got := eval[string](b, `document.documentElement.lang + ' ' + document.documentElement.dir`)
	if got != lang+" "+dir {
		b.e.t.Errorf("%s: <html> lang and dir are %q, want %q", b.name, got, lang+" "+dir)
	}
}

// checkScreenshot decodes a saved screenshot and checks it is the
// viewport's width (nothing pushed the page wider) and that the header's
// start side is on the right: the brand, first in the header, is drawn at
// its box (its pixels differ from the bar's colour there) and to the
// right of the settings link, last in the header.
func (b *tab) checkScreenshot(p string) {
	b.e.t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		b.fatalf("%v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.fatalf("screenshot %s: %v", p, err)
	}
	if w := img.Bounds().Dx(); w != 360 {
		b.e.t.Errorf("%s: screenshot %s is %d px wide, want 360", b.name, p, w)
	}
	brand, settings := b.rect(".bar .brand"), b.rect(".bar .settings-link")
	if !(brand.Left > settings.Right) {
		b.e.t.Errorf("%s: in right-to-left the brand (%v) should be right of the settings link (%v)", b.name, brand, settings)
	}
	if brand.Left < 180 {
		b.e.t.Errorf("%s: the brand starts at x=%v, in the left half of a right-to-left header", b.name, brand.Left)
	}
	// The brand's text is drawn where its box says: some pixel in the
	// box differs from the bar's background just outside it.
	bg := img.At(int(brand.Left)-2, int((brand.Top+brand.Bottom)/2))
	drawn := false
	for y := int(brand.Top); y < int(brand.Bottom) && !drawn; y++ {
		for x := int(brand.Left); x < int(brand.Right) && !drawn; x++ {
			drawn = img.At(x, y) != bg
		}
	}
	if !drawn {
		b.e.t.Errorf("%s: screenshot %s shows nothing at the brand's box %v", b.name, p, brand)
	}
}

// TestLanguages opens the app in Arabic at 360 px, right to left, on the
// sign-in screen and on a plan: <html lang="ar" dir="rtl">, nothing
// outside the viewport, the header and tabs mirrored (checked in the
// boxes and in a saved screenshot), axe-core at 0 violations and no
// string missing from the catalog. Vietnamese and Chinese get the same
// axe-core and missing-string checks; the Settings picker lists every
// catalog and marks those no person has reviewed.
func TestLanguages(t *testing.T) {
	e := newEnv(t)
	student, _ := findSpaces(t, e.app, e.app.Demo.InviteStudent)
	plan := "#/s/" + student.String() + "/goals"

	e.step("Arabic at 360 px, right to left", func(t *testing.T) {
		a := e.newTab("ar")
		a.open("#/signin")
		a.inLang("ar")
		a.waitFor("the sign-in form", `document.querySelector('form#signin')`, stepTimeout)
		a.checkDoc("ar", "rtl")
		if got := eval[string](a, `document.querySelector('#signin button[type=submit]').textContent`); got != "تسجيل الدخول" {
			t.Errorf("the sign-in button reads %q", got)
		}
		a.fitsViewport("sign in")
		a.axe("sign in in Arabic")
		a.noMissing("sign in")
		a.checkScreenshot(a.screenshot("signin-ar-360.png"))

		a.signIn(app.DemoTeacherLogin, app.DemoPassword)
		a.checkDoc("ar", "rtl")
		a.visit(plan)
		a.waitFor("the goals tab", `document.querySelector('button[data-action=add][data-collection=goals]')`, stepTimeout)
		time.Sleep(300 * time.Millisecond)
		a.fitsViewport("plan")
		tabs := eval[[]box](a, `[...document.querySelectorAll('.tabs a')].map(el => { const r = el.getBoundingClientRect(); return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom}; })`)
		if len(tabs) < 2 {
			t.Fatalf("the plan shows %d tabs", len(tabs))
		}
		if first, second := tabs[0], tabs[1]; first.Top == second.Top && !(first.Left > second.Left) {
			t.Errorf("the first tab %v should be right of the second %v", first, second)
		}
		a.axe("plan in Arabic")
		p := a.screenshot("plan-ar-360.png")
		a.checkScreenshot(p)
		t.Logf("screenshot: %s", p)
		// Every add form open: their labels and options are strings too.
		eval[chromedp.Void](a, `document.querySelectorAll('#main button[data-action=add]').forEach(b => b.click())`)
		a.fitsViewport("plan, its forms open")
		a.axe("plan in Arabic, its forms open")
		a.noMissing("plan")

		a.visit("#/settings")
		a.noMissing("settings")
		opts := eval[map[string]string](a, `Object.fromEntries([...document.querySelectorAll('#ui-lang option')].map(o => [o.value, o.textContent]))`)
		for _, c := range []string{"en", "es", "ar", "vi", "zh"} {
			if opts[c] == "" {
				t.Errorf("the language picker lacks %s: %v", c, opts)
			}
		}
		if opts["en"] != "English" {
			t.Errorf("English, a reviewed catalog, reads %q in the picker", opts["en"])
		}
		for c, name := range map[string]string{"ar": "العربية", "vi": "Tiếng Việt", "zh": "简体中文"} {
			if want := name + " (ترجمة آلية، لم يراجعها أحد بعد)"; opts[c] != want {
				t.Errorf("the picker shows %s as %q, want %q", c, opts[c], want)
			}
		}
	})

	for lang, saved := range map[string]string{"vi": "Đã lưu tất cả", "zh": "全部已保存"} {
		e.step(lang, func(t *testing.T) {
			b := e.newTab(lang)
			b.open("#/signin")
			b.inLang(lang)
			b.waitFor("the sign-in form", `document.querySelector('form#signin')`, stepTimeout)
			b.checkDoc(lang, "ltr")
			b.fitsViewport("sign in")
			b.axe("sign in in " + lang)
			b.noMissing("sign in")
			b.signIn(app.DemoTeacherLogin, app.DemoPassword)
			b.visit(plan)
			b.waitFor("the goals tab", `document.querySelector('button[data-action=add][data-collection=goals]')`, stepTimeout)
			time.Sleep(300 * time.Millisecond)
			b.fitsViewport("plan")
			b.axe("plan in " + lang)
			eval[chromedp.Void](b, `document.querySelectorAll('#main button[data-action=add]').forEach(b => b.click())`)
			b.axe("plan in " + lang + ", its forms open")
			b.noMissing("plan")
			b.synced()
			if got := eval[string](b, `document.getElementById('sync').textContent`); got != saved {
				t.Errorf("the sync state reads %q in %s, want %q", got, lang, saved)
			}
		})
	}
}
