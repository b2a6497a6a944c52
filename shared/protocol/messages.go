// Package protocol is the sync protocol between a client and the server:
// its messages, error codes and frame codec. PROTOCOL.md beside this package
// describes the conversation; this package is its single source of truth.
package protocol

import (
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// Version is the protocol version a client announces in Hello. The server
// answers any other version with CodeUpgradeRequired, so an old app tells
// its user to reload instead of misreading frames.
const Version = 1

// FrameVersion is the format version carried by every frame. Decoders refuse
// frames newer than they know.
const FrameVersion = 1

// Type names a message on the wire.
type Type string

// Message types, client to server (Hello, Push, Ping) and server to client.
const (
	THello   Type = "hello"
	TWelcome Type = "welcome"
	TError   Type = "error"
	TChanges Type = "changes"
	TPush    Type = "push"
	TAck     Type = "ack"
	TPing    Type = "ping"
	TPong    Type = "pong"
)

// Message is any protocol message; each encodes itself (see wire.go).
type Message interface {
	Type() Type
	wire.Encoder
	wire.Decoder
}

// Cursor is how far a client has the changes of one space: every change with
// a sequence number at or below Seq.
type Cursor struct {
	Space uuid.UUID `msgpack:"s"`
	Seq   uint64    `msgpack:"q"`
}

// Hello opens a session. The token travels here, inside the socket, never in
// the URL (URLs end up in logs and browser history).
type Hello struct {
	Protocol int       `msgpack:"p"`
	Client   uuid.UUID `msgpack:"c"` // the device; stamps Op.Node
	Token    string    `msgpack:"t"`
	Cursors  []Cursor  `msgpack:"u,omitempty"`
}

// SpaceInfo is a space the user belongs to and their role in it.
type SpaceInfo struct {
	ID   uuid.UUID `msgpack:"i"`
	Name string    `msgpack:"n"`
	Kind string    `msgpack:"k"`
	Role string    `msgpack:"r"`
	Head uint64    `msgpack:"q"` // the space's latest sequence number
	// Members names the people of a student's plan, so that an app can say
	// "You and Ms. Lee both changed this goal" even offline. Empty for
	// other kinds of space, whose member lists can be long.
	Members []MemberInfo `msgpack:"m,omitempty"`
}

// MemberInfo is a member of a space as other members see them.
type MemberInfo struct {
	ID   uuid.UUID `msgpack:"i"`
	Name string    `msgpack:"n"`
	Role string    `msgpack:"r"`
}

// Welcome accepts a Hello. The server then sends Changes for every space
// past the client's cursor, and live changes after that.
type Welcome struct {
	User       uuid.UUID   `msgpack:"u"`
	Name       string      `msgpack:"n"`
	Spaces     []SpaceInfo `msgpack:"s"`
	ServerTime int64       `msgpack:"t"`  // Unix milliseconds
	Heartbeat  int64       `msgpack:"hb"` // milliseconds between expected pings
	// Incarnation identifies the server's database: new when it was
	// created and new on every restore from a backup, after which sequence
	// numbers (and so the client's cursors) mean something else. A client
	// that sees it differ from the one it last saw re-reads its spaces from
	// cursor 0. Nil (left out) means unknown: an older server; it must not
	// trigger a re-read.
	Incarnation uuid.UUID `msgpack:"in,omitempty"`
}

// Error reports a problem. With Batch set it refers to that push; a fatal
// error is followed by the server closing the connection.
type Error struct {
	Code    Code   `msgpack:"c"`
	Message string `msgpack:"m"`
	Batch   uint64 `msgpack:"b,omitempty"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Changes carries the records of one space that changed in (From, To]. A
// record appears once, in its newest state. More says another page follows
// (the client is still catching up); after the last page the client holds
// the whole space up to To.
type Changes struct {
	Space   uuid.UUID        `msgpack:"s"`
	From    uint64           `msgpack:"f"`
	To      uint64           `msgpack:"t"`
	Records []*record.Record `msgpack:"r"`
	More    bool             `msgpack:"m,omitempty"`
	// Own lists records changed in (From, To] by exactly one op, which
	// this client sent: rather than echo the record, the server says
	// which of the client's ops made it, and the client applies that op
	// to its copy (which is current up to From) to get the same record.
	Own []Own `msgpack:"o,omitempty"`
	// Patches lists records changed in (From, To] by exactly one op, sent
	// as that op (stamped with its device and author) rather than as the
	// record: the client applies it to its copy with the shared merge and
	// gets the server's record. A one-field edit then costs the field's
	// bytes, not the record's.
	Patches []Patch `msgpack:"p,omitempty"`
}

// Patch is an op the server committed at Seq.
type Patch struct {
	Seq uint64    `msgpack:"q"`
	Op  record.Op `msgpack:"o"`
}

// Own says: your op with clock HLC on record (Collection, ID) was
// committed at Seq and nothing else changed that record in the frame.
type Own struct {
	Collection string        `msgpack:"c"`
	ID         uuid.UUID     `msgpack:"i"`
	HLC        hlc.Timestamp `msgpack:"h"`
	Seq        uint64        `msgpack:"q"`
}

// MaxOpsPerPush is the most ops one Push may carry; the server refuses a
// larger push whole with CodeTooLarge.
const MaxOpsPerPush = 500

// Push sends ops from the client's outbox. Batch is the client's own
// increasing number for matching the Ack.
type Push struct {
	Batch uint64      `msgpack:"b"`
	Ops   []record.Op `msgpack:"o"`
}

// Result is the fate of one op of a push: the sequence number it was
// committed at (or the record's current one when it was already applied),
// or the code it was refused with.
type Result struct {
	Seq     uint64 `msgpack:"q,omitempty"`
	Code    Code   `msgpack:"c,omitempty"`
	Message string `msgpack:"m,omitempty"`
	// Clock, with CodeClockReused, is the clock the op must be restamped
	// above (the newest the server holds from this device on the record);
	// with CodeClockAhead, the server's clock when it refused.
	Clock hlc.Timestamp `msgpack:"h,omitempty"`
}

// Ack answers a Push once every accepted op is durable on the server.
// Results are in the order of Push.Ops.
type Ack struct {
	Batch   uint64   `msgpack:"b"`
	Results []Result `msgpack:"r"`
}

// Ping is the application-level heartbeat. Browsers cannot send WebSocket
// pings, so both sides use these to find half-open connections.
type Ping struct {
	Time int64 `msgpack:"t"`
}

// Pong answers a Ping with its time.
type Pong struct {
	Time int64 `msgpack:"t"`
}

func (*Hello) Type() Type   { return THello }
func (*Welcome) Type() Type { return TWelcome }
func (*Error) Type() Type   { return TError }
func (*Changes) Type() Type { return TChanges }
func (*Push) Type() Type    { return TPush }
func (*Ack) Type() Type     { return TAck }
func (*Ping) Type() Type    { return TPing }
func (*Pong) Type() Type    { return TPong }

func newMessage(t Type) Message {
	switch t {
	case THello:
		return new(Hello)
	case TWelcome:
		return new(Welcome)
	case TError:
		return new(Error)
	case TChanges:
		return new(Changes)
	case TPush:
		return new(Push)
	case TAck:
		return new(Ack)
	case TPing:
		return new(Ping)
	case TPong:
		return new(Pong)
	}
	return nil
}
