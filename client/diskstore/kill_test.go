package diskstore_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/internal/fakeserver"
	"github.com/plansync/plansync/shared/uuid"
)

// killDirEnv names the directory the child process writes to before it
// dies.
const killDirEnv = "PLANSYNC_DISKSTORE_KILL_DIR"

// TestEditsSurviveProcessKill runs an engine in a child process that makes
// edits offline and exits without closing anything, as a killed app would;
// the parent reopens the directory and finds every edit in the outbox.
func TestEditsSurviveProcessKill(t *testing.T) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		child(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEditsSurviveProcessKill$")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s, err := diskstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Meta == nil || len(snap.Outbox) != 5 {
		t.Fatalf("after kill: meta %v, %d pending, want 5", snap.Meta, len(snap.Outbox))
	}
	for i, p := range snap.Outbox {
		if p.Op.Writes[0].Value != int64(i) || p.Op.Node != snap.Meta.Device {
			t.Fatalf("op %d: %+v", i, p.Op)
		}
	}
}

func child(dir string) {
	s, err := diskstore.Open(dir)
	if err != nil {
		os.Exit(1)
	}
	srv := fakeserver.New()
	srv.SetDown(true)
	e := client.New(client.Options{Store: s, Transport: srv.Transport(), Token: "t"})
	if err := e.Open(context.Background()); err != nil {
		os.Exit(1)
	}
	space := uuid.Must(uuid.NewV7())
	for i := range 5 {
		if _, err := e.Create(context.Background(), space, "checkins", map[string]any{"n": i}); err != nil {
			os.Exit(2)
		}
	}
	os.Exit(3) // no Close, no flush: the edits must already be on disk
}
