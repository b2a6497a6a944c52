package wire

import (
	"errors"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := map[string]any{"a": int64(1), "b": []any{"x", true, nil, 1.5}, "c": []byte{1, 2}}
	b, err := MarshalValue(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := UnmarshalValue(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("got %#v, want %#v", out, in)
	}
}

func TestCheckShapeRefusesLiesAboutLength(t *testing.T) {
	cases := map[string][]byte{
		"empty":             {},
		"array32 of 4G":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"map32 of 4G":       {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01},
		"str32 past end":    {0xdb, 0x00, 0x10, 0x00, 0x00, 'a'},
		"bin8 past end":     {0xc4, 0x05, 1, 2},
		"fixarray short":    {0x93, 0x01},
		"never-used byte":   {0xc1},
		"trailing bytes":    {0x01, 0x02},
		"too many elements": append([]byte{0xdd, 0x00, 0x01, 0x00, 0x00}, make([]byte, 70000)...),
	}
	for name, b := range cases {
		if err := CheckShape(b); !errors.Is(err, ErrShape) {
			t.Errorf("%s: got %v, want ErrShape", name, err)
		}
	}
	deep := make([]byte, 0, 100)
	for i := 0; i < 40; i++ {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	if err := CheckShape(deep); !errors.Is(err, ErrShape) {
		t.Errorf("deep nesting: got %v", err)
	}
}

func FuzzCheckShape(f *testing.F) {
	b, _ := MarshalValue(map[string]any{"x": []any{int64(1), "two", map[string]any{"y": 3.5}}})
	f.Add(b)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if CheckShape(b) == nil {
			_, _ = UnmarshalValue(b) // must not panic on anything CheckShape passes
		}
	})
}

// The writer refuses what the reader refuses, so no stored record or sent
// frame is one a replica cannot read back.
func TestWriterRefusesWhatReaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(w *Writer)
	}{
		{"array", func(w *Writer) { w.ArrayLen(MaxArrayLen + 1) }},
		{"map", func(w *Writer) { w.MapLen(MaxMapLen + 1) }},
	} {
		var w Writer
		tc.fn(&w)
		if !errors.Is(w.Err(), ErrShape) {
			t.Errorf("%s: writer error %v, want ErrShape", tc.name, w.Err())
		}
	}
	var w Writer
	w.ArrayLen(MaxArrayLen)
	w.MapLen(MaxMapLen)
	if w.Err() != nil {
		t.Fatalf("at the limits: %v", w.Err())
	}
}
