package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/store"
)

// TestAccountCommands disables, enables and resets a staff account and
// removes a member through the commands, on a real data folder.
func TestAccountCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(data, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc := auth.New(auth.Options{Store: st, Params: auth.Params{Memory: 64, Iterations: 1, Threads: 1}})
	school, _, err := svc.InitSchool(ctx, "Maple", "Ms. Park", "park", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	lee, err := svc.AddStaff(ctx, school.ID, "Ms. Lee", "lee", "correct horse battery", server.RoleTeacher)
	if err != nil {
		t.Fatal(err)
	}
	ana, err := svc.AddStudent(ctx, school.ID, "Ana")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutMember(ctx, server.Member{Space: ana.ID, User: lee.ID, Role: server.RoleTeacher}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.StartSession(ctx, lee.ID, "laptop"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cmd := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(append(args, "--data", data), &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		return out.String()
	}
	if out := cmd("user", "disable", "--login", "LEE"); !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %q", out)
	}
	out := cmd("user", "reset-password", "--user", lee.ID.String())
	code, _, _ := strings.Cut(strings.TrimPrefix(out, "setup code "), " ")
	if len(code) != auth.SetupCodeLen+3 || strings.Contains(out, "correct horse") {
		t.Fatalf("reset-password: %q", out)
	}
	cmd("user", "enable", "--login", "lee")
	cmd("member", "remove", "--space", ana.ID.String(), "--user", lee.ID.String())
	if err := run([]string{"member", "remove", "--space", ana.ID.String(), "--user", lee.ID.String(), "--data", data}, io.Discard, io.Discard); err == nil {
		t.Fatal("removing a non-member succeeded")
	}
	if err := run([]string{"user", "disable", "--data", data}, io.Discard, io.Discard); err == nil {
		t.Fatal("disable without a user succeeded")
	}

	st, err = store.Open(data, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc = auth.New(auth.Options{Store: st, Params: auth.Params{Memory: 64, Iterations: 1, Threads: 1}})
	if u, _ := st.User(ctx, lee.ID); u.Disabled {
		t.Fatal("still disabled after enable")
	}
	if ses, _ := st.Sessions(ctx, lee.ID); len(ses) != 0 {
		t.Fatalf("sessions after disable: %d", len(ses))
	}
	if login, err := svc.UseSetupCode(ctx, code, "a new password for lee"); err != nil || login != "lee" {
		t.Fatalf("using the printed code: %q %v", login, err)
	}
	if _, _, err := svc.Login(ctx, "lee", "a new password for lee", "x"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if ms, _ := st.Memberships(ctx, lee.ID); len(ms) != 1 || ms[0].Space != school.ID {
		t.Fatalf("memberships after remove: %+v", ms)
	}
}
