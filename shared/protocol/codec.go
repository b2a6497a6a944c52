package protocol

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
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
)

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
	if len(body) < CompressAbove {
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
// back: CodeTooLarge, CodeUpgradeRequired (a frame version from the future),
// CodeUnknownType, or CodeBadFrame. It never panics on any input.
func Decode(b []byte) (Message, error) {
	if len(b) > MaxFrameBytes {
		return nil, Errorf(CodeTooLarge, fmt.Sprintf("frame of %d bytes, limit %d", len(b), MaxFrameBytes))
	}
	dec, err := wire.NewReader(b)
	if err != nil {
		return nil, Errorf(CodeBadFrame, err.Error())
	}
	n, err := dec.ArrayLen()
	if err != nil || n != 3 {
		return nil, Errorf(CodeBadFrame, "a frame is [version, type, body]")
	}
	v, err := dec.Uint()
	if err != nil || v == 0 {
		return nil, Errorf(CodeBadFrame, "frame version missing")
	}
	if v > FrameVersion {
		return nil, Errorf(CodeUpgradeRequired, fmt.Sprintf("frame version %d is newer than this build speaks (%d): upgrade required", v, FrameVersion))
	}
	t, err := dec.String()
	if err != nil {
		return nil, Errorf(CodeBadFrame, "frame type missing")
	}
	m := newMessage(Type(t))
	if m == nil {
		return nil, Errorf(CodeUnknownType, fmt.Sprintf("unknown message type %q", truncate(t)))
	}
	if len(dec.Rest()) == 0 {
		return nil, Errorf(CodeBadFrame, "frame body missing")
	}
	if dec.PeekBin() {
		z, err := dec.RawBin()
		if err != nil {
			return nil, Errorf(CodeBadFrame, "compressed body unreadable")
		}
		body, err := inflate(z)
		if err != nil {
			return nil, err
		}
		err = wire.Unmarshal(body, m) // shape-checks the inflated body
		if err != nil {
			return nil, Errorf(CodeBadFrame, fmt.Sprintf("%s body: %v", t, err))
		}
	} else {
		// The frame's shape check above covered the body: decode in place.
		err := m.DecodeWire(dec)
		if err == nil && len(dec.Rest()) > 0 {
			err = fmt.Errorf("%d bytes left after the body", len(dec.Rest()))
		}
		if err != nil {
			return nil, Errorf(CodeBadFrame, fmt.Sprintf("%s body: %v", t, err))
		}
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

// inflatePool reuses decompressors: each holds a 32 KiB window and Huffman
// tables, and a client in a busy space inflates a frame per change, so
// allocating one per frame made most of a reader's garbage (measured in
// the w3 fan-out benchmark).
var inflatePool = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

func inflate(z []byte) ([]byte, error) {
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
	size := MaxInflatedBytes
	for size/2 >= max(4*len(z), 4<<10) {
		size /= 2
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) == MaxInflatedBytes {
				// Full: one more byte means the body is too large.
				var one [1]byte
				n, err := io.ReadFull(r, one[:])
				if n > 0 {
					return nil, Errorf(CodeTooLarge, fmt.Sprintf("compressed body inflates past %d bytes", MaxInflatedBytes))
				}
				if err != io.EOF {
					return nil, Errorf(CodeBadFrame, "compressed body corrupt: "+err.Error())
				}
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*cap(buf), MaxInflatedBytes))
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
