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
