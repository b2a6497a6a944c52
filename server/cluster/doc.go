// Package cluster runs Plansync on more than one machine: server.Store in
// cluster mode, on NATS JetStream (an embedded NATS node per plansync
// process, or a NATS cluster the operator runs). Replication and
// consensus are JetStream's (Raft); nothing here replicates or votes.
//
// # Design
//
// One replicated stream, PLANSYNC (R3, file storage), is the state. Every
// write, an op batch from a sync push or an account write (users,
// sessions, device bindings, logins, invites, memberships, settings), is
// one entry of it, appended by whichever node took the request. JetStream
// gives the entries one order. Every node consumes the whole stream in
// that order (an ordered consumer from after the last entry it applied)
// and applies each entry to its own badger folder through the very code a
// single-node server runs: store.Commit's merge, op index and quotas,
// the account writes' transactions. The same entries in the same order
// through the same deterministic code give every node the same records at
// the same per-space sequence numbers, so a client's cursor is good on any
// node and catch-up works from any of them. The badger folder is a view:
// a node's folder can be deleted and rebuilt from the stream.
//
// What could make two nodes decide differently is taken out of the
// decisions: the clock. Each entry carries its proposer's time, and the
// view's clock (store.Options.Now, see Clock) reads that time while the
// entry is applied: an op too far ahead is refused on every node or on
// none, a device binding or a burned invite carries the same time
// everywhere. Op dedupe is the op index, written by the apply, so it is
// cluster-wide and in log order: the same op sent through two nodes is
// applied once, and the second copy is answered with the first's seq.
//
// # Acks
//
// A node answers a write once JetStream acked the entry, which it does
// after a quorum of the stream's replicas stored it, and once the node
// applied it itself (the answer is that apply's result). The embedded
// node runs with sync_always: JetStream's default syncs every two
// minutes, which is not before the ack, so without it a power cut of a
// quorum could take back acked ops; with it each replica fsyncs its Raft
// log before answering the leader. (TestSyncAlways reads the option the
// running server took; a NATS cluster the operator runs must set
// `jetstream { sync_interval: always }` itself.) The badger view still
// fsyncs each group, so a restarted node resumes from its mark rather
// than from the start.
//
// Without a quorum the publish times out (DefaultProposeTimeout) and the
// write is refused with server.ErrUnavailable: the hub tells the client
// `unavailable` and the edit stays in its outbox. Such an entry may still
// reach the log later (the leader had it); it was never acked, and the
// client's retry is found applied by the op index. Reads (catch-up,
// history, the team pages) are served from the view meanwhile.
//
// JetStream's ordered consumer recovers from a lost stream leader by
// itself, usually within a second; in the rolling-restart test it once
// stayed silent for over 20 s, so the applier watches it: applying
// nothing for 2 s while the log holds more makes it start a new one from
// after what it applied (Stats.Stalls counts them).
//
// # Fan-out and revocation
//
// The view's OnCommit hook (the hub's fan-out) runs on every node as it
// applies, so a node's sockets get every write whichever node took it.
// Revocations and changes of access are applied on every node too, and
// each node's apply tells its own hub (SetHooks): a session signed out
// through one node closes its sockets on all of them within the apply
// latency (milliseconds; TestBinaryClusterAccounts).
//
// A read that finds nothing (a session, a login, an invite) asks the log
// how far it goes and waits for this node to get there before it answers
// "not found": a login through node A is found by node B at once. At
// most maxCatchUps such waits run at once, so a flood of unknown tokens
// cannot become a flood of requests to the stream leader.
//
// # Why one stream
//
// One stream gives one order for ops and account writes together, so a
// membership removed before an op is removed before it on every node, and
// the whole state is one log to back up, mirror or rebuild from. Its cost
// is that every node applies every space's writes: one stream, like one
// badger, is bounded by one machine's write rate; its subjects
// (plansync.log.ops, plansync.log.accounts) leave room to shard spaces
// over several streams later (left to do, see the README).
//
// # Restarts and what is not exact yet
//
// The mark of the last applied entry is stored in the transaction of what
// the entry writes (store.MarkNextWrite), so an entry that wrote is never
// applied twice, and one that wrote nothing is applied again after a crash
// only against the state it was decided on, so it decides the same.
// Badger's TTLs (sessions, invites) expire by each node's wall clock, so
// near an expiry two nodes can disagree for a second about whether a
// session is live.
package cluster
