package main

import (
	"log/slog"
	"os"

	"github.com/plansync/plansync/server/store"
)

// NoSyncEnv, set to 1, switches durability OFF in bench-serve: the store
// acks commits without fsyncing them (store.Options.NoSync).
//
// FOR THE CRASH HARNESS'S CONTROL RUN ONLY (server/crash, TestPowerCut*).
// It exists to prove that the harness's checker can see lost acks: with it,
// a power cut loses acknowledged edits. It is read by bench-serve alone,
// never by serve, and logs a warning at start. Never set it anywhere else.
const NoSyncEnv = "PLANSYNC_TEST_NOSYNC"

// benchStoreOptions returns the store options of bench-serve: the defaults,
// unless NoSyncEnv asks for the crash harness's control run.
func benchStoreOptions(log *slog.Logger) store.Options {
	if os.Getenv(NoSyncEnv) != "1" {
		return store.Options{}
	}
	log.Warn("DURABILITY IS OFF: acks are sent before fsync ("+NoSyncEnv+"=1, crash-test control run only); a power cut loses acknowledged edits", "env", NoSyncEnv)
	return store.Options{NoSync: true}
}
