package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// fsyncChildEnv makes the test binary the child of TestFsyncFailureStops:
// its value is "dir mode", mode "commit" or "account".
const fsyncChildEnv = "PLANSYNC_STORE_FSYNC_CHILD"

var (
	fsyncSpace = uuid.MustParse("0190a000-0000-7000-8000-0000000f5c01")
	fsyncFirst = uuid.MustParse("0190a000-0000-7000-8000-0000000f5c02")
	fsyncLater = uuid.MustParse("0190a000-0000-7000-8000-0000000f5c03")
	fsyncUser  = uuid.MustParse("0190a000-0000-7000-8000-0000000f5c04")
)

var errInjectedFsync = errors.New("injected fsync failure (EIO)")

// fsyncChild opens the store in dir with the default OnSyncFailure (stop
// the process), commits one op, then makes every fsync fail and tries one
// more write (a group commit or an account write). It prints "acked NAME"
// for each write acknowledged to it; the process must exit before a
// second.
func fsyncChild(dir, mode string) {
	var fail atomic.Bool
	s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	s.syncHook = func() error {
		if fail.Load() {
			return errInjectedFsync
		}
		return s.db.Sync()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := newWriter()
	res, err := s.Commit(ctx, []record.Op{w.op(fsyncSpace, "notes", fsyncFirst, map[string]any{"text": "first"})})
	if err != nil || res[0].Err != nil {
		fmt.Println("first commit:", err, res)
		os.Exit(1)
	}
	fmt.Println("acked first")
	fail.Store(true)
	switch mode {
	case "commit":
		res, err = s.Commit(ctx, []record.Op{w.op(fsyncSpace, "notes", fsyncLater, map[string]any{"text": "later"})})
		if err == nil && res[0].Err == nil {
			fmt.Println("acked later")
		}
	case "account":
		if err := s.CreateUser(ctx, &server.User{ID: fsyncUser, Name: "later", Created: time.Now()}); err == nil {
			fmt.Println("acked later")
		}
	}
	fmt.Println("still running")
	os.Exit(0)
}

// TestFsyncFailureStops checks that a failed fsync stops the process with
// the sync-failure status instead of acking (retrying an fsync after a
// failure may "succeed" with the data gone), for group commits and account
// writes alike, and that the next open replays the log: what was acked is
// there and the log checks.
func TestFsyncFailureStops(t *testing.T) {
	if v := os.Getenv(fsyncChildEnv); v != "" {
		dir, mode, _ := strings.Cut(v, " ")
		fsyncChild(dir, mode)
		return
	}
	for _, mode := range []string{"commit", "account"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFsyncFailureStops$")
			cmd.Env = append(os.Environ(), fsyncChildEnv+"="+dir+" "+mode)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != syncFailureExit {
				t.Fatalf("child: %v, want exit status %d\nstdout:\n%s\nstderr:\n%s", err, syncFailureExit, &stdout, &stderr)
			}
			var acked []string
			for sc := bufio.NewScanner(&stdout); sc.Scan(); {
				if name, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
					acked = append(acked, name)
				}
			}
			if len(acked) != 1 || acked[0] != "first" {
				t.Fatalf("acked %v, want only the write before the fsync failed", acked)
			}
			if !strings.Contains(stderr.String(), "fsync failed") {
				t.Errorf("the failure is not logged:\n%s", &stderr)
			}
			// The next start replays badger's log.
			s := openDir(t, dir, Options{Logger: slog.New(slog.DiscardHandler)})
			ctx := context.Background()
			rec, err := s.Record(ctx, record.Key{Space: fsyncSpace, Collection: "notes", ID: fsyncFirst})
			if err != nil || rec.Value("text") != "first" {
				t.Fatalf("the acked write after the restart: %v %v", rec, err)
			}
			if err := s.CheckLog(ctx, fsyncSpace); err != nil {
				t.Fatalf("log after the restart: %v", err)
			}
			// The unacked write may or may not have reached the disk;
			// either way the store is whole and takes it again.
			if mode == "commit" {
				h, err := s.Head(ctx, fsyncSpace)
				if err != nil || h < 1 || h > 2 {
					t.Fatalf("head %d (%v) after the restart, want 1 or 2", h, err)
				}
			}
		})
	}
}
