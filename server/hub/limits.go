package hub

import "time"

// Limits a connection lives within. Each is a bound a hostile or broken
// client meets; all are overridable through Options for tests.
const (
	// DefaultWriteWait is how long one frame write may take before the
	// connection is closed: a peer that accepts no bytes for this long is
	// gone or hostile.
	DefaultWriteWait = 10 * time.Second
	// DefaultPongWait is how long the connection may stay silent (no frame,
	// no pong) before it is considered half-open and closed.
	DefaultPongWait = 60 * time.Second
	// DefaultHelloDeadline is how long a new connection has, in total, to
	// say hello. Pings, pongs and frames of unknown type before hello do
	// not move it: a socket that never signs in costs a slot of the
	// address and process caps, and pinging must not let it keep one.
	DefaultHelloDeadline = 10 * time.Second
	// DefaultHeartbeat is the application-level ping interval announced in
	// Welcome, for browsers, which cannot send WebSocket pings.
	DefaultHeartbeat = 25 * time.Second

	// DefaultSendQueueFrames bounds the frames waiting to be written to one
	// connection; DefaultMaxPendingBytes bounds their bytes. Past either,
	// the connection is closed as a slow consumer: it resumes from its
	// cursor when it comes back, so nothing is lost and memory stays
	// bounded per connection. Catch-up pages fill at most a quarter of
	// either (catchUpShare): a client slow to read a big space is paced,
	// not cut off.
	DefaultSendQueueFrames = 1024
	DefaultMaxPendingBytes = 8 << 20

	// DefaultFanOutQueue bounds durable commit groups waiting to be
	// encoded and offered to connections.
	DefaultFanOutQueue = 64

	// DefaultPageBytes is the target size of one Changes page before
	// compression.
	DefaultPageBytes = 256 << 10

	// DefaultPushRate and DefaultPushBurst limit pushes per second per
	// connection. A live client pushes each edit as it is made, one op per
	// push, with up to client.DefaultPushWindow pushes awaiting their
	// acks; below its edit rate, pushes queue behind the limiter and every
	// edit waits about window/rate (8/20 s = 400 ms at the old rate of
	// 20, measured in the w3 benchmark at 50 edits per second). At 100 a
	// fast live editor passes unhindered; a flood of full pushes
	// (protocol.MaxOpsPerPush ops each) meets the store's commit
	// throughput and the connection's DefaultPushQueue before this.
	DefaultPushRate  = 100
	DefaultPushBurst = 200
	// DefaultMaxRateDelay is how long pushes over the rate may be held
	// back, summed over a run of pushes during which the bucket never
	// refilled; a client further over the limit gets rate_limited and is
	// disconnected. (Each push alone waits only 1/PushRate, so a per-push
	// bound would never be reached and a flood would only be slowed.)
	DefaultMaxRateDelay = 2 * time.Second

	// DefaultPushQueue bounds pushes read but not yet committed per
	// connection; the reader stops reading (TCP back-pressure) when full.
	DefaultPushQueue = 16
	// DefaultMaxCommitOps bounds ops one connection hands the store at once.
	DefaultMaxCommitOps = 4000

	// DefaultMaxDevicesPerUser bounds the device ids one user may hold in
	// live sessions. A person has a phone, a laptop, a school computer and
	// a few browser profiles; each device id costs every record it writes
	// a clock entry, so a member minting ids by the thousand is refused
	// with device_limit long before records grow (record.MaxRecordClock).
	DefaultMaxDevicesPerUser = 64

	// DefaultMaxConns bounds the sockets of the whole process, counting
	// those still in their handshake. An idle socket costs its four
	// goroutines and buffers (tens of KB) and every one can hold a send
	// queue: past a few thousand a 1-2 GB school server would be at risk
	// long before the soak's 1,000 clients. Checked before the upgrade
	// and answered with HTTP 429, so a refusal costs no goroutines.
	DefaultMaxConns = 8192
	// DefaultMaxConnsPerAddr bounds the sockets of one client address (an
	// IPv6 /64, see Options.ClientAddr). A whole school behind one NAT
	// shares an address: 512 covers several hundred pupils with a tab
	// each, while one stranger cannot take the process cap alone.
	DefaultMaxConnsPerAddr = 512
	// DefaultMaxConnsPerUser bounds one person's signed-in sockets: a
	// phone, a laptop, a school computer and a few tabs on each. Staff
	// who sit in every student's plan still need only one socket per
	// device, since one socket carries all of a user's spaces.
	DefaultMaxConnsPerUser = 64
	// DefaultMaxConnsPerSession bounds the sockets of one session (one
	// sign-in on one browser or app): one per open tab.
	DefaultMaxConnsPerSession = 32
	// ConnRetryAfter is the Retry-After a refused upgrade is sent, in the
	// 429 answer: long enough that a crowd of refused clients does not
	// knock again at once, short enough that a freed slot is used soon.
	ConnRetryAfter = 15 * time.Second

	// DefaultMaxQueuedBytes bounds the bytes queued for writing across
	// every connection, on top of each one's DefaultMaxPendingBytes: 8 MiB
	// times thousands of slow readers is more than a school's server has.
	// A frame queued for many members (a live change) is counted once,
	// since they share it. Over this bound, a connection that already
	// holds queuedCutFloor bytes is cut as a slow consumer when the next
	// frame is offered to it, if its queue has not been empty for
	// queuedCutAge: readers who keep up are never cut for the backlog of
	// those who do not.
	DefaultMaxQueuedBytes = 256 << 20
)

// Which connections are cut when the process is over MaxQueuedBytes:
// those holding at least queuedCutFloor bytes whose queue has not been
// empty for queuedCutAge. A reader keeping up holds one commit group's
// frames at a time (it can be hundreds of KB) and empties its queue as
// soon as the socket takes them, in well under queuedCutAge on any
// network that can sync at all. Small queues are never cut: they are not
// where the memory is.
const (
	queuedCutFloor = 64 << 10
	queuedCutAge   = 2 * time.Second
)
