package crash

import (
	"context"
	"testing"
	"time"
)

// TestKill9 kills the real server with SIGKILL at 20 random moments while
// three clients edit, restarting it on the same folder each time: no acked
// edit is lost, no op is applied twice, the log stays sound and every
// client ends seeing exactly what the server holds.
func TestKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := Run(ctx, Config{Bin: serverBinary(t), Dir: t.TempDir(), Seed: seed(t), Cycles: 20, Logf: logf(t)})
	report(t, r)
	if r.Cycles < 20 {
		t.Fatalf("%d kill cycles, want 20", r.Cycles)
	}
	if r.OpsAcked == 0 {
		t.Fatal("no edit was acked: the run proved nothing")
	}
	if r.OpsLost != 0 || r.DoubleApplied != 0 {
		t.Fatalf("%d acked edits lost, %d applied twice", r.OpsLost, r.DoubleApplied)
	}
}
