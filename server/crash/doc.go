// Package crash proves that an acknowledged edit survives the server
// process dying at any moment. Its tests run the real server binary (built
// once per package run from server/cmd/plansync) as a child process in
// bench mode on 127.0.0.1 with a real badger folder, and real native
// clients (client.Engine on client/diskstore over client/wsdial).
//
// # Kill -9 (Run, Soak, TestKill9)
//
// Clients make edits continuously; each edit writes a unique value into the
// client's own field (c0, c1, ...) of one of a few shared records, so a
// value names its op and only the same client's later edit may replace it.
// The harness records every edit once Put returned (it is in the device's
// outbox) and every ack the engine processed (client.Options.OnAck). It
// kills the server with SIGKILL at seeded random moments and restarts it on
// the same folder and port. Every few kills, with no server running, the
// checker opens the folder with server/store and sorts every acked edit
// into present or lost: present when its op is in the space's log and the
// record's field holds its value (visible or among the conflicts) or a
// value a later logged op of the same device wrote. It also runs
// store.CheckLog and counts ops logged twice. At the end it stops the
// writers, lets every client sync, checks that every client sees exactly
// the server's records, that every edit made is on the server, that the
// space's head equals the number of edits (nothing applied twice, nothing
// lost) and that the log holds no op nobody made.
//
// # The control run (PowerCut, TestPowerCutWithoutFsyncLosesAckedEdits)
//
// A checker that never fails proves nothing, so a control run must make it
// fail. SIGKILL alone cannot: a killed process's writes are already in the
// kernel's page cache and reach the disk anyway (the control run verifies
// this too, LostToKillOnly). What loses acknowledged writes is a power cut
// (or kernel crash) before they were fsynced, so the control run simulates
// exactly that, on a server with durability switched off:
//
//  1. A normal, durable server start creates the bench space and users and
//     is shut down cleanly: badger syncs and closes. A copy of the folder is
//     taken: the last state known to be on disk.
//  2. The server restarts with PLANSYNC_TEST_NOSYNC=1 (bench-serve only,
//     for this test only), which sets store.Options.NoSync: the committer
//     acks without calling fsync. Clients edit until at least 100 edits are
//     acked; then the server is killed with SIGKILL.
//  3. The power cut: the folder is replaced by the copy from step 1.
//
// Step 3 is what a power cut can do to a process that never called fsync
// after its start: the disk may still hold only what was synced before, and
// every later write is lost with the page cache. It is the worst case a
// power cut allows, not a harsher one, and the run checks the condition it
// rests on: badger's own fsyncs (new tables at a memtable flush, manifest
// changes) would have changed its table, manifest or key-registry files,
// and the run fails unless those are byte-for-byte as in step 1 (only the
// write-ahead logs, which badger syncs only when asked, grew). The same
// checker then reports the acked edits as lost, and the test asserts it
// does. With durability on no such simulation is possible from outside the
// process (every group commit is a sync point), which is why the kill -9
// run uses SIGKILL: the fsync-before-ack order itself is the store's
// contract (server/store, Commit).
//
// # Other tests
//
// TestClientKilledBeforeSendingLosesNothing kills a client process holding
// unsent edits and syncs them from a new process. TestDiskFullRefusesWrites
// AndResumes fakes a full disk (store.Options.FreeSpace) in-process.
//
// Every randomized run prints its seed; PLANSYNC_SEED replays it. The seed
// fixes the schedule (kill moments, which records are edited, the pauses),
// not the interleaving of real processes.
package crash
