package wire

// Differential tests: the hand-written codec against the msgpack library it
// replaces (github.com/vmihailenco/msgpack/v5), which stays the oracle of
// what the bytes must be. The package doc claims that Writer.Value writes
// exactly what the library writes with UseCompactInts(true) and sorted map
// keys, and that Reader.Value reads whatever the library writes, minimal
// forms or not. These tests fail on any difference.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// libEncode encodes v with the library: compact integers and sorted map
// keys when canonical, the library's defaults (fixed-width integers of the
// Go type's width, map keys in Go's random order) otherwise.
func libEncode(t testing.TB, v any, canonical bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(canonical)
	enc.SetSortMapKeys(canonical)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("library cannot encode %s: %v", describe(v), err)
	}
	return buf.Bytes()
}

// libDecode decodes b with the library into an interface value.
func libDecode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := msgpack.Unmarshal(b, &v); err != nil {
		t.Fatalf("library cannot decode % x: %v", head(b), err)
	}
	return v
}

// expectOf is what Reader.Value must return for a value Writer.Value
// wrote: every integer as int64, except a uint64 above the int64 range,
// which stays uint64; floats keep their width; nil slices and maps are nil.
func expectOf(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return expectOf(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return x
		}
		return int64(x)
	case []byte:
		if x == nil {
			return nil
		}
		return x
	case []any:
		if x == nil {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expectOf(e)
		}
		return out
	case map[string]any:
		if x == nil {
			return nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = expectOf(e)
		}
		return out
	}
	return v
}

// sameValue compares decoded values strictly: identical dynamic types,
// floats bit for bit (so -0 differs from 0 and NaN equals the same NaN),
// nil distinct from an empty slice or map.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, string, int64, uint64:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && (x == nil) == (y == nil) && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !sameValue(e, f) {
				return false
			}
		}
		return true
	}
	return false // a type Reader.Value never returns
}

// describe renders a value for failure messages, long strings and byte
// slices abbreviated and the whole cut to a readable length.
func describe(v any) string {
	s := render(v)
	if len(s) > 1500 {
		s = s[:1500] + "…"
	}
	return s
}

func render(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			return fmt.Sprintf("string(len %d, %q…)", len(x), x[:20])
		}
		return fmt.Sprintf("%q", x)
	case []byte:
		if x == nil {
			return "[]byte(nil)"
		}
		if len(x) > 20 {
			return fmt.Sprintf("[]byte(len %d, %x…)", len(x), x[:10])
		}
		return fmt.Sprintf("[]byte{%x}", x)
	case []any:
		if x == nil {
			return "[]any(nil)"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		if x == nil {
			return "map[string]any(nil)"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%q: %s", k, render(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case float64:
		return fmt.Sprintf("float64(%v, bits %016x)", x, math.Float64bits(x))
	case float32:
		return fmt.Sprintf("float32(%v, bits %08x)", x, math.Float32bits(x))
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// head is b, cut to a readable length.
func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// firstDiff reports where two encodings part, with bytes from both.
func firstDiff(ours, lib []byte) string {
	i := 0
	for i < len(ours) && i < len(lib) && ours[i] == lib[i] {
		i++
	}
	from := max(0, i-8)
	to := func(b []byte) []byte { return b[from:min(len(b), i+24)] }
	return fmt.Sprintf("lengths ours %d, library %d; first difference at byte %d\n  ours    [%d:]: % x\n  library [%d:]: % x\n  ours (head):    %s\n  library (head): %s",
		len(ours), len(lib), i, from, to(ours), from, to(lib), hex.EncodeToString(head(ours)), hex.EncodeToString(head(lib)))
}

// Boundary values of every integer range and header width.
var (
	intBoundaries = []int64{
		0, 1, -1, -31, -32, -33, 31, 32, 100, 126, 127, 128, 255, 256,
		math.MinInt8, math.MinInt8 - 1, math.MinInt8 + 1,
		math.MaxInt16, math.MaxInt16 + 1, math.MinInt16, math.MinInt16 - 1, math.MinInt16 + 1,
		65535, 65536, -65535, -65536,
		math.MaxInt32, math.MaxInt32 - 1, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1, math.MinInt32 + 1,
		math.MaxUint32, math.MaxUint32 + 1, -math.MaxUint32, -math.MaxUint32 - 1,
		math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1,
	}
	uintBoundaries = []uint64{
		math.MaxInt64 + 1, math.MaxInt64 + 2, math.MaxUint64 - 1, math.MaxUint64, 1<<63 | 1<<32,
	}
	floatBoundaries = []float64{
		0, math.Copysign(0, -1), 1, -1, 3, 3.0, -3, 0.5, 1.5, 1e300, -1e-300,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 1 << 53, 1<<53 + 2, 127, 128, 65536,
		float64(math.MaxInt64), float64(math.MinInt64),
	}
	float32Boundaries = []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, 3, 0.25, -2.5,
		math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 16777216,
	}
	// Lengths around every header width of str, bin, array and map; the
	// 64 KiB ones only where noted, to keep the test small.
	shortLens = []int{0, 1, 15, 16, 17, 30, 31, 32, 33, 254, 255, 256, 257}
	longLens  = []int{65534, 65535, 65536, 65537}
)

// genString returns a string of n bytes: ASCII, multi-byte UTF-8 or
// arbitrary bytes (msgpack does not care whether str is UTF-8).
func genString(rng *rand.Rand, n int) string {
	b := make([]byte, 0, n)
	switch rng.IntN(4) {
	case 0: // arbitrary bytes
		for len(b) < n {
			b = append(b, byte(rng.UintN(256)))
		}
	case 1: // multi-byte UTF-8, padded with ASCII to exactly n bytes
		for len(b) < n {
			r := []rune("éß中🙂")[rng.IntN(4)]
			s := string(r)
			if len(b)+len(s) > n {
				s = "x"
			}
			b = append(b, s...)
		}
	default:
		for len(b) < n {
			b = append(b, byte('a'+rng.IntN(26)))
		}
	}
	return string(b)
}

// genKey returns a map key from a small alphabet, so keys often share
// prefixes and differ in case: the sort order matters.
func genKey(rng *rand.Rand) string {
	keys := []string{"", "a", "A", "ab", "aB", "b", "ba", "z", "Z", "_", "0", "10", "9", "é", "\x00", "\xff", "title", "titles", "due", "done"}
	if rng.IntN(3) == 0 {
		return genString(rng, rng.IntN(40))
	}
	return keys[rng.IntN(len(keys))]
}

// genInt returns an int64 of a random magnitude (every width equally
// likely) or a boundary.
func genInt(rng *rand.Rand) int64 {
	if rng.IntN(3) == 0 {
		return intBoundaries[rng.IntN(len(intBoundaries))]
	}
	bits := rng.IntN(64)
	n := int64(rng.Uint64() >> (63 - bits) >> 1)
	if rng.IntN(2) == 0 {
		n = -n - 1
	}
	return n
}

func genFloat64(rng *rand.Rand) float64 {
	switch rng.IntN(4) {
	case 0:
		return floatBoundaries[rng.IntN(len(floatBoundaries))]
	case 1:
		return float64(genInt(rng) % 100000) // whole numbers
	case 2:
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
	}
	return math.Float64frombits(rng.Uint64()) // anything, NaN payloads included
}

func genFloat32(rng *rand.Rand) float32 {
	switch rng.IntN(3) {
	case 0:
		return float32Boundaries[rng.IntN(len(float32Boundaries))]
	case 1:
		return float32(rng.IntN(2001) - 1000)
	}
	return math.Float32frombits(rng.Uint32())
}

// genLen returns a length near a header boundary, or a small one.
func genLen(rng *rand.Rand) int {
	if rng.IntN(2) == 0 {
		return shortLens[rng.IntN(len(shortLens))]
	}
	return rng.IntN(12)
}

// valueGen makes random dynamic values; big counts 64 KiB strings and
// byte slices so that the whole run stays small.
type valueGen struct {
	rng *rand.Rand
	big int
}

func (g *valueGen) length() int {
	if g.big > 0 && g.rng.IntN(150) == 0 {
		g.big--
		return longLens[g.rng.IntN(len(longLens))]
	}
	return genLen(g.rng)
}

// scalar returns a random non-container value, of the types Writer.Value
// takes.
func (g *valueGen) scalar() any {
	rng := g.rng
	switch rng.IntN(20) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2, 3, 4:
		return genInt(rng)
	case 5:
		return uintBoundaries[rng.IntN(len(uintBoundaries))]
	case 6:
		return rng.Uint64() | 1<<63
	case 7: // other integer kinds
		n := genInt(rng)
		switch rng.IntN(9) {
		case 0:
			return int(n)
		case 1:
			return int8(n)
		case 2:
			return int16(n)
		case 3:
			return int32(n)
		case 4:
			return uint(n)
		case 5:
			return uint8(n)
		case 6:
			return uint16(n)
		case 7:
			return uint32(n)
		}
		return uint64(n)
	case 8, 9:
		return genFloat64(rng)
	case 10:
		return genFloat32(rng)
	case 11, 12, 13:
		return genString(rng, g.length())
	case 14:
		if rng.IntN(8) == 0 {
			return []byte(nil)
		}
		b := make([]byte, g.length())
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	case 15:
		if rng.IntN(2) == 0 {
			return []any(nil)
		}
		return map[string]any(nil)
	}
	return genString(rng, rng.IntN(8))
}

// value returns a random value nested at most depth more levels.
func (g *valueGen) value(depth int) any {
	rng := g.rng
	if depth == 0 || rng.IntN(3) != 0 {
		return g.scalar()
	}
	n := rng.IntN(6)
	if rng.IntN(6) == 0 {
		n = 14 + rng.IntN(4) // around the fixarray/fixmap limit of 15
	}
	if rng.IntN(2) == 0 {
		a := make([]any, n)
		for i := range a {
			a[i] = g.value(depth - 1)
		}
		return a
	}
	m := make(map[string]any, n)
	for range n {
		m[genKey(rng)] = g.value(depth - 1)
	}
	return m
}

// checkValue is the oracle for one value: our bytes equal the library's
// canonical bytes; our decoder reads them back as expected; the library
// reads our bytes as the same value; our decoder reads the library's
// non-canonical bytes of the value as the same value.
func checkValue(t *testing.T, name string, v any) {
	t.Helper()
	want := expectOf(v)
	ours, err := MarshalValue(v)
	if err != nil {
		t.Fatalf("%s: MarshalValue(%s): %v", name, describe(v), err)
	}
	lib := libEncode(t, v, true)
	if !bytes.Equal(ours, lib) {
		t.Fatalf("%s: MarshalValue(%s) differs from the library:\n%s", name, describe(v), firstDiff(ours, lib))
	}
	got, err := UnmarshalValue(ours)
	if err != nil {
		t.Fatalf("%s: UnmarshalValue of %s (% x): %v", name, describe(v), head(ours), err)
	}
	if !sameValue(got, want) {
		t.Fatalf("%s: round trip of %s gave %s", name, describe(want), describe(got))
	}
	if back := expectOf(libDecode(t, ours)); !sameValue(back, want) {
		t.Fatalf("%s: the library reads our bytes of %s as %s", name, describe(want), describe(back))
	}
	loose := libEncode(t, v, false)
	got, err = UnmarshalValue(loose)
	if err != nil {
		t.Fatalf("%s: UnmarshalValue of the library's fixed-width encoding of %s (% x): %v", name, describe(v), head(loose), err)
	}
	if !sameValue(got, want) {
		t.Fatalf("%s: the library's fixed-width encoding of %s (% x) decodes as %s", name, describe(want), head(loose), describe(got))
	}
}

func TestOracleBoundaryValues(t *testing.T) {
	var cases []any
	for _, n := range intBoundaries {
		cases = append(cases, n, int(n), int8(n), int16(n), int32(n), uint8(n), uint16(n), uint32(n))
		if n >= 0 {
			cases = append(cases, uint64(n), uint(n))
		}
	}
	for _, u := range uintBoundaries {
		cases = append(cases, u, uint(u))
	}
	for _, f := range floatBoundaries {
		cases = append(cases, f)
	}
	for _, f := range float32Boundaries {
		cases = append(cases, f)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range append(append([]int(nil), shortLens...), longLens...) {
		cases = append(cases, genString(rng, n), strings.Repeat("é", n/2), bytes.Repeat([]byte{0xc1}, n))
	}
	cases = append(cases,
		nil, true, false, "", []byte{}, []byte(nil), []any(nil), map[string]any(nil),
		[]any{}, map[string]any{}, []any{nil}, map[string]any{"": nil},
		[]any{[]any{[]any{[]any{int64(1)}}}},
		map[string]any{"b": int64(1), "a": int64(2), "B": int64(3), "": int64(4), "aa": []any{}, "é": map[string]any{"y": 1.5, "x": float32(2)}},
	)
	for _, n := range []int{15, 16, 17, 65535, 65536} {
		a := make([]any, n)
		m := make(map[string]any, n)
		for i := range n {
			a[i] = int64(i)
			m[fmt.Sprintf("k%d", n-i)] = int64(i)
		}
		cases = append(cases, a, m)
	}
	for i, v := range cases {
		name := fmt.Sprintf("case %d", i)
		if a, ok := v.([]any); ok && len(a) > MaxArrayLen {
			checkBytesOnly(t, name, v) // past the decoder's shape limits
			continue
		}
		if m, ok := v.(map[string]any); ok && len(m) > MaxMapLen {
			checkBytesOnly(t, name, v)
			continue
		}
		checkValue(t, name, v)
	}
}

// checkBytesOnly takes a value too big for our decoder's shape limits: our
// writer must refuse it (it never writes what the reader refuses), and the
// decoder must refuse the library's encoding of it rather than misread it.
func checkBytesOnly(t *testing.T, name string, v any) {
	t.Helper()
	if _, err := MarshalValue(v); !errors.Is(err, ErrShape) {
		t.Fatalf("%s: MarshalValue(%d items) error %v, want ErrShape", name, lenOf(v), err)
	}
	if _, err := UnmarshalValue(libEncode(t, v, true)); err == nil {
		t.Fatalf("%s: %d items accepted past the shape limits", name, lenOf(v))
	}
}

func lenOf(v any) int {
	switch x := v.(type) {
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return -1
}

func TestOracleRandomValues(t *testing.T) {
	g := &valueGen{rng: rand.New(rand.NewPCG(20240601, 1)), big: 12}
	for i := range 2000 {
		checkValue(t, fmt.Sprintf("value %d", i), g.value(4))
	}
}

// TestOracleRandomValuesLibraryDecoded feeds our decoder bytes the library
// wrote of values the library itself produced by decoding (so int8, uint16,
// ... in interfaces, as the server's stored records hold them).
func TestOracleRandomValuesLibraryDecoded(t *testing.T) {
	g := &valueGen{rng: rand.New(rand.NewPCG(99, 3)), big: 4}
	for i := range 500 {
		v := g.value(4)
		libV := libDecode(t, libEncode(t, v, false))
		checkValue(t, fmt.Sprintf("library value %d", i), libV)
	}
}

// TestOracleNonMinimalHeaders: every integer width, string and binary
// header the library (or another msgpack writer) can produce for a small
// value, read by Reader's typed methods and by Value.
func TestOracleNonMinimalHeaders(t *testing.T) {
	type enc func(e *msgpack.Encoder) error
	libBytes := func(f enc) []byte {
		var buf bytes.Buffer
		if err := f(msgpack.NewEncoder(&buf)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	reader := func(b []byte) *Reader {
		r, err := NewReader(b)
		if err != nil {
			t.Fatalf("% x: %v", b, err)
		}
		return r
	}
	done := func(name string, r *Reader) {
		if len(r.Rest()) != 0 {
			t.Errorf("%s: %d bytes left unread", name, len(r.Rest()))
		}
	}

	unsigned := []struct {
		name string
		max  uint64
		f    func(e *msgpack.Encoder, n uint64) error
		code byte
	}{
		{"EncodeUint8", math.MaxUint8, func(e *msgpack.Encoder, n uint64) error { return e.EncodeUint8(uint8(n)) }, 0xcc},
		{"EncodeUint16", math.MaxUint16, func(e *msgpack.Encoder, n uint64) error { return e.EncodeUint16(uint16(n)) }, 0xcd},
		{"EncodeUint32", math.MaxUint32, func(e *msgpack.Encoder, n uint64) error { return e.EncodeUint32(uint32(n)) }, 0xce},
		{"EncodeUint64", math.MaxUint64, func(e *msgpack.Encoder, n uint64) error { return e.EncodeUint64(n) }, 0xcf},
	}
	for _, u := range unsigned {
		for _, n := range []uint64{0, 1, 5, 31, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
			if n > u.max {
				continue
			}
			b := libBytes(func(e *msgpack.Encoder) error { return u.f(e, n) })
			name := fmt.Sprintf("%s(%d) = % x", u.name, n, b)
			if b[0] != u.code {
				t.Fatalf("%s: the library did not write the fixed-width form", name)
			}
			r := reader(b)
			if got, err := r.Uint(); err != nil || got != n {
				t.Errorf("%s: Uint() = %d, %v", name, got, err)
			}
			done(name, r)
			r = reader(b)
			got, err := r.Int()
			if n > math.MaxInt64 {
				if err == nil {
					t.Errorf("%s: Int() accepted %d as %d", name, n, got)
				}
			} else if err != nil || got != int64(n) {
				t.Errorf("%s: Int() = %d, %v", name, got, err)
			} else {
				done(name, r)
			}
			if n <= math.MaxUint8 {
				r = reader(b)
				if got, err := r.Uint8(); err != nil || uint64(got) != n {
					t.Errorf("%s: Uint8() = %d, %v", name, got, err)
				}
				done(name, r)
			} else if got, err := reader(b).Uint8(); err == nil {
				t.Errorf("%s: Uint8() accepted %d as %d", name, n, got)
			}
			v, err := UnmarshalValue(b)
			if err != nil || !sameValue(v, expectOf(n)) {
				t.Errorf("%s: Value() = %s, %v", name, describe(v), err)
			}
		}
	}

	signed := []struct {
		name     string
		min, max int64
		f        func(e *msgpack.Encoder, n int64) error
		code     byte
	}{
		{"EncodeInt8", math.MinInt8, math.MaxInt8, func(e *msgpack.Encoder, n int64) error { return e.EncodeInt8(int8(n)) }, 0xd0},
		{"EncodeInt16", math.MinInt16, math.MaxInt16, func(e *msgpack.Encoder, n int64) error { return e.EncodeInt16(int16(n)) }, 0xd1},
		{"EncodeInt32", math.MinInt32, math.MaxInt32, func(e *msgpack.Encoder, n int64) error { return e.EncodeInt32(int32(n)) }, 0xd2},
		{"EncodeInt64", math.MinInt64, math.MaxInt64, func(e *msgpack.Encoder, n int64) error { return e.EncodeInt64(n) }, 0xd3},
	}
	for _, s := range signed {
		for _, n := range intBoundaries {
			if n < s.min || n > s.max {
				continue
			}
			b := libBytes(func(e *msgpack.Encoder) error { return s.f(e, n) })
			name := fmt.Sprintf("%s(%d) = % x", s.name, n, b)
			if b[0] != s.code {
				t.Fatalf("%s: the library did not write the fixed-width form", name)
			}
			r := reader(b)
			if got, err := r.Int(); err != nil || got != n {
				t.Errorf("%s: Int() = %d, %v", name, got, err)
			}
			done(name, r)
			r = reader(b)
			got, err := r.Uint()
			if n < 0 {
				if err == nil {
					t.Errorf("%s: Uint() accepted %d as %d", name, n, got)
				}
			} else if err != nil || got != uint64(n) {
				t.Errorf("%s: Uint() = %d, %v", name, got, err)
			} else {
				done(name, r)
			}
			v, err := UnmarshalValue(b)
			if err != nil || !sameValue(v, n) {
				t.Errorf("%s: Value() = %s, %v", name, describe(v), err)
			}
		}
	}

	// Nil reads as zero in the typed integer readers.
	for _, f := range []func(r *Reader) (uint64, error){
		func(r *Reader) (uint64, error) { return r.Uint() },
		func(r *Reader) (uint64, error) { n, err := r.Int(); return uint64(n), err },
	} {
		r := reader([]byte{0xc0})
		if got, err := f(r); err != nil || got != 0 {
			t.Errorf("nil as integer: %d, %v", got, err)
		}
		done("nil as integer", r)
	}

	// Strings and binaries in every header width, whatever their length.
	for _, s := range []string{"", "a", "abc", strings.Repeat("x", 31)} {
		n := len(s)
		forms := map[string][]byte{
			"fixstr": append([]byte{0xa0 | byte(n)}, s...),
			"str8":   append([]byte{0xd9, byte(n)}, s...),
			"str16":  append([]byte{0xda, 0, byte(n)}, s...),
			"str32":  append([]byte{0xdb, 0, 0, 0, byte(n)}, s...),
			"bin8":   append([]byte{0xc4, byte(n)}, s...),
			"bin16":  append([]byte{0xc5, 0, byte(n)}, s...),
			"bin32":  append([]byte{0xc6, 0, 0, 0, byte(n)}, s...),
		}
		// The library writes str8 only from 32 bytes up and bin16 only from
		// 256: check it reads these forms as we do, then that we read them.
		for form, b := range forms {
			name := fmt.Sprintf("%s %q = % x", form, s, head(b))
			isBin := strings.HasPrefix(form, "bin")
			r := reader(b)
			if got, err := r.String(); err != nil || got != s {
				t.Errorf("%s: String() = %q, %v", name, got, err)
			}
			done(name, r)
			r = reader(b)
			if got, err := r.Bin(); err != nil || string(got) != s || got == nil {
				t.Errorf("%s: Bin() = %v, %v", name, got, err)
			}
			done(name, r)
			v, err := UnmarshalValue(b)
			var want any = s
			if isBin {
				want = []byte(s)
			}
			if err != nil || !sameValue(v, want) {
				t.Errorf("%s: Value() = %s, %v", name, describe(v), err)
			}
			if lib := expectOf(libDecode(t, b)); !sameValue(lib, want) {
				t.Errorf("%s: the library reads %s, we expect %s", name, describe(lib), describe(want))
			}
		}
	}
	// A UUID-sized bin16 (the library's EncodeBytesLen writes bin8 for it).
	id := bytes.Repeat([]byte{0xab}, 16)
	b := append([]byte{0xc5, 0, 16}, id...)
	var dst [16]byte
	if ok, err := reader(b).BinTo(dst[:]); !ok || err != nil || !bytes.Equal(dst[:], id) {
		t.Errorf("bin16 of 16 bytes: BinTo = %v, %v, % x", ok, err, dst)
	}

	// Arrays and maps in non-minimal header widths.
	arrays := map[string][]byte{
		"array16": {0xdc, 0, 2, 0x01, 0xa1, 'x'},
		"array32": {0xdd, 0, 0, 0, 2, 0x01, 0xa1, 'x'},
	}
	for form, b := range arrays {
		v, err := UnmarshalValue(b)
		if want := []any{int64(1), "x"}; err != nil || !sameValue(v, want) {
			t.Errorf("%s % x: Value() = %s, %v", form, b, describe(v), err)
		}
	}
	maps := map[string][]byte{
		"map16": {0xde, 0, 1, 0xa1, 'k', 0xd3, 0, 0, 0, 0, 0, 0, 0, 7},
		"map32": {0xdf, 0, 0, 0, 1, 0xd9, 1, 'k', 0xcf, 0, 0, 0, 0, 0, 0, 0, 7},
	}
	for form, b := range maps {
		v, err := UnmarshalValue(b)
		if want := map[string]any{"k": int64(7)}; err != nil || !sameValue(v, want) {
			t.Errorf("%s % x: Value() = %s, %v", form, b, describe(v), err)
		}
	}
}
