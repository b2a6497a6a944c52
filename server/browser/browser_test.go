// Package browser_test drives the real app in a real headless Chromium
// against a real server on 127.0.0.1: the PWA shell, the service worker,
// the Go client compiled to wasm with its IndexedDB store, and the UI.
//
// It needs Debian's chromium (make test installs it) and the wasm build in
// web/dist (wasm/'s build program writes it; this test runs that program
// when the embedded app has no dist/). Without chromium the test fails,
// unless PLANSYNC_SKIP_BROWSER=1 says that skipping is intended.
//
// Screenshots go to the test's artifact folder: go test -artifacts
// -outputdir DIR keeps them (make test uses .tmp/test-output), or set
// PLANSYNC_SCREENSHOT_DIR.
package browser_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/server/translations"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/web"
)

// Timeouts. The first load compiles a few MB of wasm, which takes seconds
// on a loaded CI machine; reconnecting after the server comes back waits
// out the client's backoff.
const (
	loadTimeout = 60 * time.Second
	syncTimeout = 90 * time.Second
	stepTimeout = 30 * time.Second
	pollEvery   = 100 * time.Millisecond
)

// wasmBuilders are where wasm/'s build program may live; the first that
// exists is run from the repository root. PLANSYNC_WASM_BUILD overrides
// with a package path.
var wasmBuilders = []string{"./server/cmd/wasmbuild"}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// webFiles returns the embedded app when it has the wasm build, else
// builds web/dist and serves web/ from disk (the same files the binary
// embeds once dist exists at compile time).
func webFiles(t *testing.T) fs.FS {
	t.Helper()
	if f := web.FS(); f != nil {
		if _, err := fs.Stat(f, "dist/assets.json"); err == nil {
			return f
		}
	}
	root := repoRoot(t)
	builder := os.Getenv("PLANSYNC_WASM_BUILD")
	if builder == "" {
		for _, b := range wasmBuilders {
			if _, err := os.Stat(filepath.Join(root, b)); err == nil {
				builder = b
				break
			}
		}
	}
	if builder == "" {
		if _, err := os.Stat(filepath.Join(root, "web", "dist", "assets.json")); err != nil {
			t.Fatalf("no wasm build: web/dist/assets.json is missing and no build program was found at %v (set PLANSYNC_WASM_BUILD to its package)", wasmBuilders)
		}
	} else {
		cmd := exec.Command("go", "run", builder)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("building the wasm (go run %s): %v\n%s", builder, err, out)
		}
		t.Logf("built web/dist with go run %s", builder)
	}
	return os.DirFS(filepath.Join(root, "web"))
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("PLANSYNC_SKIP_BROWSER") == "1" {
		t.Skip("chromium is not installed and PLANSYNC_SKIP_BROWSER=1: skipping the browser tests")
	}
	t.Fatal("chromium is not installed (apt-get install chromium, or make test); set PLANSYNC_SKIP_BROWSER=1 to skip on purpose")
	return ""
}

// env is one server and one browser shared by the steps of the test.
type env struct {
	t       *testing.T
	root    *testing.T // the whole test's, for tabs that outlive a step
	dir     string
	addr    string
	web     fs.FS
	app     *app.App
	browser context.Context
	// translate, when set, is the server's translation engine.
	translate translate.Engine
	// notify, when set, turns on notifications (server/notify).
	notify *app.NotifyConfig
}

func (e *env) start() {
	e.t.Helper()
	addr := e.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	// The same address on restart: the pages' service workers and
	// sockets know the origin.
	for range 50 {
		e.app, err = app.Open(context.Background(), app.Config{Addr: addr, DataDir: e.dir, Seed: true, Web: e.web,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Translate: e.translate, Notify: e.notify,
			Translations: translations.Options{LangsTTL: time.Millisecond}})
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.addr = e.app.Addr()
}

func (e *env) stop() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.app.Close(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.app = nil
}

func (e *env) url(frag string) string { return "http://" + e.addr + "/" + frag }

// step runs one subtest; the helpers report to its t, so that a failure
// stops the step and not its parent from the wrong goroutine.
func (e *env) step(name string, fn func(t *testing.T)) bool {
	parent := e.t
	defer func() { e.t = parent }()
	return parent.Run(name, func(t *testing.T) {
		e.t = t
		fn(t)
	})
}

// tab is one browser context (its own storage, service worker and
// IndexedDB) with one page.
type tab struct {
	e    *env
	name string
	ctx  context.Context
	errs *pageErrors
}

// pageErrors keeps the last uncaught exceptions and console errors of a
// page, so that a timed-out wait says what broke in the page.
type pageErrors struct {
	mu   sync.Mutex
	list []string
}

func (p *pageErrors) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) >= 20 {
		p.list = p.list[1:]
	}
	p.list = append(p.list, s)
}

func (p *pageErrors) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.list, " || ")
}

// listen collects the page's uncaught exceptions and console errors
// (chromedp.WithListener).
func (pe *pageErrors) listen(ev any) {
	{
		switch ev := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			pe.add("exception: " + msg)
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type != cdpruntime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			pe.add("console.error: " + strings.Join(parts, " "))
		}
	}
}

func (e *env) newTab(name string) *tab {
	errs := &pageErrors{}
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(errs.listen))
	e.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
		e.t.Fatal(err)
	}
	return &tab{e: e, name: name, ctx: ctx, errs: errs}
}

// newTabIn opens another page in other's browser context: a second tab of
// the same browser profile, sharing its IndexedDB and Web Locks. It stays
// open until the whole test ends.
func (e *env) newTabIn(other *tab, name string) *tab {
	errs := &pageErrors{}
	ctx, cancel := chromedp.NewContext(other.ctx, chromedp.WithListener(errs.listen))
	e.root.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
		e.t.Fatal(err)
	}
	return &tab{e: e, name: name, ctx: ctx, errs: errs}
}

func (b *tab) fatalf(format string, args ...any) {
	b.e.t.Helper()
	b.e.t.Fatalf(b.name+": "+format, args...)
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.e.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fatalf("%v", err)
	}
}

// click clicks what sel matches with a real mouse event. The app
// re-renders a record's view when sync brings a change, which can replace
// the element between chromedp finding it and clicking it ("Could not find
// node with given id"); that is retried a bounded number of times.
func (b *tab) click(sel string) {
	b.e.t.Helper()
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil || !strings.Contains(err.Error(), "Could not find node") {
			break
		}
		time.Sleep(pollEvery)
	}
	if err != nil {
		b.fatalf("click %s: %v", sel, err)
	}
}

// eval runs a JS expression (awaiting a promise) and decodes the result.
func eval[T any](b *tab, js string) T {
	b.e.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("eval %s: %v", js, err)
	}
	return v
}

// waitFor polls a JS condition until it is true. The condition may be a
// promise (caches.keys().then(...)): it is awaited, not taken as true.
func (b *tab) waitFor(what, js string, timeout time.Duration) {
	b.e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(async () => !!(await ("+js+")))()", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(pollEvery)
	}
	state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('sync')?.textContent + ' | ' + location.hash + ' | ' + (document.querySelector('main')?.innerText || '').slice(0, 600)`))
	b.fatalf("timed out waiting for %s (last error %v); page: %s; page errors: %s", what, last, state, b.errs)
}

func (b *tab) open(frag string) {
	b.e.t.Helper()
	b.do(chromedp.Navigate(b.e.url(frag)))
	b.waitFor("the app to start", `document.documentElement.dataset.ready === 'true'`, loadTimeout)
}

func (b *tab) reload() {
	b.e.t.Helper()
	b.do(chromedp.Reload())
	b.waitFor("the app to start after a reload", `document.documentElement.dataset.ready === 'true'`, loadTimeout)
}

func (b *tab) goTo(frag string) {
	b.e.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`location.hash = %q`, frag))
}

func (b *tab) synced() {
	b.e.t.Helper()
	b.waitFor("all changes to be saved on the server", `document.getElementById('sync').dataset.state === 'synced' && document.getElementById('sync').dataset.pending === '0'`, syncTimeout)
}

func (b *tab) signIn(login, password string) {
	b.e.t.Helper()
	b.open("#/signin")
	b.waitFor("the sign-in form", `document.querySelector('form#signin')`, stepTimeout)
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#signin input[name=login]`), login),
		chromedp.SendKeys(chromedp.CSS(`#signin input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#signin button[type=submit]`)),
	)
	b.waitFor("the list of students", `document.querySelector('a.big-link[data-space]')`, syncTimeout)
}

// fill sets the named fields of the open form and submits it.
func (b *tab) fill(formSel string, fields map[string]string) {
	b.e.t.Helper()
	var js strings.Builder
	fmt.Fprintf(&js, `(() => { const f = document.querySelector(%q); if (!f) throw new Error('no form %s');`, formSel, formSel)
	for name, v := range fields {
		fmt.Fprintf(&js, `{ const el = f.querySelector('[name=%q]'); el.value = %q; el.dispatchEvent(new Event('change')); }`, name, v)
	}
	js.WriteString(`f.requestSubmit(); })()`)
	eval[chromedp.Void](b, js.String())
}

// setOffline emulates no network for the page and for its service
// worker: the worker is a target of its own, and without this its
// fetches still reach the network.
func (b *tab) setOffline(offline bool) {
	b.e.t.Helper()
	conds := []*network.Conditions{}
	if offline {
		conds = append(conds, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	emulate := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &offline, MatchedNetworkConditions: conds}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
	b.do(emulate)
	c := chromedp.FromContext(b.ctx)
	infos, err := chromedp.Targets(b.ctx)
	if err != nil {
		b.fatalf("targets: %v", err)
	}
	n := 0
	for _, info := range infos {
		if info.Type != "service_worker" || info.BrowserContextID != c.BrowserContextID {
			continue
		}
		swCtx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		sctx, stop := context.WithTimeout(swCtx, stepTimeout)
		err := chromedp.Do(sctx, emulate)
		stop()
		cancel()
		if err != nil {
			b.fatalf("offline emulation for the service worker: %v", err)
		}
		n++
	}
	if offline && n == 0 {
		b.fatalf("no service worker target to take offline")
	}
}

func (b *tab) screenshot(name string) string {
	b.e.t.Helper()
	dir := os.Getenv("PLANSYNC_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.e.t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.fatalf("%v", err)
	}
	return p
}

// newEnv starts a seeded server and a headless Chromium for one test.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvTranslating is newEnv with a translation engine on the server.
func newEnvTranslating(t *testing.T, engine translate.Engine) *env {
	t.Helper()
	return newEnvOpts(t, engine, nil)
}

// newEnvWith is newEnv with notifications configured by nc (nil: off).
func newEnvWith(t *testing.T, nc *app.NotifyConfig, flags ...chromedp.ExecAllocatorOption) *env {
	t.Helper()
	return newEnvOpts(t, nil, nc, flags...)
}

// newEnvOpts starts the server (with a translation engine and
// notifications when set) and a browser with the extra flags.
func newEnvOpts(t *testing.T, engine translate.Engine, nc *app.NotifyConfig, flags ...chromedp.ExecAllocatorOption) *env {
	t.Helper()
	exe := chromium(t)
	e := &env{t: t, root: t, dir: t.TempDir(), web: webFiles(t), translate: engine, notify: nc}
	e.start()
	t.Cleanup(func() {
		if e.app != nil {
			e.stop()
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 780),
	}
	if nc != nil {
		// A push subscription makes the browser call its push service:
		// no name but the test server's resolves.
		opts = append(opts, chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	}
	opts = append(opts, flags...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	e.browser = browser
	return e
}

func TestBrowser(t *testing.T) {
	e := newEnv(t)
	demo := e.app.Demo

	// A second teacher on the same student, so that two people can
	// collide on a goal (a family may not write goals).
	student, school := findSpaces(t, e.app, demo.InviteStudent)
	ctx := context.Background()
	diaz, err := e.app.Auth.AddStaff(ctx, school, "Mr. Díaz", "diaz", app.DemoPassword, server.RoleTeacher)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Store.PutMember(ctx, server.Member{Space: student, User: diaz.ID, Role: server.RoleTeacher}); err != nil {
		t.Fatal(err)
	}

	a := e.newTab("lee")
	b := e.newTab("diaz")
	plan := "#/s/" + student.String() + "/goals"
	const goalText = "Reads a chapter book each week"
	var goalID string
	var ok bool

	ok = e.step("sign in, add a goal, reload", func(t *testing.T) {
		a.signIn(app.DemoTeacherLogin, app.DemoPassword)
		a.goTo(plan)
		a.waitFor("the goals tab", `document.querySelector('button[data-action=add][data-collection=goals]')`, stepTimeout)
		a.click(`button[data-action=add][data-collection=goals]`)
		a.fill(`form.record-form[data-collection=goals]`, map[string]string{"area": "reading", "description": goalText, "status": "in_progress"})
		a.waitFor("the new goal's page", `location.hash.includes('/goal/')`, stepTimeout)
		goalID = eval[string](a, `location.hash.split('/goal/')[1]`)
		a.synced()
		a.reload()
		a.waitFor("the goal after a reload", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, goalText), stepTimeout)
		rec := serverRecord(t, e.app, student, "goals", goalID)
		if got := rec.Fields["description"].Value; got != goalText {
			t.Fatalf("server has description %q, want %q", got, goalText)
		}
	})
	if !ok {
		return
	}

	const offlineEdit = "Reads a chapter book each week, aloud to a parent"
	ok = e.step("offline: opens from cache, takes an edit that survives a reload, syncs when back", func(t *testing.T) {
		b.signIn("diaz", app.DemoPassword)
		a.waitFor("the service worker to control the page", `navigator.serviceWorker.controller !== null`, loadTimeout)
		a.waitFor("the wasm in the cache", `caches.keys().then(async ks => { for (const k of ks) { const c = await caches.open(k); for (const r of await c.keys()) if (r.url.endsWith('.wasm')) return true } return false })`, loadTimeout)
		e.stop()
		a.setOffline(true)
		a.reload()
		a.goTo(plan)
		a.waitFor("the plan from the cache", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, goalText), stepTimeout)
		a.waitFor("the sync state to say offline", `document.getElementById('sync').dataset.state !== 'synced'`, stepTimeout)
		a.goTo("#/s/" + student.String() + "/goal/" + goalID)
		editGoal(a, student, goalID, map[string]string{"description": offlineEdit})
		a.waitFor("one change waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		a.reload()
		a.waitFor("the offline edit after a reload", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, offlineEdit), stepTimeout)
		a.waitFor("the edit still waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		if s := eval[string](a, `document.getElementById('sync').textContent`); !strings.Contains(s, "1 change waiting on this device") {
			t.Errorf("sync state reads %q", s)
		}

		e.start()
		a.setOffline(false)
		a.synced()
		if got := serverRecord(t, e.app, student, "goals", goalID).Fields["description"].Value; got != offlineEdit {
			t.Fatalf("server has %q, want the offline edit", got)
		}
		b.goTo("#/s/" + student.String() + "/goal/" + goalID)
		b.waitFor("the offline edit in the second browser", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, offlineEdit), syncTimeout)
	})
	if !ok {
		return
	}

	ok = e.step("two browsers edit one goal offline: converge, conflict, resolve", func(t *testing.T) {
		const fromA, fromB, targetB = "Reads two chapter books a week", "Reads a chapter book each week with a buddy", "Finishes 8 books by June"
		b.synced()
		e.stop()
		a.setOffline(true)
		b.setOffline(true)
		editGoal(a, student, goalID, map[string]string{"description": fromA})
		a.waitFor("A's edit waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		editGoal(b, student, goalID, map[string]string{"description": fromB, "target": targetB})
		b.waitFor("B's edit waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		e.start()
		a.setOffline(false)
		b.setOffline(false)
		a.synced()
		b.synced()
		for _, x := range []*tab{a, b} {
			// Different fields both stand; the same field shows the conflict.
			x.waitFor("B's target everywhere", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, targetB), syncTimeout)
			x.waitFor("the conflict where it happened", `document.querySelectorAll('.conflict .conflict-field[data-field=description] .version').length === 2`, syncTimeout)
		}
		title := eval[string](a, `document.querySelector('.conflict .conflict-title').textContent`)
		if !strings.Contains(title, "You and Mr. Díaz both changed this goal while offline") {
			t.Errorf("conflict title in A: %q", title)
		}
		va := eval[string](a, `document.querySelector('#main article[data-collection=goals] dd.text')?.textContent`)
		vb := eval[string](b, `document.querySelector('#main article[data-collection=goals] dd.text')?.textContent`)
		if va != vb {
			t.Errorf("the browsers did not converge: %q and %q", va, vb)
		}
		// A keeps B's text.
		idx := eval[int](a, fmt.Sprintf(`[...document.querySelectorAll('.conflict-field[data-field=description] .version')].findIndex(v => v.innerText.includes(%q))`, fromB))
		if idx < 0 {
			t.Fatal("B's version is not offered in A")
		}
		a.click(fmt.Sprintf(`.conflict-field[data-field=description] button[data-action=keep][data-version="%d"]`, idx))
		a.synced()
		b.waitFor("the resolution in B", `!document.querySelector('.conflict')`, syncTimeout)
		if got := eval[string](b, `document.querySelector('#main article[data-collection=goals] dd.text')?.textContent`); got != fromB {
			t.Errorf("B shows %q after A kept B's version", got)
		}
		if got := serverRecord(t, e.app, student, "goals", goalID).Fields["description"]; got.Value != fromB || len(got.Conflicts) != 0 {
			t.Errorf("server has %v with %d conflicts", got.Value, len(got.Conflicts))
		}
	})
	if !ok {
		return
	}

	ok = e.step("a goal deleted in one browser and edited in the other offline: the edit is kept", func(t *testing.T) {
		// A goal of its own, so that the steps after this one find theirs
		// as they left it.
		const first, edited = "Writes one sentence a day", "Writes two sentences a day"
		a.synced()
		a.goTo(plan)
		a.waitFor("the goals tab", `document.querySelector('button[data-action=add][data-collection=goals]')`, stepTimeout)
		// The previous step's "Saved on this device" toast may still be
		// over this button at the foot of a 360 px screen: a tap must
		// reach the button through it.
		if eval[bool](a, `document.getElementById('toast').hidden`) {
			t.Log("no toast showing: the tap-through is not exercised this run")
		}
		a.click(`button[data-action=add][data-collection=goals]`)
		a.waitFor("the new goal's form", `document.querySelector('form.record-form[data-collection=goals]')`, stepTimeout)
		a.fill(`form.record-form[data-collection=goals]`, map[string]string{"area": "writing", "description": first, "status": "in_progress"})
		a.waitFor("the new goal's page", `location.hash.includes('/goal/')`, stepTimeout)
		id := eval[string](a, `location.hash.split('/goal/')[1]`)
		a.synced()
		get := fmt.Sprintf(`plansync.get(%q, 'goals', %q)`, student.String(), id)
		b.waitFor("the new goal in B", get+`.then(r => r !== null)`, syncTimeout)
		b.synced()
		e.stop()
		a.setOffline(true)
		b.setOffline(true)
		sel := fmt.Sprintf(`article[data-collection=goals][data-id=%q]`, id)
		a.waitFor("the goal's delete button", `document.querySelector('`+sel+` button[data-action=delete]')`, stepTimeout)
		eval[chromedp.Void](a, `(() => { window.confirm = () => true; })()`)
		a.click(sel + ` button[data-action=delete]`)
		a.waitFor("A's delete waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		editGoal(b, student, id, map[string]string{"description": edited})
		b.waitFor("B's edit waiting", `document.getElementById('sync').dataset.pending === '1'`, stepTimeout)
		e.start()
		a.setOffline(false)
		b.setOffline(false)
		a.synced()
		b.synced()
		versions := sel + ` .conflict-field[data-field="_deleted"] .version`
		a.goTo(plan) // A is on the goals list after its delete; B stays on the goal's page
		for _, x := range []*tab{a, b} {
			x.waitFor("the delete and the edit offered", fmt.Sprintf(`document.querySelectorAll('%s').length === 2`, versions), syncTimeout)
		}
		if s := eval[string](b, `document.getElementById('main').innerText`); !strings.Contains(s, edited) {
			t.Errorf("B's page does not show the edit: %q", s)
		}
		// A keeps the edit: the version whose "Deleted" reads "No".
		idx := eval[int](a, fmt.Sprintf(`[...document.querySelectorAll('%s')].findIndex(v => v.querySelector('.text').textContent === 'No')`, versions))
		if idx < 0 {
			t.Fatal("the edit is not offered as a version in A")
		}
		a.click(fmt.Sprintf(`%s .conflict-field[data-field="_deleted"] button[data-action=keep][data-version="%d"]`, sel, idx))
		a.synced()
		for _, x := range []*tab{a, b} {
			x.waitFor("the goal restored without a conflict", fmt.Sprintf(`document.querySelector('%s button[data-action=edit]') && !document.querySelector('%s .conflict')`, sel, sel), syncTimeout)
			x.waitFor("the edit on the restored goal", fmt.Sprintf(`document.querySelector('%s').innerText.includes(%q)`, sel, edited), stepTimeout)
		}
		rec := serverRecord(t, e.app, student, "goals", id)
		if rec.Deleted() || len(rec.Fields[record.DeletedField].Conflicts) != 0 || rec.Fields["description"].Value != edited {
			t.Errorf("server has deleted=%v, %d conflicts on the delete, description %v", rec.Deleted(), len(rec.Fields[record.DeletedField].Conflicts), rec.Fields["description"].Value)
		}
	})
	if !ok {
		return
	}

	ok = e.step("two tabs of one browser: one syncs, the other follows", func(t *testing.T) {
		const fromFollower, fromDiaz = "Finishes 10 books by June", "Reads a chapter book each week with a buddy, and tells the class"
		a.synced()
		b.synced()
		before := e.app.Hub.Connections()
		if before != 2 {
			t.Fatalf("%d sync connections before the second tab, want 2 (one per browser)", before)
		}
		a2 := e.newTabIn(a, "lee, second tab")
		a2.open("#/s/" + student.String() + "/goal/" + goalID)
		a2.waitFor("the second tab to follow", `plansync.state().leader === false`, stepTimeout)
		if !eval[bool](a, `plansync.state().leader === true`) {
			t.Fatal("the first tab is not the leader")
		}
		a2.waitFor("the follower to show the leader's sync state", `document.getElementById('sync').dataset.state === 'synced'`, syncTimeout)
		time.Sleep(time.Second)
		if n := e.app.Hub.Connections(); n != before {
			t.Fatalf("%d sync connections with two tabs open in one browser, want %d", n, before)
		}

		// An edit in the follower reaches the server through the leader.
		editGoal(a2, student, goalID, map[string]string{"target": fromFollower})
		deadline := time.Now().Add(syncTimeout)
		for serverRecord(t, e.app, student, "goals", goalID).Fields["target"].Value != fromFollower {
			if time.Now().After(deadline) {
				t.Fatal("the follower's edit never reached the server")
			}
			time.Sleep(pollEvery)
		}
		a.waitFor("the follower's edit in the leader tab", `plansync.get(`+fmt.Sprintf("%q, 'goals', %q", student.String(), goalID)+`).then(r => r.fields.target.value === `+fmt.Sprintf("%q", fromFollower)+`)`, syncTimeout)
		a2.waitFor("the follower to count nothing waiting", `document.getElementById('sync').dataset.pending === '0'`, syncTimeout)

		// An edit from another browser shows up in the follower.
		editGoal(b, student, goalID, map[string]string{"description": fromDiaz})
		b.synced()
		a2.waitFor("Mr. Díaz's edit in the follower tab", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, fromDiaz), syncTimeout)
		if n := e.app.Hub.Connections(); n != before {
			t.Fatalf("%d sync connections, want %d", n, before)
		}

		// The leader tab goes away: its lock passes to the follower, which
		// syncs from then on; the first tab comes back as a follower.
		a.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.Close, cdp.Empty{})
			return err
		}))
		a2.waitFor("the second tab to lead", `plansync.state().leader === true`, stepTimeout)
		a2.waitFor("the new leader to sync", `document.getElementById('sync').dataset.state === 'synced'`, syncTimeout)
		a = e.newTabIn(a2, "lee")
		a.open(plan)
		a.waitFor("the first tab to follow", `plansync.state().leader === false`, stepTimeout)
		a.synced()
		time.Sleep(time.Second)
		if n := e.app.Hub.Connections(); n != before {
			t.Fatalf("%d sync connections after the handover, want %d", n, before)
		}

		// The leader goes into the back-forward cache: it must not keep the
		// lock frozen, so it steps down and the other tab leads; back from
		// the cache, it follows. (Synthetic page transition events: headless
		// Chromium's cache cannot be driven reliably.)
		eval[chromedp.Void](a2, `window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))`)
		a2.waitFor("the cached tab to step down", `plansync.state().leader === false`, stepTimeout)
		a.waitFor("the other tab to lead", `plansync.state().leader === true`, stepTimeout)
		a.synced()
		eval[chromedp.Void](a2, `window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))`)
		a2.waitFor("the tab back from the cache to follow", `document.getElementById('sync').dataset.state === 'synced'`, syncTimeout)
		time.Sleep(time.Second)
		if eval[bool](a2, `plansync.state().leader`) || !eval[bool](a, `plansync.state().leader`) {
			t.Fatal("the tab back from the cache took the lead from the tab holding it")
		}
		deadline = time.Now().Add(stepTimeout)
		for e.app.Hub.Connections() != before {
			if time.Now().After(deadline) {
				t.Fatalf("%d sync connections after the cached tab stepped down, want %d", e.app.Hub.Connections(), before)
			}
			time.Sleep(pollEvery)
		}
	})
	if !ok {
		return
	}

	ok = e.step("an open form survives its screen being rebuilt", func(t *testing.T) {
		// A change from sync can start a rebuild of the screen just before
		// someone opens a form; when the rebuild lands it must not take
		// the form, and what they typed, away. A hashchange to the same
		// route starts such a rebuild on demand.
		const typing = "Half written, not saved yet"
		a.goTo("#/s/" + student.String() + "/goal/" + goalID)
		sel := fmt.Sprintf(`article[data-collection=goals][data-id=%q]`, goalID)
		a.waitFor("the goal", `document.querySelector('`+sel+` button[data-action=edit]')`, stepTimeout)
		a.click(sel + ` button[data-action=edit]`)
		a.waitFor("the form", `document.querySelector('`+sel+` form.record-form')`, stepTimeout)
		eval[chromedp.Void](a, fmt.Sprintf(`(() => { document.querySelector('%s form.record-form [name=description]').value = %q;
			window.dispatchEvent(new HashChangeEvent('hashchange')); })()`, sel, typing))
		time.Sleep(time.Second)
		if got := eval[string](a, fmt.Sprintf(`document.querySelector('%s form.record-form [name=description]')?.value ?? 'no form'`, sel)); got != typing {
			t.Fatalf("after the rebuild the form holds %q, want %q", got, typing)
		}
		// Cancelling closes it, and the deferred rebuild happens then.
		eval[chromedp.Void](a, fmt.Sprintf(`document.querySelector('%s form.record-form button[data-action=cancel]').click()`, sel))
		a.waitFor("the form to close", `!document.querySelector('`+sel+` form.record-form')`, stepTimeout)
	})
	if !ok {
		return
	}

	e.step("Spanish has no missing strings", func(t *testing.T) {
		a.goTo("#/settings")
		a.waitFor("settings", `document.getElementById('ui-lang')`, stepTimeout)
		eval[chromedp.Void](a, `(() => { const s = document.getElementById('ui-lang'); s.value = 'es'; s.dispatchEvent(new Event('change')); })()`)
		a.waitFor("the Spanish UI", `document.documentElement.lang === 'es'`, stepTimeout)
		s := student.String()
		screens := []string{"#/", "#/s/" + s + "/about", "#/s/" + s + "/goals", "#/s/" + s + "/goal/" + goalID, "#/s/" + s + "/notes",
			"#/s/" + s + "/meetings", "#/s/" + s + "/family", "#/school/" + school.String() + "/services", "#/school/" + school.String() + "/events",
			"#/h/" + s + "/goals/" + goalID, "#/settings", "#/join"}
		for _, frag := range screens {
			a.goTo(frag)
			a.waitFor("screen "+frag, fmt.Sprintf(`location.hash === %q && document.querySelector('#main h1')`, frag), stepTimeout)
			time.Sleep(300 * time.Millisecond)
			// Open every add form too: their labels and options are strings.
			eval[chromedp.Void](a, `document.querySelectorAll('#main button[data-action=add]').forEach(b => b.click())`)
			a.axe(frag + " in Spanish, its forms open")
		}
		if missing := eval[[]string](a, `plansyncMissingStrings()`); len(missing) > 0 {
			t.Errorf("Spanish UI lacks %v", missing)
		}
		if got := eval[string](a, `document.getElementById('sync').textContent`); got != "Todo guardado" {
			t.Errorf("sync state in Spanish reads %q", got)
		}
		// The server was told: the plan's texts are translated into the
		// language the teacher switched to (server/translations).
		var langs []string
		for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if langs = serverLanguages(t, e, e.app.Demo.TeacherToken); len(langs) > 0 && langs[0] == "es" {
				break
			}
		}
		if len(langs) == 0 || langs[0] != "es" {
			t.Errorf("after switching the UI to Spanish the server has the teacher's languages as %v", langs)
		}
		eval[chromedp.Void](a, `(() => { localStorage.setItem('plansync.lang', 'en'); })()`)
	})

	e.step("plan screen at 360 px", func(t *testing.T) {
		a.reload()
		a.goTo(plan)
		a.waitFor("the plan", fmt.Sprintf(`document.getElementById('main').innerText.includes(%q)`, "Reads a chapter book each week with a buddy"), stepTimeout)
		if w := eval[int](a, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("the page is %d px wide at a 360 px viewport", w)
		}
		small := eval[[]string](a, `[...document.querySelectorAll('#main button, #main .button, #main input, #main select, .tabs a, .bar a')]
			.filter(el => el.offsetParent !== null && el.type !== 'checkbox')
			.filter(el => { const r = el.getBoundingClientRect(); return r.height < 44 || r.width < 44 })
			.map(el => el.outerHTML.slice(0, 80))`)
		if len(small) > 0 {
			t.Errorf("touch targets under 44 px: %v", small)
		}
		p := a.screenshot("plan-360.png")
		t.Logf("screenshot: %s", p)
	})

	e.step("signing out in one tab signs the other out too", func(t *testing.T) {
		a.synced()
		a.goTo(plan)
		a.waitFor("the plan", `document.querySelector('#main h1')`, stepTimeout)
		a2 := e.newTabIn(a, "lee, settings tab")
		a2.open("#/settings")
		a2.waitFor("the sign-out button", `document.getElementById('signout')`, stepTimeout)
		a2.click(`#signout`)
		a2.waitFor("the sign-in screen", `document.querySelector('#signin')`, stepTimeout)
		// The first tab follows: not a plan with empty lists, the sign-in
		// screen.
		a.waitFor("the first tab to show sign in", `!plansync.state().signedIn && document.querySelector('#signin')`, stepTimeout)
	})
}

// editGoal opens the goal's edit form on its page and saves fields.
func editGoal(b *tab, space uuid.UUID, goalID string, fields map[string]string) {
	b.e.t.Helper()
	b.goTo(fmt.Sprintf("#/s/%s/goal/%s", space, goalID))
	sel := fmt.Sprintf(`article[data-collection=goals][data-id=%q]`, goalID)
	b.waitFor("the goal", `document.querySelector('`+sel+` button[data-action=edit]')`, stepTimeout)
	b.click(sel + ` button[data-action=edit]`)
	b.fill(sel+` form.record-form`, fields)
	b.waitFor("the form to close", `!document.querySelector('`+sel+` form.record-form')`, stepTimeout)
}

func findSpaces(t *testing.T, a *app.App, studentName string) (student, school uuid.UUID) {
	t.Helper()
	spaces, err := a.Store.Spaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range spaces {
		switch {
		case sp.Kind == server.KindStudent && sp.Name == studentName:
			student = sp.ID
		case sp.Kind == server.KindSchool:
			school = sp.ID
		}
	}
	if student == uuid.Nil || school == uuid.Nil {
		t.Fatalf("demo has no student %q or no school", studentName)
	}
	return student, school
}

func serverRecord(t *testing.T, a *app.App, space uuid.UUID, collection, id string) *record.Record {
	t.Helper()
	rid, err := uuid.Parse(id)
	if err != nil {
		t.Fatalf("record id %q: %v", id, err)
	}
	rec, err := a.Store.Record(context.Background(), record.Key{Space: space, Collection: collection, ID: rid})
	if errors.Is(err, server.ErrNotFound) {
		t.Fatalf("the server has no %s/%s", collection, id)
	} else if err != nil {
		t.Fatal(err)
	}
	return rec
}

// serverLanguages is what the server holds as the languages of the
// session's user (GET /api/me).
func serverLanguages(t *testing.T, e *env, token string) []string {
	t.Helper()
	var me struct {
		User struct {
			Languages []string `json:"languages"`
		} `json:"user"`
	}
	req, err := http.NewRequest("GET", "http://"+e.addr+"/api/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&me); err != nil {
		t.Fatal(err)
	}
	return me.User.Languages
}
