package faults

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/plansync/plansync/server/crash"
)

// seeded returns a rand seeded from PLANSYNC_SEED or fresh, and logs the
// seed so a failure replays.
func seeded(t testing.TB) *rand.Rand {
	t.Helper()
	seed, err := crash.SeedFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d (replay with %s=%d)", seed, crash.SeedEnv, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// TestNetworkFaults runs every network-fault scenario: each ends with every
// client converged on the server's store with nothing lost, and with a
// resume that downloads well below a full sync.
func TestNetworkFaults(t *testing.T) {
	for _, sc := range Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			rng := seeded(t)
			res, err := sc.Run(context.Background(), t.TempDir(), rng, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v, %d records, resume %d B of full %d B (%d missing)", res.Scenario, res.Duration.Round(1e6), res.Records, res.ResumeBytes, res.FullBytes, res.Missing)
		})
	}
}
