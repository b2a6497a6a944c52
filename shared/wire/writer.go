package wire

import (
	"fmt"
	"math"
	"sort"
)

// Writer appends msgpack values to a buffer. Encoding can fail only on a
// dynamic value of a type the format does not carry; the first such error
// sticks and Marshal returns it, so EncodeWire methods need no error paths.
type Writer struct {
	buf []byte
	err error
	// depth is how deep the dynamic value being written is nested (Value),
	// so that a value the Reader would refuse as nested past MaxDepth is
	// never written. Typed encoders nest a fixed few levels, counted by
	// nobody; the values inside records are bounded far lower
	// (record.MaxValueDepth).
	depth int
}

// Reset empties the writer for reuse, keeping its buffer.
func (w *Writer) Reset() { w.buf, w.err, w.depth = w.buf[:0], nil, 0 }

// Truncate drops what was written after the first n bytes.
func (w *Writer) Truncate(n int) { w.buf = w.buf[:n] }

// Bytes is what was written so far; it aliases the writer's buffer.
func (w *Writer) Bytes() []byte { return w.buf }

// Err is the first encoding error, if any.
func (w *Writer) Err() error { return w.err }

// Fail records err unless an earlier error is already recorded.
func (w *Writer) Fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Raw appends bytes that already are one encoded msgpack value.
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Nil writes msgpack nil.
func (w *Writer) Nil() { w.buf = append(w.buf, 0xc0) }

// Bool writes true or false.
func (w *Writer) Bool(v bool) {
	if v {
		w.buf = append(w.buf, 0xc3)
	} else {
		w.buf = append(w.buf, 0xc2)
	}
}

// Uint writes n in its smallest form.
func (w *Writer) Uint(n uint64) {
	switch {
	case n <= math.MaxInt8:
		w.buf = append(w.buf, byte(n))
	case n <= math.MaxUint8:
		w.buf = append(w.buf, 0xcc, byte(n))
	case n <= math.MaxUint16:
		w.buf = append(w.buf, 0xcd, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		w.head32(0xce, uint32(n))
	default:
		w.head64(0xcf, n)
	}
}

// Int writes n in its smallest form; non-negative numbers as Uint does.
func (w *Writer) Int(n int64) {
	switch {
	case n >= 0:
		w.Uint(uint64(n))
	case n >= -32:
		w.buf = append(w.buf, byte(n))
	case n >= math.MinInt8:
		w.buf = append(w.buf, 0xd0, byte(n))
	case n >= math.MinInt16:
		w.buf = append(w.buf, 0xd1, byte(n>>8), byte(n))
	case n >= math.MinInt32:
		w.head32(0xd2, uint32(n))
	default:
		w.head64(0xd3, uint64(n))
	}
}

// Float32 writes a 4-byte float.
func (w *Writer) Float32(f float32) { w.head32(0xca, math.Float32bits(f)) }

// Float64 writes an 8-byte float, even for whole numbers (see the package
// doc).
func (w *Writer) Float64(f float64) { w.head64(0xcb, math.Float64bits(f)) }

// String writes s as msgpack str.
func (w *Writer) String(s string) {
	w.lenHead(len(s), 0xa0, 32, 0xd9, 0xda, 0xdb)
	w.buf = append(w.buf, s...)
}

// Bin writes b as msgpack bin; a nil slice is written as nil.
func (w *Writer) Bin(b []byte) {
	if b == nil {
		w.Nil()
		return
	}
	w.lenHead(len(b), 0, 0, 0xc4, 0xc5, 0xc6)
	w.buf = append(w.buf, b...)
}

// ArrayLen starts an array of n elements. Past MaxArrayLen it fails the
// writer: bytes our own Reader would refuse are never written, so nothing
// can be stored or sent that a replica then cannot read back.
func (w *Writer) ArrayLen(n int) {
	if n > MaxArrayLen {
		w.Fail(shapeErr("writing an array of %d elements, limit %d", n, MaxArrayLen))
	}
	w.lenHead(n, 0x90, 16, 0, 0xdc, 0xdd)
}

// MapLen starts a map of n entries; past MaxMapLen it fails the writer
// (see ArrayLen).
func (w *Writer) MapLen(n int) {
	if n > MaxMapLen {
		w.Fail(shapeErr("writing a map of %d entries, limit %d", n, MaxMapLen))
	}
	w.lenHead(n, 0x80, 16, 0, 0xde, 0xdf)
}

// lenHead writes a length in the smallest header the type has: fixed (when
// fixMax > 0 and n < fixMax), 8-bit (when c8 != 0), 16-bit or 32-bit.
func (w *Writer) lenHead(n int, fix byte, fixMax int, c8, c16, c32 byte) {
	switch {
	case n < fixMax:
		w.buf = append(w.buf, fix|byte(n))
	case c8 != 0 && n <= math.MaxUint8:
		w.buf = append(w.buf, c8, byte(n))
	case n <= math.MaxUint16:
		w.buf = append(w.buf, c16, byte(n>>8), byte(n))
	default:
		w.head32(c32, uint32(n))
	}
}

func (w *Writer) head32(c byte, n uint32) {
	w.buf = append(w.buf, c, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (w *Writer) head64(c byte, n uint64) {
	w.buf = append(w.buf, c, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Value writes a dynamic value: nil, bool, any integer or float type,
// string, []byte, []any and map[string]any of those. Map keys are written
// sorted. Any other type fails the writer.
func (w *Writer) Value(v any) {
	switch x := v.(type) {
	case nil:
		w.Nil()
	case bool:
		w.Bool(x)
	case string:
		w.String(x)
	case []byte:
		w.Bin(x)
	case int64:
		w.Int(x)
	case int:
		w.Int(int64(x))
	case int8:
		w.Int(int64(x))
	case int16:
		w.Int(int64(x))
	case int32:
		w.Int(int64(x))
	case uint64:
		w.Uint(x)
	case uint:
		w.Uint(uint64(x))
	case uint8:
		w.Uint(uint64(x))
	case uint16:
		w.Uint(uint64(x))
	case uint32:
		w.Uint(uint64(x))
	case float64:
		w.Float64(x)
	case float32:
		w.Float32(x)
	case []any:
		if x == nil {
			w.Nil()
			return
		}
		if !w.nest() {
			return
		}
		w.ArrayLen(len(x))
		for _, e := range x {
			w.Value(e)
		}
		w.depth--
	case map[string]any:
		if x == nil {
			w.Nil()
			return
		}
		if !w.nest() {
			return
		}
		w.MapLen(len(x))
		for _, k := range SortedKeys(x) {
			w.String(k)
			w.Value(x[k])
		}
		w.depth--
	default:
		w.Fail(fmt.Errorf("wire: cannot encode a value of type %T", v))
		w.Nil()
	}
}

// nest enters one more level of a dynamic value, or fails the writer (and
// writes nil in its place) when the Reader would refuse that level.
func (w *Writer) nest() bool {
	if w.depth >= MaxDepth {
		w.Fail(shapeErr("writing a value nested deeper than %d", MaxDepth))
		w.Nil()
		return false
	}
	w.depth++
	return true
}

// SortedKeys returns m's keys in increasing order, for writing maps whose
// bytes must not depend on Go's map iteration order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WriteArray writes s as an array of its elements' own encodings, a nil
// slice as nil (what the msgpack library writes for both).
func WriteArray[T any, PT interface {
	*T
	Encoder
}](w *Writer, s []T) {
	if s == nil {
		w.Nil()
		return
	}
	w.ArrayLen(len(s))
	for i := range s {
		PT(&s[i]).EncodeWire(w)
	}
}
