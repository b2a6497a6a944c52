package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// tmpfsSize is the small real file system the guard test fills: room for
// badger's memtable and a first value log file plus the reserve.
const tmpfsSize = 128 << 20 // bytes

// guardTestReserve is the reserve of the guard test: above the ballast
// (ballastSize, 32 MiB by default) plus what the filler leaves, so that the
// ballast released at Close does not lift the disk back above it.
const guardTestReserve = 48 << 20 // bytes

// TestAccountWritesRefusedOnFullTmpfs mounts a real tmpfs, fills it below
// the reserve with a filler file, and checks that account writes (users,
// sessions, invites, memberships) are refused with server.ErrUnavailable
// and write nothing, then work again once the filler is removed.
func TestAccountWritesRefusedOnFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; skipping the real full-disk test")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%d", tmpfsSize)); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	dir := filepath.Join(mnt, "db")
	s, err := Open(dir, Options{FreeSpaceInterval: time.Millisecond, MinFreeBytes: guardTestReserve})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	u := &server.User{ID: newID(), Name: "before", Created: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	free, err := freeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for range free/uint64(len(buf)) - 1 { // leave under 2 MiB: below the reserve
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	writes := map[string]func() error{
		"user": func() error { return s.CreateUser(ctx, &server.User{ID: newID(), Name: "x", Created: time.Now()}) },
		"session": func() error {
			return s.CreateSession(ctx, &server.Session{User: u.ID, Expires: time.Now().Add(time.Hour)})
		},
		"invite": func() error {
			return s.CreateInvite(ctx, &server.Invite{ID: "abc", Secret: "h", Space: newID(), Expires: time.Now().Add(time.Hour)})
		},
		"member": func() error {
			return s.PutMember(ctx, server.Member{Space: newID(), User: u.ID, Role: server.RoleFamily})
		},
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, server.ErrUnavailable) {
			t.Errorf("%s on a full disk: %v, want ErrUnavailable", name, err)
		}
	}
	if got, err := s.User(ctx, u.ID); err != nil || got.Name != "before" {
		t.Fatalf("read on a full disk: %v %v", got, err)
	}
	// Restart on the full disk: opened read-only, reads served, writes
	// refused, no SIGBUS.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{FreeSpaceInterval: time.Millisecond, MinFreeBytes: guardTestReserve}); err != nil {
		t.Fatalf("reopening on a full disk: %v", err)
	}
	if got, err := s.User(ctx, u.ID); err != nil || got.Name != "before" {
		t.Fatalf("read after restarting on a full disk: %v %v", got, err)
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, server.ErrUnavailable) {
			t.Errorf("%s after restarting on a full disk: %v, want ErrUnavailable", name, err)
		}
	}
	if err := s.CreateUser(ctx, u); !errors.Is(err, server.ErrExists) {
		t.Errorf("creating an existing user read-only: %v, want ErrExists", err)
	}
	if err := s.Healthy(); !errors.Is(err, server.ErrUnavailable) {
		t.Errorf("Healthy read-only: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Space is back: a restart opens read-write.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{FreeSpaceInterval: time.Millisecond, MinFreeBytes: guardTestReserve}); err != nil {
		t.Fatal(err)
	}
	for name, w := range writes {
		if err := w(); err != nil {
			t.Errorf("%s after space returned: %v", name, err)
		}
	}
}

// TestReadsPassNoGuardOnFullDisk checks that what a hello reads (the
// incarnation, the session, the user) is served while the disk is below
// the reserve: a read that went through the write guard would turn every
// sign-in to the sync socket into an error on a full disk. A database that
// has no incarnation yet must write one, and that write is refused like
// any other until space returns.
func TestReadsPassNoGuardOnFullDisk(t *testing.T) {
	var full atomic.Bool
	full.Store(true)
	s, _ := openTest(t, Options{
		Logger:            slog.New(slog.DiscardHandler),
		MinFreeBytes:      64 << 20,
		FreeSpaceInterval: time.Nanosecond,
		FreeSpace: func() (uint64, error) {
			if full.Load() {
				return 1 << 20, nil
			}
			return 1 << 40, nil
		},
	})
	ctx := context.Background()
	if _, err := s.Incarnation(ctx); !errors.Is(err, server.ErrUnavailable) {
		t.Fatalf("first incarnation on a full disk: %v, want ErrUnavailable", err)
	}
	full.Store(false)
	inc, err := s.Incarnation(ctx)
	if err != nil || inc == (uuid.UUID{}) {
		t.Fatalf("incarnation with space: %v %v", inc, err)
	}
	u := &server.User{ID: newID(), Name: "u", Created: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &server.Session{User: u.ID, Expires: time.Now().Add(time.Hour)}
	sess.Hash = server.HashToken("tok")
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	if err := s.CreateUser(ctx, &server.User{ID: newID(), Name: "x", Created: time.Now()}); !errors.Is(err, server.ErrUnavailable) {
		t.Fatalf("write on a full disk: %v, want ErrUnavailable", err)
	}
	if got, err := s.Incarnation(ctx); err != nil || got != inc {
		t.Errorf("incarnation on a full disk: %v %v, want %v", got, err, inc)
	}
	if _, err := s.Session(ctx, sess.Hash); err != nil {
		t.Errorf("session on a full disk: %v", err)
	}
	if _, err := s.User(ctx, u.ID); err != nil {
		t.Errorf("user on a full disk: %v", err)
	}
}

// TestCloseOnFullTmpfs fills a real tmpfs to its last byte behind the
// store's back (as another program would) while badger's memtable holds a
// write, then closes the store: Close must release the ballast so that
// badger's flush has room, instead of faulting (SIGBUS kills the test
// binary). The reopened store is read-only and has the write.
func TestCloseOnFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; skipping the real full-disk test")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%d", tmpfsSize)); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	dir := filepath.Join(mnt, "db")
	opts := Options{Logger: slog.New(slog.DiscardHandler), MinFreeBytes: guardTestReserve}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, ballastName)); err != nil || st.Size() != ballastSize(s.opts) {
		t.Fatalf("ballast after opening with space: %v %v", st, err)
	}
	ctx := context.Background()
	u := &server.User{ID: newID(), Name: "in the memtable", Created: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	fillTo0(t, mnt, "filler")
	if err := s.Close(); err != nil {
		t.Fatalf("closing on a disk with 0 bytes free: %v", err)
	}
	if s, err = Open(dir, opts); err != nil {
		t.Fatalf("reopening on the full disk: %v", err)
	}
	if !s.guard.readOnly {
		t.Error("reopened read-write below the reserve")
	}
	if got, err := s.User(ctx, u.ID); err != nil || got.Name != u.Name {
		t.Fatalf("the write flushed at Close: %v %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// No ballast left and the disk full to the last byte again: replaying
	// badger's log could fault, so Open refuses, clearly.
	fillTo0(t, mnt, "filler2")
	if s, err := Open(dir, opts); !errors.Is(err, server.ErrUnavailable) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("opening at 0 bytes free without a ballast: %v, want ErrUnavailable", err)
	}
}

// fillTo0 writes a file named name under mnt until its file system has
// not one byte free.
func fillTo0(t *testing.T, mnt, name string) {
	t.Helper()
	f, err := os.Create(filepath.Join(mnt, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10} {
		buf := make([]byte, chunk)
		for range tmpfsSize / chunk { // bounded: the disk is smaller
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
	if free, err := freeBytes(mnt); err != nil || free != 0 {
		t.Fatalf("%d bytes free after filling (%v)", free, err)
	}
}
