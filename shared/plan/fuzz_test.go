package plan

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidateFields feeds arbitrary bytes, shaped into every kind of value a
// msgpack decoder can produce, to every field of a collection. Validation runs
// on the server against whatever a client sends, so it must never panic, must
// return only *Error with a known code, and must produce a message that is
// safe to log and show.
func FuzzValidateFields(f *testing.F) {
	f.Add("notes", "text", []byte("hello"), []byte("en"), uint16(0))
	f.Add("meetings", "proposed_times", []byte("2025-10-14T17:30:00Z"), []byte("place"), uint16(6))
	f.Add("family", "barriers", []byte("transport"), []byte("transport"), uint16(3))
	f.Add("goals", "start_date", []byte("2024-02-29"), []byte{0xff, 0x00}, uint16(9))
	f.Add("events", "_deleted", []byte("\x1b"), []byte("es-MX"), uint16(12))
	f.Add("nope", "", []byte{}, []byte{}, uint16(0xffff))

	f.Fuzz(func(t *testing.T, coll, name string, a, b []byte, sel uint16) {
		sa, sb := string(a), string(b)
		values := []any{
			sa, nil, len(a) % 2, int8(len(b)), uint64(len(a)) << 60, float64(len(a)) / 2,
			[]any{sa, sb}, []string{sb, sb}, map[string]any{"start": sa, sb: sa},
			[]any{map[string]any{"start": sa, "place": sb, "place_detail": []any{sa}}},
			[]map[string]any{{sa: sb}}, []any{[]any{sa}}, true, len(a) == 0,
		}
		pick := func(i int) any { return values[(int(sel)>>(i%8)+i)%len(values)] }
		kind := Student
		if sel&1 == 1 {
			kind = School
		}
		fields := map[string]any{name: pick(0)}
		if c, ok := Lookup(kind, coll); ok {
			for i, fd := range c.Fields {
				if (int(sel)>>(i%16))&1 == 1 {
					fields[fd.Name] = pick(i + 1)
				}
			}
		}
		for _, validate := range []func(SpaceKind, string, map[string]any) error{ValidateFields, ValidateRecord} {
			err := validate(kind, coll, fields)
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not *Error", err, err)
			}
			if !slices.Contains(allCodes, e.Code) {
				t.Fatalf("unknown code %q", e.Code)
			}
			msg := e.Error()
			if msg == "" || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x00\n\r") {
				t.Fatalf("unsafe message %q", msg)
			}
			if again := validate(kind, coll, fields); again.Error() != msg {
				t.Fatalf("not deterministic: %q then %q", msg, again)
			}
		}
	})
}

// TestDepthGuard exercises the recursion guard with a schema deeper than any
// real one, since the real schema cannot reach it.
func TestDepthGuard(t *testing.T) {
	leaf := Field{Type: TypeString, MaxLen: 10}
	deep := Field{Type: TypeList, MaxItems: 2, Elem: &Field{Type: TypeList, MaxItems: 2, Elem: &Field{
		Type: TypeList, MaxItems: 2, Elem: &leaf}}}
	err := check(&deep, []any{[]any{[]any{"x"}}}, 0)
	if err == nil || err.Code != CodeWrongType || err.Field != "[0][0]" {
		t.Fatalf("got %+v", err)
	}
	obj := Field{Type: TypeList, MaxItems: 2, Elem: &Field{Type: TypeObject, Fields: []Field{
		{Name: "o", Type: TypeObject, Fields: []Field{leaf}}}}}
	err = check(&obj, []any{map[string]any{"o": map[string]any{}}}, 0)
	if err == nil || err.Code != CodeWrongType || err.Field != "[0].o" {
		t.Fatalf("got %+v", err)
	}
	if err := check(&Field{Type: "blob"}, "x", 0); err == nil || err.Code != CodeWrongType {
		t.Fatalf("unknown field type accepted: %+v", err)
	}
}

func TestMessagesAreSafe(t *testing.T) {
	if got := clip("ééé", 3); got != "é…" {
		t.Errorf("clip split a rune: %q", got)
	}
	long := strings.Repeat("a", 65)
	if got := label(long); got != `"`+strings.Repeat("a", maxEcho)+`…"` {
		t.Errorf("label(long) = %s", got)
	}
	err := ValidateFields(Student, "goals", map[string]any{long: 1})
	if CodeOf(err) != CodeUnknownField || len(err.Error()) > 100 {
		t.Errorf("long unknown field: %v", err)
	}
	err = ValidateFields(Student, strings.Repeat("\xff", 200), nil)
	if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > 250 {
		t.Errorf("unknown collection message unsafe: %q", msg)
	}
}
