package protocol

import (
	"bytes"
	"compress/flate"
	"errors"
	"reflect"
	"runtime"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// hostileFrames are frames a broken or hostile peer might send: small, but
// declaring lengths far past their size, nesting deep, compressed bodies
// that inflate past the limit, and the message kinds sampleMessages lacks.
// They seed the fuzzers and drive TestDecodeAllocationIsBoundedByInput.
func hostileFrames() map[string][]byte {
	raw := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	hdr := func(t string) []byte { // [1, t, …
		return raw([]byte{0x93, 0x01, 0xa0 | byte(len(t))}, []byte(t))
	}
	sp := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	id := uuid.MustParse("01900000-0000-7000-8000-000000000002")
	node := uuid.MustParse("01900000-0000-7000-8000-000000000003")
	ts := hlc.New(1_700_000_000_000, 1)
	op := record.Op{Space: sp, Collection: "goals", ID: id, HLC: ts, Node: node, Author: node,
		Writes: []record.Write{{Name: "title", Value: "read", Resolves: []record.Ref{{HLC: ts - 1, Node: node}}}},
		Seen:   []record.Ref{{HLC: ts - 2, Node: node}}}
	patch := MustEncode(&Changes{Space: sp, From: 3, To: 5,
		Patches: []Patch{{Seq: 4, Op: op}}, Own: []Own{{Collection: "goals", ID: id, HLC: ts, Seq: 5}}})
	bomb := func() []byte { // a body that inflates to 64 MiB of zeros
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestCompression)
		zero := make([]byte, 1<<20)
		for range 64 {
			_, _ = fw.Write(zero)
		}
		_ = fw.Close()
		var out bytes.Buffer
		enc := msgpack.NewEncoder(&out)
		_ = enc.EncodeArrayLen(3)
		_ = enc.EncodeUint(1)
		_ = enc.EncodeString("push")
		_ = enc.EncodeBytes(z.Bytes())
		return out.Bytes()
	}()
	deep := hdr("push")
	for range 40 {
		deep = append(deep, 0x91) // [[[[…
	}
	deep = append(deep, 0xc0)
	return map[string][]byte{
		"array32 of ops":     raw(hdr("push"), []byte{0x82, 0xa1, 'b', 0x01, 0xa1, 'o', 0xdd, 0x7f, 0xff, 0xff, 0xff}),
		"array16 of records": raw(hdr("changes"), []byte{0x81, 0xa1, 'r', 0xdc, 0xff, 0xff}),
		"map32 body":         raw(hdr("hello"), []byte{0xdf, 0x7f, 0xff, 0xff, 0xff}),
		"str32 token":        raw(hdr("hello"), []byte{0x81, 0xa1, 't', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'}),
		"bin32 body":         raw(hdr("push"), []byte{0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00}),
		"ext32 value":        raw(hdr("push"), []byte{0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01}),
		"str32 type":         {0x93, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff},
		"array32 frame":      {0xdd, 0x7f, 0xff, 0xff, 0xff},
		"deep nesting":       deep,
		"deflate bomb":       bomb,
		"patches and own":    patch,
		"frame version 2":    raw([]byte{0x93, 0x02, 0xa4}, []byte("ping"), []byte{0x81, 0xa1, 't', 0x01}),
		"unknown type":       raw(hdr("nope"), []byte{0x80}),
		"truncated":          patch[:len(patch)/2],
	}
}

// FuzzDecodeRoundTrip checks what FuzzDecode does not: a frame Decode
// accepts encodes again, and the re-encoded frame decodes to the same
// message, so nothing a peer can send is understood one way and relayed
// another. (Bytes are not compared: msgpack maps have no fixed order.)
func FuzzDecodeRoundTrip(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(MustEncode(m))
	}
	for name, b := range hostileFrames() {
		if name != "deflate bomb" { // inflating 8 MiB per exec slows fuzzing fifty-fold
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Decode error %T is not *Error: %v", err, err)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			return // values Decode keeps but Encode refuses are not relayed
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", m.Type(), err)
		}
		enc2, err := Encode(again)
		if err != nil {
			t.Fatalf("re-decoded %s does not encode: %v", m.Type(), err)
		}
		third, err := Decode(enc2)
		if err != nil || !reflect.DeepEqual(again, third) {
			t.Fatalf("%s does not round-trip: %v\n%#v\n%#v", m.Type(), err, again, third)
		}
	})
}

// maxAllocPerInputByte bounds what decoding may allocate per byte of input.
// Decoded values are bigger than their encoding (a one-byte string becomes a
// 16-byte header plus data; a record a map of pointers), so the bound is a
// small multiple plus a fixed allowance for the decoder's own state, not 1.
const (
	maxAllocPerInputByte = 64
	allocAllowance       = 64 << 10
)

// TestDecodeAllocationIsBoundedByInput decodes frames that declare huge
// arrays, maps, strings and binaries in a few bytes, and checks that what
// Decode allocates follows the input's size, not the declared one. The one
// allocation the input may drive past that is inflating a compressed
// body, which stops at MaxInflatedBytes; its buffer doubles on the way
// there, landing on the limit, so a 64 KiB bomb costs about twice
// MaxInflatedBytes in short-lived allocations (16.5 MB measured, down from
// 33.6 MB when it inflated into a bytes.Buffer).
func TestDecodeAllocationIsBoundedByInput(t *testing.T) {
	for name, b := range hostileFrames() {
		limit := uint64(maxAllocPerInputByte*len(b) + allocAllowance)
		if name == "deflate bomb" {
			if raceEnabled {
				continue
			}
			limit = 5 * MaxInflatedBytes / 2
		}
		got := allocated(func() { _, _ = Decode(b) })
		if got > limit {
			t.Errorf("%s: %d-byte frame allocated %d bytes decoding, limit %d", name, len(b), got, limit)
		}
		if got := allocated(func() { _, _ = wire.UnmarshalValue(b) }); got > uint64(maxAllocPerInputByte*len(b)+allocAllowance) {
			t.Errorf("%s: wire.Unmarshal allocated %d bytes for %d", name, got, len(b))
		}
	}
	if _, err := Decode(hostileFrames()["deflate bomb"]); !errors.As(err, new(*Error)) || err.(*Error).Code != CodeTooLarge {
		t.Errorf("deflate bomb: got %v, want %s", err, CodeTooLarge)
	}
}

// allocated returns the bytes f allocates, averaged over a few runs.
func allocated(f func()) uint64 {
	const runs = 4
	f() // warm pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}
