package hub_test

import (
	"strings"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// TestDeviceIDsBelongToTheirSession: a family member saying hello with the
// teacher's device id is refused with device_taken before any op is read,
// the teacher keeps syncing under it, and a member minting device ids meets
// device_limit.
func TestDeviceIDsBelongToTheirSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{MaxDevicesPerUser: 3})
	teacher, ttok := e.user("Teacher")
	family, ftok := e.user("Family")
	sp := e.space("Plan", server.KindGeneral, teacher, family)
	tc := e.connect("teacher", ttok)
	fc := e.connect("family", ftok)
	checkSync(t, tc, fc, sp.ID)

	spoof := e.dial("spoof", nil)
	spoof.id = tc.id
	spoof.send(&protocol.Hello{Protocol: protocol.Version, Client: tc.id, Token: ftok})
	if e := spoof.expectFatal(protocol.CodeDeviceTaken); e == nil {
		t.Fatal("no device_taken")
	}
	checkSync(t, tc, fc, sp.ID)
	checkSync(t, fc, tc, sp.ID)

	// The family already holds one id; two more fit, the fourth is refused.
	for i := range 2 {
		c := e.connect("family device", ftok)
		if c.id == uuid.Nil {
			t.Fatalf("device %d", i)
		}
	}
	over := e.dial("one too many", nil)
	over.send(&protocol.Hello{Protocol: protocol.Version, Client: over.id, Token: ftok})
	over.expectFatal(protocol.CodeDeviceLimit)
	// The ids it holds still work.
	again := e.dial("family again", nil)
	again.id = fc.id
	again.hello(ftok)
}

// TestQuotaRefusalIsNamed: an op past the plan's storage quota gets
// quota_exceeded in its ack, the connection stays, and the plan's other
// members still read what was stored.
func TestQuotaRefusalIsNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{}, func(c *app.Config) { c.Store.SpaceQuota = 16 << 10 })
	ana, atok := e.user("Ana")
	bo, btok := e.user("Bo")
	sp := e.space("Plan", server.KindGeneral, ana, bo)
	a := e.connect("ana", atok)
	b := e.connect("bo", btok)
	var code protocol.Code
	for i := range 20 {
		ack, _ := a.ack(a.push(a.op(sp.ID, "notes", map[string]any{"text": strings.Repeat("a", 2<<10)})))
		if c := ack.Results[0].Code; c != "" {
			code = c
			if i < 4 {
				t.Fatalf("refused after %d notes of 2 KiB in a 16 KiB plan", i)
			}
			break
		}
	}
	if code != protocol.CodeQuota {
		t.Fatalf("refusal %q, want %q", code, protocol.CodeQuota)
	}
	head, err := e.a.Store.Head(e.ctx, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.syncTo(sp.ID, head)
}
