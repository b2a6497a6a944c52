package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// TestBindDevice: a device id belongs to the session that first said hello
// with it. Another user never gets it; the same user gets it back only once
// that session has ended; a user's live ids are bounded; bindings survive a
// restart.
func TestBindDevice(t *testing.T) {
	ctx := context.Background()
	s, dir := openTest(t, Options{})
	teacher, family := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	session := func(user uuid.UUID, name string) *server.Session {
		se := &server.Session{Hash: sha256.Sum256([]byte(name)), User: user, Created: time.Now(), Expires: time.Now().Add(time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		return se
	}
	laptop := session(teacher, "teacher laptop")
	phone := session(family, "family phone")
	dev := uuid.Must(uuid.NewV7())

	if err := s.BindDevice(ctx, dev, laptop, 4); err != nil {
		t.Fatalf("first bind: %v", err)
	}
	if err := s.BindDevice(ctx, dev, laptop, 4); err != nil {
		t.Fatalf("same session again: %v", err)
	}
	if err := s.BindDevice(ctx, dev, phone, 4); !errors.Is(err, server.ErrDeviceTaken) {
		t.Fatalf("another user took the teacher's device id: %v", err)
	}
	again := session(teacher, "teacher laptop, signed in again")
	if err := s.BindDevice(ctx, dev, again, 4); !errors.Is(err, server.ErrDeviceTaken) {
		t.Fatalf("a second live session of the same user took the id: %v", err)
	}
	if err := s.DeleteSession(ctx, laptop.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.BindDevice(ctx, dev, again, 4); err != nil {
		t.Fatalf("the teacher's own device after signing out: %v", err)
	}
	if err := s.BindDevice(ctx, dev, phone, 4); !errors.Is(err, server.ErrDeviceTaken) {
		t.Fatalf("rebound device given to another user: %v", err)
	}

	// The family mints ids: the fifth live one is refused, an ended
	// session's ids stop counting.
	for i := range 4 {
		if err := s.BindDevice(ctx, uuid.Must(uuid.NewV7()), phone, 4); err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
	}
	if err := s.BindDevice(ctx, uuid.Must(uuid.NewV7()), phone, 4); !errors.Is(err, server.ErrDeviceLimit) {
		t.Fatalf("fifth device id: %v, want ErrDeviceLimit", err)
	}
	if err := s.DeleteSession(ctx, phone.Hash); err != nil {
		t.Fatal(err)
	}
	tablet := session(family, "family tablet")
	if err := s.BindDevice(ctx, uuid.Must(uuid.NewV7()), tablet, 4); err != nil {
		t.Fatalf("after signing out everywhere: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, Options{})
	if err := s.BindDevice(ctx, dev, tablet, 4); !errors.Is(err, server.ErrDeviceTaken) {
		t.Fatalf("binding lost in a restart: %v", err)
	}
}
