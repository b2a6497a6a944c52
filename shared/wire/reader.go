package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

// ErrBudget is wrapped by a decoding error that stopped because the values
// read would allocate more than the Reader's budget (see SetBudget).
var ErrBudget = errors.New("decoding would allocate more than its input justifies")

// ErrTooMany is wrapped by ReadArrayMax's error for an array longer than
// its caller's limit.
var ErrTooMany = errors.New("too many elements")

// Allocation charged per element where the Reader cannot see the element's
// type: the smallest thing a slice or map element costs.
const (
	// anySize is one interface value: type word and data word.
	anySize = 16
	// mapEntryCost is one map[string]any entry: key string header (16)
	// and value (16) plus the bucket's share of tophash byte, overflow
	// pointer and load-factor slack, rounded up.
	mapEntryCost = 64
	// boxSize is a number boxed into an interface (Go allocates for
	// integers outside 0..255 and for non-zero floats).
	boxSize = 8
	// ptrSize is the least one element of r.Array's caller's slice costs.
	ptrSize = 8
	// stringSize and sliceSize are the headers a string or slice boxed
	// into an interface allocates.
	stringSize = 16
	sliceSize  = 24
	// mapHeaderSize is a map's own header (runtime.hmap, 48 bytes).
	mapHeaderSize = 48
)

// Reader reads msgpack values from a buffer that passed CheckShape (see
// Unmarshal); it still checks every bound, so no input makes it panic.
// Strings and byte slices it returns are copies: the buffer may be reused.
type Reader struct {
	b   []byte
	off int
	// budget is how many bytes decoding may still allocate, when limited.
	budget  int
	limited bool
}

// SetBudget limits what the values read from here on may allocate to n
// bytes in all: every string and byte copy, slice and map the Reader or
// ReadArray makes is charged before it is made, and a read that would pass
// the budget fails with an error wrapping ErrBudget. Without it a value
// built of minimal elements (an empty map is one byte, a decoded struct
// a hundred) makes the decoder allocate a hundred times its input.
func (r *Reader) SetBudget(n int) { r.budget, r.limited = n, true }

// Charge counts n bytes about to be allocated against the budget.
func (r *Reader) Charge(n int) error {
	if !r.limited {
		return nil
	}
	if n < 0 || n > r.budget {
		return shapeErr("%w: %d bytes more at byte %d, %d left of the budget", ErrBudget, n, r.off, r.budget)
	}
	r.budget -= n
	return nil
}

// NewReader reads b after checking its shape (one value, limits kept).
func NewReader(b []byte) (*Reader, error) {
	if err := CheckShape(b); err != nil {
		return nil, err
	}
	return &Reader{b: b}, nil
}

// Rest is what follows the values read so far.
func (r *Reader) Rest() []byte { return r.b[r.off:] }

func (r *Reader) peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, shapeErr("truncated at byte %d", r.off)
	}
	return r.b[r.off], nil
}

// PeekNil reports whether the next value is nil without reading it.
func (r *Reader) PeekNil() bool { return r.off < len(r.b) && r.b[r.off] == 0xc0 }

// PeekBin reports whether the next value is msgpack bin.
func (r *Reader) PeekBin() bool {
	c, err := r.peek()
	return err == nil && c >= 0xc4 && c <= 0xc6
}

// TryNil reads a nil if one comes next and reports whether it did.
func (r *Reader) TryNil() bool {
	if r.PeekNil() {
		r.off++
		return true
	}
	return false
}

func (r *Reader) take(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, shapeErr("%d bytes needed at byte %d, %d left", n, r.off, len(r.b)-r.off)
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *Reader) uintN(n int) (uint64, error) {
	p, err := r.take(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// number reads any msgpack integer as its two's-complement bits and whether
// it is signed and negative.
func (r *Reader) number() (bits uint64, neg bool, err error) {
	c, err := r.peek()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c <= 0x7f:
		r.off++
		return uint64(c), false, nil
	case c >= 0xe0:
		r.off++
		return uint64(int64(int8(c))), true, nil
	case c >= 0xcc && c <= 0xcf:
		r.off++
		u, err := r.uintN(1 << (c - 0xcc))
		return u, false, err
	case c >= 0xd0 && c <= 0xd3:
		r.off++
		n := 1 << (c - 0xd0)
		u, err := r.uintN(n)
		if err != nil {
			return 0, false, err
		}
		// Sign-extend from n bytes.
		shift := 64 - 8*uint(n)
		s := int64(u<<shift) >> shift
		return uint64(s), s < 0, nil
	}
	return 0, false, shapeErr("integer expected at byte %d, found 0x%02x", r.off, c)
}

// Uint reads a non-negative integer of any width; nil reads as 0.
func (r *Reader) Uint() (uint64, error) {
	if r.TryNil() {
		return 0, nil
	}
	u, neg, err := r.number()
	if err != nil {
		return 0, err
	}
	if neg {
		return 0, shapeErr("negative integer %d before byte %d where an unsigned one belongs", int64(u), r.off)
	}
	return u, nil
}

// Uint8 reads an integer that must fit in 8 bits.
func (r *Reader) Uint8() (uint8, error) {
	u, err := r.Uint()
	if err == nil && u > math.MaxUint8 {
		err = shapeErr("integer %d before byte %d does not fit 8 bits", u, r.off)
	}
	return uint8(u), err
}

// Int reads a signed integer of any width; nil reads as 0.
func (r *Reader) Int() (int64, error) {
	if r.TryNil() {
		return 0, nil
	}
	u, neg, err := r.number()
	if err != nil {
		return 0, err
	}
	if !neg && u > math.MaxInt64 {
		return 0, shapeErr("integer %d before byte %d out of range", u, r.off)
	}
	return int64(u), nil
}

// Bool reads true or false; nil reads as false.
func (r *Reader) Bool() (bool, error) {
	c, err := r.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc0, 0xc2:
		r.off++
		return false, nil
	case 0xc3:
		r.off++
		return true, nil
	}
	return false, shapeErr("bool expected at byte %d, found 0x%02x", r.off, c)
}

// strBytes reads a str or bin value's bytes, aliasing the buffer; nil reads
// as no bytes with isNil set.
func (r *Reader) strBytes() (p []byte, isNil bool, err error) {
	c, err := r.peek()
	if err != nil {
		return nil, false, err
	}
	r.off++
	var n uint64
	switch {
	case c == 0xc0:
		return nil, true, nil
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n, err = r.uintN(1)
	case c == 0xda || c == 0xc5:
		n, err = r.uintN(2)
	case c == 0xdb || c == 0xc6:
		n, err = r.uintN(4)
	default:
		r.off--
		return nil, false, shapeErr("string or bytes expected at byte %d, found 0x%02x", r.off, c)
	}
	if err != nil {
		return nil, false, err
	}
	p, err = r.take(int(n))
	return p, false, err
}

// String reads a str (or bin) value; nil reads as "".
func (r *Reader) String() (string, error) {
	p, _, err := r.strBytes()
	if err == nil {
		err = r.Charge(len(p))
	}
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// Bin reads a bin (or str) value as a copy; nil reads as a nil slice.
func (r *Reader) Bin() ([]byte, error) {
	p, isNil, err := r.strBytes()
	if err != nil || isNil {
		return nil, err
	}
	if err := r.Charge(len(p)); err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(p)), p...), nil
}

// RawBin reads a bin (or str) value without copying: the slice aliases
// the buffer and is valid as long as it is.
func (r *Reader) RawBin() ([]byte, error) {
	p, _, err := r.strBytes()
	return p, err
}

// BinTo reads a bin (or str) value of exactly len(dst) bytes into dst and
// reports false, leaving dst alone, when the value is nil.
func (r *Reader) BinTo(dst []byte) (bool, error) {
	at := r.off
	p, isNil, err := r.strBytes()
	if err != nil || isNil {
		return false, err
	}
	if len(p) != len(dst) {
		return false, shapeErr("%d bytes at byte %d, want %d", len(p), at, len(dst))
	}
	copy(dst, p)
	return true, nil
}

func (r *Reader) length(fix byte, fixMask byte, c16, c32 byte, what string) (int, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	r.off++
	var n uint64
	switch {
	case c == 0xc0:
		return -1, nil
	case c&^fixMask == fix:
		return int(c & fixMask), nil
	case c == c16:
		n, err = r.uintN(2)
	case c == c32:
		n, err = r.uintN(4)
	default:
		r.off--
		return 0, shapeErr("%s expected at byte %d, found 0x%02x", what, r.off, c)
	}
	if err != nil {
		return 0, err
	}
	// CheckShape bounds lengths by the input; this keeps the Reader safe
	// on its own.
	if n > uint64(len(r.b)-r.off) {
		return 0, shapeErr("%s of %d at byte %d exceeds the input", what, n, r.off)
	}
	return int(n), nil
}

// ArrayLen reads an array header; nil reads as -1.
func (r *Reader) ArrayLen() (int, error) { return r.length(0x90, 0x0f, 0xdc, 0xdd, "array") }

// MapLen reads a map header; nil reads as -1.
func (r *Reader) MapLen() (int, error) { return r.length(0x80, 0x0f, 0xde, 0xdf, "map") }

// Map reads a map with string keys, calling f for each key with the reader
// placed on its value; f must read that value (or Skip it). The key is only
// valid during the call: it aliases the buffer. A nil map calls f never.
func (r *Reader) Map(f func(key string) error) error {
	n, err := r.MapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		p, _, err := r.strBytes()
		if err != nil {
			return err
		}
		if err := f(unsafe.String(unsafe.SliceData(p), len(p))); err != nil {
			return err
		}
	}
	return nil
}

// Array reads an array, calling f once per element with the reader placed
// on it; n is the length, passed first with i = -1 so that f can size its
// slice. A nil array calls f never. Each element is charged against the
// budget as a pointer, the least a caller's slice spends on one.
func (r *Reader) Array(f func(i, n int) error) error {
	n, err := r.ArrayLen()
	if err != nil || n < 0 {
		return err
	}
	if err := r.Charge(n * ptrSize); err != nil {
		return err
	}
	if err := f(-1, n); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := f(i, n); err != nil {
			return err
		}
	}
	return nil
}

// Skip passes over the next value, whatever it is.
func (r *Reader) Skip() error {
	end, err := skip(r.b, r.off, 0)
	if err != nil {
		return err
	}
	r.off = end
	return nil
}

// Value reads a dynamic value: nil, bool, int64 (uint64 above the int64
// range), float32, float64, string, []byte, []any or map[string]any.
// Extension types are refused: nothing of ours writes them.
func (r *Reader) Value() (any, error) {
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == 0xc0:
		r.off++
		return nil, nil
	case c == 0xc2 || c == 0xc3:
		return r.Bool()
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		u, neg, err := r.number()
		if err != nil {
			return nil, err
		}
		if neg || u > math.MaxUint8 {
			if err := r.Charge(boxSize); err != nil {
				return nil, err
			}
		}
		if !neg && u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	case c == 0xca:
		r.off++
		u, err := r.uintN(4)
		if err == nil {
			err = r.Charge(boxSize)
		}
		return math.Float32frombits(uint32(u)), err
	case c == 0xcb:
		r.off++
		u, err := r.uintN(8)
		if err == nil {
			err = r.Charge(boxSize)
		}
		return math.Float64frombits(u), err
	case (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb):
		// Boxed, a string's header is allocated too (but not "").
		if c != 0xa0 {
			if err := r.Charge(stringSize); err != nil {
				return nil, err
			}
		}
		return r.String()
	case c >= 0xc4 && c <= 0xc6:
		if err := r.Charge(sliceSize); err != nil {
			return nil, err
		}
		return r.Bin()
	case (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd:
		// Boxed, the slice's header is allocated too.
		if err := r.Charge(sliceSize); err != nil {
			return nil, err
		}
		var out []any
		err := r.Array(func(i, n int) error {
			if i < 0 {
				// Array charged a pointer per element; an any is two words.
				if err := r.Charge(n * (anySize - ptrSize)); err != nil {
					return err
				}
				out = make([]any, n)
				return nil
			}
			v, err := r.Value()
			out[i] = v
			return err
		})
		return out, err
	case (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf:
		n, err := r.MapLen()
		if err == nil {
			err = r.Charge(mapHeaderSize + max(n, 0)*mapEntryCost)
		}
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k, err := r.String()
			if err != nil {
				return nil, err
			}
			v, err := r.Value()
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return nil, shapeErr("unsupported msgpack type 0x%02x at byte %d", c, r.off)
}

// ReadArray reads an array into a fresh slice, each element decoding
// itself; nil leaves *s alone. The slice is charged against the budget
// before it is made.
func ReadArray[T any, PT interface {
	*T
	Decoder
}](r *Reader, s *[]T) error {
	return ReadArrayMax[T, PT](r, s, MaxArrayLen)
}

// ReadArrayMax is ReadArray for an array of at most limit elements: a
// longer one is refused from its header, before anything is allocated or
// any element decoded, with an error wrapping ErrTooMany.
func ReadArrayMax[T any, PT interface {
	*T
	Decoder
}](r *Reader, s *[]T, limit int) error {
	return r.Array(func(i, n int) error {
		if i < 0 {
			if n > limit {
				return shapeErr("%w: array of %d at byte %d, limit %d", ErrTooMany, n, r.off, limit)
			}
			var zero T
			// Array charged a pointer per element.
			if err := r.Charge(n * max(int(unsafe.Sizeof(zero))-ptrSize, 0)); err != nil {
				return err
			}
			*s = make([]T, n)
			return nil
		}
		return PT(&(*s)[i]).DecodeWire(r)
	})
}
