package uuid

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestParseAndString(t *testing.T) {
	const s = "0190b000-0000-7000-8000-00000000be00"
	u := MustParse(s)
	if u.String() != s || u.Version() != 7 || u.Variant() != RFC4122 {
		t.Fatalf("got %s v%d variant %d", u, u.Version(), u.Variant())
	}
	for _, in := range []string{"0190B000-0000-7000-8000-00000000BE00", "urn:uuid:" + s, "{" + s + "}", "0190b00000007000800000000000be00"} {
		if p, err := Parse(in); err != nil || p != u {
			t.Errorf("Parse(%q) = %v, %v", in, p, err)
		}
	}
	for _, bad := range []string{"", "nope", s[:35], s + "0", "0190b000-0000-7000-8000_00000000be00", "0190b000-0000-7000-8000-00000000be0g"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestNewV7IsOrderedAndWellFormed(t *testing.T) {
	prev := Must(NewV7())
	for i := 0; i < 20000; i++ {
		u := Must(NewV7())
		if u.Version() != 7 || u.Variant() != RFC4122 {
			t.Fatalf("%s is not a v7 UUID", u)
		}
		if string(u[:]) <= string(prev[:]) {
			t.Fatalf("%s not after %s", u, prev)
		}
		prev = u
	}
	if v4 := New(); v4.Version() != 4 || v4.Variant() != RFC4122 {
		t.Fatalf("New made %s", v4)
	}
}

func TestMsgpackIsBin16(t *testing.T) {
	u := Must(NewV7())
	b, err := msgpack.Marshal(u)
	if err != nil || len(b) != 18 || b[0] != 0xc4 || b[1] != 16 {
		t.Fatalf("encoded as %x (%v)", b, err)
	}
	var back UUID
	if err := msgpack.Unmarshal(b, &back); err != nil || back != u {
		t.Fatalf("decoded %s, %v", back, err)
	}
	short, _ := msgpack.Marshal([]byte{1, 2, 3})
	if err := msgpack.Unmarshal(short, &back); err == nil {
		t.Fatal("a 3-byte id was accepted")
	}
}
