package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupCommandsOfTheBinary runs the real binary: serve with
// --admin-addr, backup --from while it serves, restore into a new folder,
// and the restored folder serves the seeded demo.
func TestBackupCommandsOfTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "plansync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--seed", "--admin-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var admin string
	for admin == "" && sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Admin listener at http://"); ok {
			admin = strings.TrimSuffix(strings.Fields(rest)[0], ",")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if admin == "" {
		t.Fatal("no admin listener line")
	}
	file := filepath.Join(dir, "plansync.backup")
	// Without the token the admin listener refuses; with the data folder
	// named, backup finds the token file the server wrote there.
	noToken := exec.CommandContext(ctx, bin, "backup", "--from", "http://"+admin, "--token-file", filepath.Join(dir, "missing"), "--out", file)
	if out, err := noToken.CombinedOutput(); err == nil {
		t.Fatalf("backup --from without the token succeeded:\n%s", out)
	}
	withToken := exec.CommandContext(ctx, bin, "backup", "--from", "http://"+admin, "--out", file)
	withToken.Env = append(os.Environ(), "PLANSYNC_DATA="+filepath.Join(dir, "data"))
	if out, err := withToken.CombinedOutput(); err != nil {
		t.Fatalf("backup --from: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, bin, "backup", "--data", filepath.Join(dir, "data"), "--out", file+"2").CombinedOutput(); err == nil {
		t.Fatalf("backup --data of a running server's folder succeeded:\n%s", out)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	out, err := exec.CommandContext(ctx, bin, "restore", "--data", filepath.Join(dir, "restored"), "--in", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "restored 3 spaces") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
}
