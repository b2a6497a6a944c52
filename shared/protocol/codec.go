package protocol

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/plansync/plansync/shared/wire"
)

// Frame limits. A frame is one WebSocket binary message.
const (
	// MaxFrameBytes is the largest frame either side accepts, as sent on
	// the wire. The server sets it as the socket's read limit, so an
	// oversized frame is refused before it is read into memory.
	MaxFrameBytes = 1 << 20
	// MaxInflatedBytes bounds a compressed body once inflated; inflating
	// stops there, so a small "zip bomb" frame costs at most this much.
	MaxInflatedBytes = 8 << 20
	// CompressAbove is the body size from which Encode deflates: below it
	// the deflate header costs more than it saves.
	CompressAbove = 512
	// MaxHelloFrameBytes is the largest frame read before a session is
	// authenticated (DecodeHello). A hello is a token (43 bytes), a client
	// id and a cursor per space the user belongs to (24 to 32 bytes
	// each), and is never compressed: 64 KiB holds about 2,000 cursors, a
	// school admin who is a member of every student's plan in a large
	// school, while an unauthenticated socket can make the server read
	// only that much, decoded within its budget.
	MaxHelloFrameBytes = 64 << 10
	// DecodeBudgetPerByte is what decoding may allocate per byte of body
	// (inflated, when compressed): the Reader refuses past it. The densest
	// legitimate body, MaxOpsPerPush ops of MaxWritesPerOp one-letter
	// fields each set to a small integer (a 64-byte Write per 7 encoded
	// bytes), is charged between 6 and 8 bytes per byte (refused at 6,
	// admitted at 8: TestDecodeBudgetAdmitsDensePush); 10 leaves it room,
	// and with the inflate buffer (2 per byte) keeps a frame under 16 per
	// inflated byte in all, where bodies of minimal elements cost up to 71
	// before (TestDecodeAllocationBudget).
	DecodeBudgetPerByte = 10
	// DecodeBudgetBase is allowed every frame on top of the per-byte
	// budget, for small frames dense in structs: an Ack of MaxOpsPerPush
	// results of one committed seq each ({q: n}, 4 bytes) decodes to
	// 48-byte Results, 12 per byte, 24 KB in all. A fixed 64 KiB does not
	// grow with the frame, so a bomb still gets the per-byte rate.
	DecodeBudgetBase = 64 << 10
)

// decodeSlots bounds how many frames inflate and decode at once in this
// process, to its cores: decoding is CPU work that gains nothing from
// running more of it at once than there are cores, and each in flight
// holds up to MaxInflatedBytes plus its budget. A reader waiting for a
// slot is not reading its socket, so its peer is held back by TCP.
var decodeSlots = make(chan struct{}, DecodeConcurrency())

// DecodeConcurrency is how many frames may decode at once: GOMAXPROCS
// when the process starts (the cores the runtime will use), at least 1.
func DecodeConcurrency() int { return max(runtime.GOMAXPROCS(0), 1) }

// A frame is the msgpack array [FrameVersion, type, body]. The body is the
// message as a msgpack map, or that map deflated (RFC 1951) and carried as
// msgpack bin: prose compresses about four times, which is the difference
// between a page of a plan and four on a prepaid data plan.

// framePool reuses encoding buffers: a frame is built in one, and only the
// finished frame is copied out.
var framePool = sync.Pool{New: func() any { return new(wire.Writer) }}

// Encode turns a message into one frame. The body is written straight
// after the header in one pooled buffer; only a body worth compressing is
// replaced by its deflated form.
func Encode(m Message) ([]byte, error) {
	out := framePool.Get().(*wire.Writer)
	defer framePool.Put(out)
	out.Reset()
	out.ArrayLen(3)
	out.Uint(FrameVersion)
	out.String(string(m.Type()))
	head := len(out.Bytes())
	m.EncodeWire(out)
	if err := out.Err(); err != nil {
		return nil, fmt.Errorf("protocol: encode %s: %w", m.Type(), err)
	}
	body := out.Bytes()[head:]
	// A hello is never compressed: the server reads nothing compressed
	// before the sender has proved who it is (DecodeHello).
	if len(body) < CompressAbove || m.Type() == THello {
		return bytes.Clone(out.Bytes()), nil
	}
	z, err := deflate(body)
	if err != nil {
		return nil, err
	}
	if z != nil && len(z) < len(body) {
		out.Truncate(head)
		out.Bin(z)
	}
	return bytes.Clone(out.Bytes()), nil
}

// MustEncode encodes messages that cannot fail to encode (no values of
// unsupported types); it exists for the server's own replies.
func MustEncode(m Message) []byte {
	b, err := Encode(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Decode reads one frame. Every failure is an *Error with the code to send
// back: CodeTooLarge (the frame, its inflated body or what decoding it would
// allocate is over its limit), CodeUpgradeRequired (a frame version from the
// future), CodeUnknownType, or CodeBadFrame. It never panics on any input.
func Decode(b []byte) (Message, error) {
	return decode(b, MaxFrameBytes, MaxInflatedBytes, nil)
}

// DecodeClient is Decode for the server reading a client's frame after
// hello: the body of a type clients never send (welcome, changes, ack,
// error) is not decoded at all, and the message comes back empty, so that
// the server can refuse it by type without building what it carries.
func DecodeClient(b []byte) (Message, error) {
	return decode(b, MaxFrameBytes, MaxInflatedBytes, func(t Type) bool {
		return t == TPush || t == TPing || t == TPong || t == THello
	})
}

// DecodeHello reads the first frame of a session, before the peer has
// proved who it is: only a Hello, of at most MaxHelloFrameBytes, and when
// compressed (clients before this rule deflated hellos of 512 bytes or
// more, about 15 spaces) inflated to at most MaxHelloFrameBytes too. Any
// other type is refused with CodeBadRequest from the frame's header,
// before its body is inflated or decoded.
func DecodeHello(b []byte) (*Hello, error) {
	if len(b) > MaxHelloFrameBytes {
		return nil, Errorf(CodeTooLarge, fmt.Sprintf("first frame of %d bytes, limit %d before hello", len(b), MaxHelloFrameBytes))
	}
	_, t, err := header(b)
	if err != nil {
		return nil, err
	}
	if Type(t) != THello {
		return nil, Errorf(CodeBadRequest, fmt.Sprintf("%s before hello: say hello first", truncate(t)))
	}
	m, err := decode(b, MaxHelloFrameBytes, MaxHelloFrameBytes, nil)
	if err != nil {
		return nil, err
	}
	return m.(*Hello), nil
}

// header reads a frame's [version, type, and leaves dec on the body.
func header(b []byte) (dec *wire.Reader, t string, err error) {
	dec, err = wire.NewReader(b) // a shape walk: allocates nothing
	if err != nil {
		return nil, "", Errorf(CodeBadFrame, err.Error())
	}
	n, err := dec.ArrayLen()
	if err != nil || n != 3 {
		return nil, "", Errorf(CodeBadFrame, "a frame is [version, type, body]")
	}
	v, err := dec.Uint()
	if err != nil || v == 0 {
		return nil, "", Errorf(CodeBadFrame, "frame version missing")
	}
	if v > FrameVersion {
		return nil, "", Errorf(CodeUpgradeRequired, fmt.Sprintf("frame version %d is newer than this build speaks (%d): upgrade required", v, FrameVersion))
	}
	p, err := dec.RawBin() // no copy: only compared and truncated
	if err != nil {
		return nil, "", Errorf(CodeBadFrame, "frame type missing")
	}
	if len(dec.Rest()) == 0 {
		return nil, "", Errorf(CodeBadFrame, "frame body missing")
	}
	return dec, string(p), nil
}

// decode reads a frame of at most limit bytes whose body inflates to at
// most inflateLimit; with read set, only the bodies of the types it
// accepts are decoded.
func decode(b []byte, limit, inflateLimit int, read func(Type) bool) (Message, error) {
	if len(b) > limit {
		return nil, Errorf(CodeTooLarge, fmt.Sprintf("frame of %d bytes, limit %d", len(b), limit))
	}
	dec, t, err := header(b)
	if err != nil {
		return nil, err
	}
	m := newMessage(Type(t))
	if m == nil {
		return nil, Errorf(CodeUnknownType, fmt.Sprintf("unknown message type %q", truncate(t)))
	}
	if read != nil && !read(Type(t)) {
		return m, nil
	}
	decodeSlots <- struct{}{}
	defer func() { <-decodeSlots }()
	if dec.PeekBin() {
		z, err := dec.RawBin()
		if err != nil {
			return nil, Errorf(CodeBadFrame, "compressed body unreadable")
		}
		body, err := inflate(z, inflateLimit)
		if err != nil {
			return nil, err
		}
		inner, err := wire.NewReader(body) // shape-checks the inflated body
		if err == nil {
			dec = inner
		} else {
			return nil, bodyErr(m, t, err)
		}
	}
	dec.SetBudget(DecodeBudgetBase + DecodeBudgetPerByte*len(dec.Rest()))
	err = m.DecodeWire(dec)
	if err == nil && len(dec.Rest()) > 0 {
		err = fmt.Errorf("%d bytes left after the body", len(dec.Rest()))
	}
	if err != nil {
		return nil, bodyErr(m, t, err)
	}
	if c, ok := m.(*Changes); ok {
		for i := range c.Patches {
			if err := c.Patches[i].Op.Normalize(); err != nil {
				return nil, Errorf(CodeBadFrame, "changes: patch: "+err.Error())
			}
		}
		for _, r := range c.Records {
			if r == nil {
				return nil, Errorf(CodeBadFrame, "changes: empty record")
			}
			if err := r.Check(); err != nil {
				return nil, Errorf(CodeBadFrame, err.Error())
			}
		}
	}
	return m, nil
}

// bodyErr is the *Error for a body that failed to decode: CodeTooLarge for
// one over a count or the allocation budget (with the push's batch when
// it was read, so that the client can match the refusal to its push),
// CodeBadFrame otherwise.
func bodyErr(m Message, t string, err error) error {
	if errors.Is(err, wire.ErrTooMany) || errors.Is(err, wire.ErrBudget) {
		e := Errorf(CodeTooLarge, fmt.Sprintf("%s body: %v", t, err))
		if p, ok := m.(*Push); ok && errors.Is(err, wire.ErrTooMany) {
			e.Batch = p.Batch
		}
		return e
	}
	return Errorf(CodeBadFrame, fmt.Sprintf("%s body: %v", t, err))
}

// inflatePool reuses decompressors: each holds a 32 KiB window and Huffman
// tables, and a client in a busy space inflates a frame per change, so
// allocating one per frame made most of a reader's garbage (measured in
// the w3 fan-out benchmark).
var inflatePool = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

func inflate(z []byte, limit int) ([]byte, error) {
	r := inflatePool.Get().(io.ReadCloser)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(z), nil); err != nil {
		return nil, Errorf(CodeBadFrame, "compressed body corrupt: "+err.Error())
	}
	defer func() {
		// Drop the reference to z before pooling.
		_ = r.(flate.Resetter).Reset(bytes.NewReader(nil), nil)
		inflatePool.Put(r)
	}()
	// Grow by doubling but never past the limit, so a bomb allocates about
	// twice the limit in all rather than the four times a bytes.Buffer's
	// growth costs.
	// The first size is the limit halved until near four times the input,
	// so that doubling lands on the limit exactly.
	size := limit
	for size/2 >= max(4*len(z), 4<<10) {
		size /= 2
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				// Full: one more byte means the body is too large.
				var one [1]byte
				n, err := io.ReadFull(r, one[:])
				if n > 0 {
					return nil, Errorf(CodeTooLarge, fmt.Sprintf("compressed body inflates past %d bytes", limit))
				}
				if err != io.EOF {
					return nil, Errorf(CodeBadFrame, "compressed body corrupt: "+err.Error())
				}
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, Errorf(CodeBadFrame, "compressed body corrupt: "+err.Error())
		}
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
