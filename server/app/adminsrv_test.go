package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/server/app"
)

func open(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	return a
}

// get sends a GET with an optional bearer token and Host header.
func get(t *testing.T, c *http.Client, url, token, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// TestAdminListenerAsksForTokenAndHost: the admin listener serves metrics,
// health detail and backups only with the token from its 0600 file and a
// Host header naming this machine; the public listener serves no metrics
// and a /healthz without detail.
func TestAdminListenerAsksForTokenAndHost(t *testing.T) {
	a := open(t, app.Config{AdminAddr: "127.0.0.1:0"})
	fi, err := os.Stat(a.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %04o, want 0600", fi.Mode().Perm())
	}
	tok, err := app.ReadAdminToken(a.AdminTokenFile())
	if err != nil || tok != a.AdminToken() || len(tok) < 40 {
		t.Fatalf("token file holds %q (%v)", tok, err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	// A failed login is a security event the operator's metrics count.
	resp, err := c.Post("http://"+a.Addr()+"/api/login", "application/json", strings.NewReader(`{"login":"nobody","password":"wrong-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	base := "http://" + a.AdminAddr()
	if st, body := get(t, c, base+app.MetricsPath, tok, ""); st != 200 || !strings.Contains(body, "plansync_store_") || !strings.Contains(body, "plansync_auth_hash_busy_total 0") ||
		!strings.Contains(body, `plansync_security_events_total{event="failed_login"}`) {
		t.Fatalf("metrics with the token: %d\n%s", st, body)
	}
	if st, body := get(t, c, base+app.HealthPath, tok, ""); st != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("health detail: %d %q", st, body)
	}
	if st, _ := get(t, c, base+app.MetricsPath, tok, "localhost:1234"); st != 200 {
		t.Fatalf("Host localhost: %d", st)
	}
	for _, c2 := range []struct{ name, token, host string }{
		{"no token", "", ""},
		{"wrong token", tok[:len(tok)-1] + "x", ""},
		{"foreign Host", tok, "evil.example"},
		{"foreign Host with a loopback port", tok, "attacker.test:" + strings.Split(a.AdminAddr(), ":")[1]},
	} {
		for _, path := range []string{app.MetricsPath, app.BackupPath, app.HealthPath} {
			if st, body := get(t, c, base+path, c2.token, c2.host); st != 401 && st != 421 || strings.Contains(body, "plansync_") {
				t.Errorf("%s at %s: %d", c2.name, path, st)
			}
		}
	}
	// The public listener: no metrics, a terse health check.
	pub := "http://" + a.Addr()
	if st, _ := get(t, c, pub+"/metrics", tok, ""); st != 404 {
		t.Errorf("public /metrics: %d, want 404", st)
	}
	if st, body := get(t, c, pub+"/healthz", "", ""); st != 200 || body != "ok\n" {
		t.Errorf("public /healthz: %d %q", st, body)
	}
	// A restart writes a new token: the old one no longer works.
	dir := filepath.Dir(a.AdminTokenFile())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b := open(t, app.Config{DataDir: dir, AdminAddr: "127.0.0.1:0"})
	if b.AdminToken() == tok {
		t.Fatal("the token was not renewed at start")
	}
	if st, _ := get(t, c, "http://"+b.AdminAddr()+app.MetricsPath, tok, ""); st != 401 {
		t.Fatalf("old token after a restart: %d, want 401", st)
	}
}

// TestAdminTokenFileAndSocket: an operator's token file is used as is and
// refused when others can read it; the unix socket serves without a token.
func TestAdminTokenFileAndSocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	const tok = "operator-chosen-token-0123456789"
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if a, err := app.Open(context.Background(), app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminAddr: "127.0.0.1:0", AdminTokenFile: file, Logger: slog.New(slog.DiscardHandler)}); err == nil {
		_ = a.Close(context.Background())
		t.Fatal("a group-readable token file was accepted")
	} else if !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("error %v does not say what to do", err)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	a := open(t, app.Config{AdminAddr: "127.0.0.1:0", AdminTokenFile: file, AdminSocket: sock})
	if a.AdminToken() != tok {
		t.Fatalf("token %q, want the operator's", a.AdminToken())
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if st, _ := get(t, c, "http://"+a.AdminAddr()+app.MetricsPath, tok, ""); st != 200 {
		t.Fatalf("operator's token: %d", st)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
	uc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := uc.Get("http://localhost" + app.BackupPath)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Trailer.Get(app.BackupTrailer) != "ok" {
		t.Fatalf("backup over the socket: %d, trailer %q", resp.StatusCode, resp.Trailer.Get(app.BackupTrailer))
	}
	if st, _ := get(t, uc, "http://evil.example"+app.MetricsPath, "", ""); st != 421 {
		t.Fatalf("foreign Host over the socket: %d, want 421", st)
	}
}
