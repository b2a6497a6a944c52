package faults

import (
	"context"
	"testing"
)

// openSchool seeds and starts a school for one test (hostile.go).
func openSchool(t *testing.T) *School {
	t.Helper()
	s, err := OpenSchool(context.Background(), t.TempDir(), seeded(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestHostileDeviceFlood is issue 11's first attack against the seeded
// school: Mallory, holding only the family invite code, opens FloodSockets
// (10,001) sockets, four open at a time, each with a fresh device id and each
// pushing one op to the plan's family record. The server lets her hold
// hub.DefaultMaxDevicesPerUser device ids and refuses every further hello
// with device_limit; the record keeps a bounded clock; and afterwards the
// plan syncs for the admin, the teacher and the family, also after a
// restart (School.DeviceFlood, School.StillSyncs).
func TestHostileDeviceFlood(t *testing.T) {
	s := openSchool(t)
	ctx := context.Background()
	f, err := s.DeviceFlood(ctx, FloodSockets)
	t.Logf("%d sockets in %v: %d welcomed (%d ops committed, refused %v), %d refused at hello %v",
		FloodSockets, f.Took.Round(1e6), f.Welcomed, f.Committed, f.OpRefused, f.Refused, f.HelloRefused)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StillSyncs(ctx, "best_times", "written by family after the attack (2)"); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}

// TestHostileManyAccountsOneRecord: the same flood from FloodAccounts
// family accounts, each up to its device limit, writes one record from
// more devices than the record's clock keeps: every op of a welcomed
// device commits, the record's clock stays at record.MaxRecordClock, and
// the plan syncs for everyone (School.ManyAccountsOneRecord).
func TestHostileManyAccountsOneRecord(t *testing.T) {
	s := openSchool(t)
	f, err := s.ManyAccountsOneRecord(context.Background(), FloodAccounts)
	t.Logf("%d accounts in %v: %d welcomed, %d ops committed (refused %v), hellos refused %v",
		FloodAccounts, f.Took.Round(1e6), f.Welcomed, f.Committed, f.OpRefused, f.HelloRefused)
	if err != nil {
		t.Fatal(err)
	}
}

// TestHostileSpoofAndFarFuture is issue 11's second attack: device_taken
// for Mallory under the teacher's device id and for the teacher's copied
// profile, clock_ahead for an op 200 years ahead, and the teacher's later
// acked edit is what a fresh device reads (School.SpoofAndFarFuture).
func TestHostileSpoofAndFarFuture(t *testing.T) {
	if err := openSchool(t).SpoofAndFarFuture(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHostileClockReuse: a different op at an applied op's (device,
// clock) gets clock_reused and the first op stays; the same op again is
// answered as applied (School.ClockReuse).
func TestHostileClockReuse(t *testing.T) {
	if err := openSchool(t).ClockReuse(context.Background()); err != nil {
		t.Fatal(err)
	}
}
