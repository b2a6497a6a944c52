// Package wire is the msgpack codec of everything the browser and the
// server exchange: a Writer and a Reader that types under shared/ (and the
// client's stored state) use to encode themselves field by field, and a
// shape check that runs before any decode so that no length declared by the
// input can make the decoder allocate more than the input justifies.
//
// Why by hand, when github.com/vmihailenco/msgpack/v5 is our msgpack
// library: it is built on reflection, and in the browser build it cost
// 480 KB of the wasm (its own code, and the reflection, tag parsing and
// time parsing it keeps linked), the difference between meeting the 4.5 MB
// / 0.9 MB budget and missing it on a prepaid phone. The types that cross
// to the browser are few and fixed, so each writes its fields here in a
// few lines; as a bonus a push of 500 ops encodes 1.8 times and decodes 2.7
// times as fast (go test -bench in shared/protocol). The bytes are the
// ones the library writes with compact integers (oracle_test.go encodes
// random values both ways and compares), the library still encodes the
// server's own storage types, and decoders still read every golden file of
// format v1. A type that crosses to the browser must implement Encoder and
// Decoder; the compiler refuses anything else.
//
// Conventions every encoded byte follows: a struct is a map keyed by the
// short names in its msgpack tags, in field order, empty optional fields
// left out; integers take their smallest form; floats keep their float
// form (msgpack's compact floats would turn 3.0 into the integer 3, so a
// device rebuilding its own edit from memory would disagree in type with
// what the server stores); map keys of dynamic values are written sorted,
// so equal values encode to equal bytes.
package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Shape limits: no legitimate frame or record comes near them.
const (
	MaxDepth    = 32     // nesting of arrays and maps
	MaxArrayLen = 10_000 // elements in one array (a page of records, a batch of ops)
	MaxMapLen   = 1_024  // entries in one map
)

// ErrShape is wrapped by every CheckShape and decoding error.
var ErrShape = errors.New("malformed msgpack")

// Encoder is a type that writes itself as one msgpack value.
type Encoder interface{ EncodeWire(w *Writer) }

// Decoder is a type that reads itself from one msgpack value.
type Decoder interface{ DecodeWire(r *Reader) error }

var writerPool = sync.Pool{New: func() any { return new(Writer) }}

// Marshal encodes v. The returned slice is v's own; the Writer it was built
// in goes back to a pool, so steady encoding allocates one slice per value.
func Marshal(v Encoder) ([]byte, error) {
	w := writerPool.Get().(*Writer)
	defer writerPool.Put(w)
	w.Reset()
	v.EncodeWire(w)
	if w.err != nil {
		return nil, w.err
	}
	return bytes.Clone(w.buf), nil
}

// Unmarshal checks b's shape, then decodes it into v. Every byte decoded may
// come from a hostile peer or a damaged disk, so every failure is an error
// wrapping ErrShape, never a panic.
func Unmarshal(b []byte, v Decoder) error {
	if err := CheckShape(b); err != nil {
		return err
	}
	r := Reader{b: b}
	if err := v.DecodeWire(&r); err != nil {
		return err
	}
	if r.off != len(b) {
		return shapeErr("%d bytes left after the value", len(b)-r.off)
	}
	return nil
}

// MarshalValue encodes one dynamic value (see Writer.Value).
func MarshalValue(v any) ([]byte, error) {
	var w Writer
	w.Value(v)
	return w.buf, w.err
}

// UnmarshalValue decodes one dynamic value (see Reader.Value).
func UnmarshalValue(b []byte) (any, error) {
	if err := CheckShape(b); err != nil {
		return nil, err
	}
	r := Reader{b: b}
	return r.Value()
}

// CheckShape walks b as exactly one msgpack value and fails if any declared
// length runs past the end of b, exceeds the limits above, or the value is
// followed by trailing bytes. It allocates nothing.
func CheckShape(b []byte) error {
	n, err := skip(b, 0, 0)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrShape, len(b)-n)
	}
	return nil
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrShape}, args...)...)
}

// skip returns the offset just past the value starting at off.
func skip(b []byte, off, depth int) (int, error) {
	if off >= len(b) {
		return 0, shapeErr("truncated at byte %d", off)
	}
	c := b[off]
	off++
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return off, nil
	case c >= 0x80 && c <= 0x8f:
		return skipItems(b, off, int(c&0x0f), 2, depth)
	case c >= 0x90 && c <= 0x9f:
		return skipItems(b, off, int(c&0x0f), 1, depth)
	case c >= 0xa0 && c <= 0xbf:
		return skipBytes(b, off, int(c&0x1f))
	}
	switch c {
	case 0xc4, 0xd9: // bin8, str8
		n, off, err := readLen(b, off, 1)
		if err != nil {
			return 0, err
		}
		return skipBytes(b, off, n)
	case 0xc5, 0xda:
		n, off, err := readLen(b, off, 2)
		if err != nil {
			return 0, err
		}
		return skipBytes(b, off, n)
	case 0xc6, 0xdb:
		n, off, err := readLen(b, off, 4)
		if err != nil {
			return 0, err
		}
		return skipBytes(b, off, n)
	case 0xc7, 0xc8, 0xc9: // ext8/16/32: length, type byte, data
		w := map[byte]int{0xc7: 1, 0xc8: 2, 0xc9: 4}[c]
		n, off, err := readLen(b, off, w)
		if err != nil {
			return 0, err
		}
		return skipBytes(b, off, n+1)
	case 0xca:
		return skipBytes(b, off, 4)
	case 0xcb:
		return skipBytes(b, off, 8)
	case 0xcc, 0xd0:
		return skipBytes(b, off, 1)
	case 0xcd, 0xd1:
		return skipBytes(b, off, 2)
	case 0xce, 0xd2:
		return skipBytes(b, off, 4)
	case 0xcf, 0xd3:
		return skipBytes(b, off, 8)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1,2,4,8,16 plus type byte
		return skipBytes(b, off, 1+(1<<(c-0xd4)))
	case 0xdc, 0xdd:
		w := 2
		if c == 0xdd {
			w = 4
		}
		n, off, err := readLen(b, off, w)
		if err != nil {
			return 0, err
		}
		return skipItems(b, off, n, 1, depth)
	case 0xde, 0xdf:
		w := 2
		if c == 0xdf {
			w = 4
		}
		n, off, err := readLen(b, off, w)
		if err != nil {
			return 0, err
		}
		return skipItems(b, off, n, 2, depth)
	}
	return 0, shapeErr("invalid type byte 0x%02x at %d", c, off-1)
}

func readLen(b []byte, off, width int) (int, int, error) {
	if len(b)-off < width {
		return 0, 0, shapeErr("truncated length at byte %d", off)
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(b[off])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b[off:]))
	case 4:
		n = uint64(binary.BigEndian.Uint32(b[off:]))
	}
	if n > uint64(len(b)) {
		return 0, 0, shapeErr("length %d at byte %d exceeds the input", n, off)
	}
	return int(n), off + width, nil
}

func skipBytes(b []byte, off, n int) (int, error) {
	if n < 0 || len(b)-off < n {
		return 0, shapeErr("%d bytes declared at byte %d, %d left", n, off, len(b)-off)
	}
	return off + n, nil
}

func skipItems(b []byte, off, n, per, depth int) (int, error) {
	if depth >= MaxDepth {
		return 0, shapeErr("nested deeper than %d", MaxDepth)
	}
	if per == 2 && n > MaxMapLen {
		return 0, shapeErr("map of %d entries, limit %d", n, MaxMapLen)
	}
	if per == 1 && n > MaxArrayLen {
		return 0, shapeErr("array of %d elements, limit %d", n, MaxArrayLen)
	}
	if n*per > len(b)-off { // every item takes at least one byte
		return 0, shapeErr("%d items declared at byte %d, %d bytes left", n*per, off, len(b)-off)
	}
	var err error
	for i := 0; i < n*per; i++ {
		if off, err = skip(b, off, depth+1); err != nil {
			return 0, err
		}
	}
	return off, nil
}
