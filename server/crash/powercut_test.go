package crash

import (
	"context"
	"testing"
	"time"
)

// TestPowerCutWithoutFsyncLosesAckedEdits is the control run: with
// durability switched off, a simulated power cut loses acked edits and the
// checker says so. It proves TestKill9's checker can fail.
func TestPowerCutWithoutFsyncLosesAckedEdits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := PowerCut(ctx, Config{Bin: serverBinary(t), Dir: t.TempDir(), Seed: seed(t), Logf: logf(t)})
	report(t, r.Result)
	if r.LostToKillOnly != 0 {
		t.Errorf("%d acked edits missing after SIGKILL alone: the page cache should have kept them", r.LostToKillOnly)
	}
	if r.OpsLost == 0 {
		t.Fatalf("the checker found no lost edit among %d acked after a power cut with fsync off: it cannot detect losses", r.OpsAcked)
	}
}
