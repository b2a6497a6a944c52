package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// fullTmpfsSize is the real file system TestFullTmpfsBinary fills: room
// for badger's first memtable log, a value log file and the reserve, small
// enough to fill in a moment.
const fullTmpfsSize = 160 << 20 // bytes

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory, unmounted
// at cleanup. It skips the test when not root or when mounting is refused
// (a container without CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root: skipping the real full-disk test (run as root, as make test does in CI)")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): skipping the real full-disk test", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}

// fillDisk writes a file under dir until the file system has not one
// byte left (ENOSPC at the page size), and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10} {
		buf := make([]byte, chunk)
		for range fullTmpfsSize / chunk { // bounded: the disk is smaller
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if free := st.Bavail * uint64(st.Bsize); free != 0 {
		t.Fatalf("%d bytes still free after filling", free)
	}
	return name
}

// reply is an HTTP answer of the API.
type reply struct {
	status     int
	retryAfter string
	body       []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// call sends a JSON request to the server at base (an http://127.0.0.1
// address) with an optional bearer token.
func call(t *testing.T, method, url, token string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: b}
}

// wantUnavailable checks a clear refusal: 503, Retry-After, code
// unavailable.
func wantUnavailable(t *testing.T, what string, r reply) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || r.retryAfter == "" || !bytes.Contains(r.body, []byte(`"unavailable"`)) {
		t.Errorf("%s on a full disk: %s (Retry-After %q), want 503 unavailable with Retry-After", what, r, r.retryAfter)
	}
}

// demoLine finds the value printed after prefix in the demo's stdout.
func demoLine(t *testing.T, p *serverProc, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(readyWait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := rx.FindStringSubmatch(p.stdout.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no %q in the server's output:\n%s", re, p.stdout)
	return ""
}

// stopClean stops p with SIGTERM and checks that it exited cleanly, not by
// a fault inside badger.
func stopClean(t *testing.T, p *serverProc, when string) {
	t.Helper()
	err := p.stop()
	if log := p.stderr.String(); strings.Contains(log, "SIGBUS") || strings.Contains(log, "unexpected fault address") {
		t.Fatalf("server faulted %s:\n%s", when, log)
	}
	if err != nil {
		t.Fatalf("stopping the server %s: %v", when, err)
	}
}

// TestFullTmpfsBinary runs the real `plansync serve --seed` binary on a
// real tmpfs and fills it to 0 bytes free. Logins, invite claims and invite
// creation get a clear 503 with Retry-After and the server stays up and
// serves reads; it stops cleanly and restarts on the full disk (serving
// reads, refusing writes) without a SIGBUS; once space is freed and it is
// restarted, writes resume and nothing acked before is lost.
func TestFullTmpfsBinary(t *testing.T) {
	mnt := mountTmpfs(t, fullTmpfsSize)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := serverBinary(t)
	data := filepath.Join(mnt, "data")
	listen, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	adminListen, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + listen
	var srv *serverProc
	start := func() {
		t.Helper()
		if srv, err = startServe(ctx, bin, data, listen, "--admin-addr", adminListen); err != nil {
			t.Fatal(err)
		}
	}
	// adminHealth is the admin listener's health detail, with the token
	// the server wrote at its start.
	adminHealth := func() reply {
		t.Helper()
		tok, err := app.ReadAdminToken(filepath.Join(data, app.AdminTokenFileName))
		if err != nil {
			t.Fatal(err)
		}
		return call(t, "GET", "http://"+adminListen+app.HealthPath, tok, nil)
	}
	defer func() {
		if srv != nil {
			srv.kill()
		}
	}()
	start()
	teacherToken := demoLine(t, srv, `Demo teacher session token: (\S+)`)
	demoCode := demoLine(t, srv, `Family invite code for .*'s plan: (\S+) `)

	// Before the disk fills: every write works.
	login := api.LoginRequest{Login: app.DemoTeacherLogin, Password: app.DemoPassword, Device: "test"}
	if r := call(t, "POST", base+"/api/login", "", login); r.status != http.StatusOK {
		t.Fatalf("login: %s", r)
	}
	var me api.MeResponse
	r := call(t, "GET", base+"/api/me", teacherToken, nil)
	if err := json.Unmarshal(r.body, &me); r.status != http.StatusOK || err != nil {
		t.Fatalf("me: %s %v", r, err)
	}
	var student uuid.UUID
	for _, sp := range me.Spaces {
		if sp.Kind == "student" {
			student = sp.ID
			break
		}
	}
	if student == uuid.Nil {
		t.Fatalf("the demo teacher has no student space: %+v", me)
	}
	var parent api.LoginResponse
	r = call(t, "POST", base+"/api/invites/claim", "", api.ClaimRequest{Code: demoCode, Name: "Parent", Device: "test"})
	if err := json.Unmarshal(r.body, &parent); r.status != http.StatusOK || err != nil || parent.Token == "" {
		t.Fatalf("claim: %s %v", r, err)
	}
	var inv api.InviteResponse
	r = call(t, "POST", base+"/api/invites", teacherToken, api.InviteRequest{Space: student})
	if err := json.Unmarshal(r.body, &inv); r.status != http.StatusCreated || err != nil {
		t.Fatalf("invite: %s %v", r, err)
	}

	var mu sync.Mutex
	acks := map[string]bool{}
	open := func(name string) *client.Engine {
		st, err := diskstore.Open(filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		e := client.New(client.Options{
			Store: st, Transport: &wsdial.Transport{URL: "ws://" + listen + "/sync"}, Token: teacherToken,
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
			OnAck: func(op record.Op, _ uint64) {
				mu.Lock()
				defer mu.Unlock()
				for _, w := range op.Writes {
					if w.Name == "text" {
						acks[w.Value.(string)] = true
					}
				}
			},
		})
		if err := e.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close(); _ = st.Close() })
		return e
	}
	synced := func(e *client.Engine) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := e.WaitSynced(sctx); err != nil {
			t.Fatalf("not synced: %v (%+v)", err, e.State())
		}
	}
	w := open("writer")
	// A note in the student's plan, as the teacher writes them.
	const notes = "notes"
	id, err := w.Create(ctx, student, notes, map[string]any{"lang": "en", "kind": "update", "text": "before"})
	if err != nil {
		t.Fatal(err)
	}
	key := record.Key{Space: student, Collection: notes, ID: id}
	synced(w)
	if !acks["before"] || len(w.Rejections()) > 0 {
		t.Fatalf("the first note: acks %v, rejections %+v", acks, w.Rejections())
	}

	// The disk fills to the last byte.
	filler := fillDisk(t, mnt)
	full := func(when string) {
		t.Helper()
		wantUnavailable(t, "login "+when, call(t, "POST", base+"/api/login", "", login))
		wantUnavailable(t, "invite creation "+when, call(t, "POST", base+"/api/invites", teacherToken, api.InviteRequest{Space: student}))
		wantUnavailable(t, "claim "+when, call(t, "POST", base+"/api/invites/claim", "", api.ClaimRequest{Code: inv.Code, Name: "Second parent", Device: "test"}))
		if r := call(t, "GET", base+"/healthz", "", nil); r.status != http.StatusServiceUnavailable {
			t.Errorf("/healthz %s: %s, want 503", when, r)
		}
		if r := adminHealth(); r.status != http.StatusServiceUnavailable || !bytes.Contains(r.body, []byte("reserve")) {
			t.Errorf("admin health %s: %s, want 503 saying why", when, r)
		}
		if r := call(t, "GET", base+"/api/me", parent.Token, nil); r.status != http.StatusOK {
			t.Errorf("a read %s: %s", when, r)
		}
		select {
		case <-srv.done:
			t.Fatalf("server exited %s (%v):\n%s", when, srv.err, srv.stderr)
		default:
		}
		for _, line := range strings.Split(srv.stderr.String(), "\n") {
			if strings.Contains(line, `"msg":"store: `) {
				t.Logf("%s: %s", when, line)
			}
		}
	}
	full("with the disk full")
	if err := w.Put(ctx, student, notes, id, map[string]any{"text": "during"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(w.State().LastError, "unavailable"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("client state while the disk is full: %+v; acks %v; server log:\n%s", w.State(), acks, srv.stderr)
		}
	}

	// Stop and start again on the full disk: no fault, reads served.
	stopClean(t, srv, "on a full disk")
	srv = nil
	start()
	full("after restarting on the full disk")
	rd := open("reader")
	synced(rd)
	if got := rd.Get(key); got == nil || got.Value("text") != "before" {
		t.Fatalf("a new device reads %v after restarting on the full disk", View(got))
	}
	mu.Lock()
	if acks["during"] {
		t.Fatal("an edit was acked while the disk was full")
	}
	mu.Unlock()
	stopClean(t, srv, "restarted on a full disk")
	srv = nil

	// Space is freed; after a restart every write works again and what
	// was acked before the disk filled is all there.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start()
	if r := call(t, "POST", base+"/api/login", "", login); r.status != http.StatusOK {
		t.Errorf("login after space returned: %s", r)
	}
	if r := call(t, "POST", base+"/api/invites/claim", "", api.ClaimRequest{Code: inv.Code, Name: "Second parent", Device: "test"}); r.status != http.StatusOK {
		t.Errorf("claim after space returned: %s", r)
	}
	r = call(t, "POST", base+"/api/invites", teacherToken, api.InviteRequest{Space: student})
	if err := json.Unmarshal(r.body, &inv); r.status != http.StatusCreated || err != nil {
		t.Fatalf("invite after space returned: %s %v", r, err)
	}
	if r := call(t, "GET", base+"/api/me", parent.Token, nil); r.status != http.StatusOK {
		t.Errorf("the session of the claim made before the disk filled: %s", r)
	}
	w.Kick()
	synced(w)
	mu.Lock()
	if !acks["during"] {
		t.Errorf("the edit kept during the full disk was not acked after: %v", acks)
	}
	mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got := rd.Get(key); got != nil && got.Value("text") == "during" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader sees %v after space returned", View(rd.Get(key)))
		}
	}

	// The disk fills again and the server is killed, so nothing releases
	// the ballast: it starts at 0 bytes free, read-only, and serves reads.
	filler = fillDisk(t, mnt)
	srv.kill()
	srv = nil
	start()
	full("after a kill and a restart at 0 bytes free")
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	stopClean(t, srv, "read-only at 0 bytes free")
	srv = nil
	start()
	if r := call(t, "POST", base+"/api/login", "", login); r.status != http.StatusOK {
		t.Errorf("login after the second full disk: %s", r)
	}
	stopClean(t, srv, "after space returned")
	srv = nil
	s, err := ReadState(ctx, data, student)
	if err != nil {
		t.Fatal(err)
	}
	if s.CheckLog != nil || s.DoubleApplied() != 0 {
		t.Fatalf("after the full disk: %d applied twice, CheckLog %v", s.DoubleApplied(), s.CheckLog)
	}
}
