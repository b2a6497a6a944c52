package protocol

import (
	"bytes"
	"compress/flate"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/vmihailenco/msgpack/v5"
)

func sampleMessages() []Message {
	sp := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	id := uuid.MustParse("01900000-0000-7000-8000-000000000002")
	node := uuid.MustParse("01900000-0000-7000-8000-000000000003")
	author := uuid.MustParse("01900000-0000-7000-8000-000000000004")
	ts := hlc.New(1_700_000_000_000, 1)
	rec := &record.Record{Format: 1, Space: sp, Collection: "goals", ID: id, Seq: 7,
		Fields: map[string]*record.Field{
			"description": {Version: record.Version{Value: strings.Repeat("read every night ", 60), HLC: ts, Node: node, Author: author},
				Conflicts: []record.Version{{Value: "other words", HLC: ts - 1, Node: author, Author: author}}},
			"count": {Version: record.Version{Value: int64(3), HLC: ts, Node: node, Author: author}},
		},
		Clock: []record.NodeClock{{Node: node, HLC: ts}}}
	return []Message{
		&Hello{Protocol: Version, Client: node, Token: "tok", Cursors: []Cursor{{Space: sp, Seq: 9}}},
		&Welcome{User: author, Name: "Ms. Lee", Spaces: []SpaceInfo{{ID: sp, Name: "Ana", Kind: "student", Role: "teacher", Head: 9}}, ServerTime: 1, Heartbeat: 20000},
		&Error{Code: CodeForbidden, Message: "not a member", Batch: 3},
		&Changes{Space: sp, From: 1, To: 7, Records: []*record.Record{rec}, More: true},
		&Push{Batch: 4, Ops: []record.Op{{Space: sp, Collection: "goals", ID: id, HLC: ts, Writes: []record.Write{{Name: "status", Value: "met", Base: &record.Ref{HLC: ts - 5, Node: node}}}}}},
		&Ack{Batch: 4, Results: []Result{{Seq: 8}, {Code: CodeForbidden, Message: "no"}}},
		&Ping{Time: 5},
		&Pong{Time: 5},
	}
}

func TestRoundTripEveryMessage(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", m.Type(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: round trip differs:\n got %#v\nwant %#v", m.Type(), got, m)
		}
	}
}

func TestLargeBodiesAreCompressed(t *testing.T) {
	m := sampleMessages()[3]
	raw, _ := msgpack.Marshal(m)
	b, _ := Encode(m)
	if len(b) >= len(raw)/2 {
		t.Fatalf("frame %d bytes, raw body %d: not compressed", len(b), len(raw))
	}
}

func frame(v uint, typ string, body any) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeArrayLen(3)
	_ = enc.EncodeUint(uint64(v))
	_ = enc.EncodeString(typ)
	_ = enc.Encode(body)
	return buf.Bytes()
}

func TestDecodeErrorsCarryCodes(t *testing.T) {
	var bomb bytes.Buffer
	fw, _ := flate.NewWriter(&bomb, flate.BestCompression)
	_, _ = fw.Write(make([]byte, MaxInflatedBytes+10))
	_ = fw.Close()
	cases := []struct {
		name string
		in   []byte
		want Code
	}{
		{"garbage", []byte("hello"), CodeBadFrame},
		{"empty", nil, CodeBadFrame},
		{"not an array", frame(1, "ping", nil)[1:], CodeBadFrame},
		{"future version", frame(2, "ping", map[string]any{"t": 1}), CodeUpgradeRequired},
		{"unknown type", frame(1, "launch", map[string]any{}), CodeUnknownType},
		{"wrong body type", frame(1, "push", map[string]any{"b": "not a number"}), CodeBadFrame},
		{"oversized", make([]byte, MaxFrameBytes+1), CodeTooLarge},
		{"zip bomb", frame(1, "push", bomb.Bytes()), CodeTooLarge},
		{"corrupt deflate", frame(1, "push", []byte{0xff, 0xff, 0xff}), CodeBadFrame},
		{"record from the future", frame(1, "changes", map[string]any{"r": []any{map[string]any{"f": 9}}}), CodeBadFrame},
	}
	for _, c := range cases {
		_, err := Decode(c.in)
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != c.want {
			t.Errorf("%s: got %v, want code %s", c.name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		b, _ := Encode(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err == nil {
			if _, err := Encode(m); err != nil {
				t.Fatalf("decoded message does not encode: %v", err)
			}
		}
	})
}

// TestInflateLimitIsExact: a compressed body that inflates to exactly
// MaxInflatedBytes is read; one byte more is too_large.
func TestInflateLimitIsExact(t *testing.T) {
	for _, n := range []int{MaxInflatedBytes, MaxInflatedBytes + 1} {
		// A push {b: 1, x: <padding>} of exactly n bytes; x is a key
		// decoders skip.
		pad := n - 11
		body := append([]byte{0x82, 0xa1, 'b', 0x01, 0xa1, 'x', 0xdb, byte(pad >> 24), byte(pad >> 16), byte(pad >> 8), byte(pad)}, bytes.Repeat([]byte{'a'}, pad)...)
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestCompression)
		_, _ = fw.Write(body)
		_ = fw.Close()
		m, err := Decode(frame(1, "push", z.Bytes()))
		if n == MaxInflatedBytes {
			if p, ok := m.(*Push); err != nil || !ok || p.Batch != 1 {
				t.Errorf("body of exactly the limit: got %v, %v", m, err)
			}
			continue
		}
		if pe, ok := err.(*Error); !ok || pe.Code != CodeTooLarge {
			t.Errorf("body one byte over the limit: got %v, want %s", err, CodeTooLarge)
		}
	}
}
