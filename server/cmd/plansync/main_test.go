package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plansync/plansync/server/store"
)

// TestServeShutsDownCleanlyOnSIGTERM runs the real binary: it serves the
// seeded demo, answers /healthz, and on SIGTERM exits 0 having closed badger
// (the folder reopens at once, which badger refuses while another process
// holds it).
func TestServeShutsDownCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "plansync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--seed")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var addr, token string
	for (addr == "" || token == "") && sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "Plansync is running at http://"); ok {
			addr = strings.Fields(rest)[0]
		}
		if rest, ok := strings.CutPrefix(line, "Demo teacher session token: "); ok {
			token = rest
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if addr == "" || !strings.HasPrefix(token, "pst_") {
		t.Fatalf("start-up did not print the address and demo token (addr %q token %q)", addr, token)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	st, err := store.Open(data, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("data folder did not reopen after shutdown: %v", err)
	}
	defer st.Close()
	spaces, err := st.Spaces(context.Background())
	if err != nil || len(spaces) != 3 {
		t.Fatalf("seeded spaces after restart: %d, %v", len(spaces), err)
	}
}
