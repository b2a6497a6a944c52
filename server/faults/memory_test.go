package faults

import (
	"context"
	"encoding/json"
	"testing"
)

// TestMemory is the memory figure at 200 sockets (the soak runs 1,000):
// readers, then slow readers that must all be cut within their bound.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory figure skipped in -short")
	}
	res, err := Memory(context.Background(), t.TempDir(), 200, seeded(t), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if res.SlowCut < res.Clients {
		t.Errorf("%d slow readers cut, want %d", res.SlowCut, res.Clients)
	}
	line, _ := json.Marshal(res)
	t.Logf("%s", line)
}
