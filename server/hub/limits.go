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
	// DefaultHelloWait is how long a new connection has to say hello.
	DefaultHelloWait = 10 * time.Second
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
)
