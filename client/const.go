package client

import "time"

// Defaults for Options. Each can be overridden; zero means the default.
const (
	// DefaultBackoffBase is the ceiling of the first reconnect delay. The
	// ceiling doubles on every failed attempt up to DefaultBackoffMax, and the
	// actual delay is drawn uniformly below it ("full jitter"), so a
	// classroom of phones coming back online does not reconnect in lockstep.
	DefaultBackoffBase = 250 * time.Millisecond
	// DefaultBackoffMax caps the reconnect delay: a device that was offline
	// for a week should still notice the network within half a minute.
	DefaultBackoffMax = 30 * time.Second
	// DefaultHealthyAfter is how long a welcomed connection must last (or
	// reach "synced") before the backoff resets: a server that welcomes and
	// then drops every client must not be hammered at the base delay.
	DefaultHealthyAfter = 10 * time.Second
	// DefaultDialTimeout bounds connecting and the wait for Welcome.
	DefaultDialTimeout = 20 * time.Second
	// DefaultHeartbeat is assumed when the server's Welcome names none. The
	// client pings every half heartbeat and gives the connection up after
	// two heartbeats with nothing received.
	DefaultHeartbeat = 20 * time.Second
	// DefaultPushWindow is how many pushes may wait for their ack at once.
	// One push at a time would cost a round trip per 500 ops; an unbounded
	// number would let a big offline backlog flood the server's queue.
	DefaultPushWindow = 8
)

// Limits.
const (
	// MaxOpsPerPush is the most ops one Push carries (the server refuses
	// more).
	MaxOpsPerPush = 500
	// MaxPushBytes bounds the encoded ops of one Push, below the server's
	// frame limit (protocol.MaxFrameBytes, 1 MiB) with room for the frame
	// itself; counted before compression, so it is conservative.
	MaxPushBytes = 960 << 10
	// MaxPendingOps bounds the outbox. Nobody types fifty thousand edits
	// offline; past it something is looping, and Put returns ErrOutboxFull
	// rather than growing memory and the store without end.
	MaxPendingOps = 50_000
	// MaxRejections is how many refused edits the engine remembers for the
	// UI (Rejections); older ones are dropped first.
	MaxRejections = 100
	// MaxJournalOps and MaxJournalBytes bound the journal of acked ops
	// (Store.AckPending), oldest dropped first. The journal is what a
	// device sends again when the server comes back from a backup taken
	// before those ops (a new incarnation). The server does not tell
	// clients when its backups run, so instead of trimming at a backup
	// point the journal keeps the device's most recent acked edits: 10,000
	// ops is weeks of one person's typing (a teacher's busy week is a few
	// hundred), and 2 MiB of encoded ops stays cheap to load on a phone and
	// fits one badger transaction (diskstore's Rebase). An op dropped from
	// the journal is lost only if a restore reaches back past it.
	MaxJournalOps   = 10_000
	MaxJournalBytes = 2 << 20
	// SkewTolerance is how far the device's clock may differ from the
	// server's (Welcome.ServerTime) before the engine corrects the clock
	// it stamps edits with. Below it the difference is network delay and
	// ordinary drift, which the HLC absorbs; above it a wrong device clock
	// would make this device's edits win or lose against others' unfairly,
	// and past hlc.MaxDrift the server refuses them (clock_ahead).
	SkewTolerance = time.Minute
	// maxRestamps bounds how often one connection restamps one op after
	// clock_ahead or clock_reused. One restamp is the normal case (two with
	// a reused clock behind a far-ahead one); a server that keeps refusing
	// is broken, and the connection ends (backoff) rather than spinning.
	// The op stays in the outbox either way.
	maxRestamps = 4
	// accessReconnectJitter bounds the delay before reconnecting after the
	// server closed the socket with protocol.CodeAccessChanged (or the
	// Welcome showed a new role): the close is the server's own doing, and
	// the person should see their spaces as they are now within a second,
	// whatever the backoff had grown to. The jitter spreads the person's
	// devices and tabs, which the server closes at the same moment.
	accessReconnectJitter = 250 * time.Millisecond
	// maxQuickReconnects bounds how many such prompt reconnects follow one
	// another without a healthy connection in between (a removal, then a
	// role change, then a hello that raced a change is three); past it the
	// ordinary backoff applies, so a server that closes every connection
	// this way is not hammered.
	maxQuickReconnects = 3
	// inboundQueue is how many decoded frames the connection's reader may
	// hold for the engine before it waits: enough to keep reading while a
	// page is written to the store, little enough to bound memory.
	inboundQueue = 16
	// outboundSlack is the room in the writer's queue beyond the push
	// window: hello, pongs and pings. Pushes are bounded by the window and
	// pings and pongs are dropped when the queue is full, so the engine never
	// waits on the writer.
	outboundSlack = 4
)
