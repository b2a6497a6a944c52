package wire

import (
	"errors"
	"testing"
)

// TestWriterRefusesWhatReaderRefusesByDepth: a dynamic value nested
// MaxDepth levels is written and read back; one more level fails the
// writer, as the Reader would refuse it.
func TestWriterRefusesWhatReaderRefusesByDepth(t *testing.T) {
	nested := func(levels int) any {
		var v any = int64(1)
		for range levels {
			v = []any{v}
		}
		return v
	}
	b, err := MarshalValue(nested(MaxDepth))
	if err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	if _, err := UnmarshalValue(b); err != nil {
		t.Fatalf("%d levels written but not read: %v", MaxDepth, err)
	}
	if _, err := MarshalValue(nested(MaxDepth + 1)); !errors.Is(err, ErrShape) {
		t.Fatalf("%d levels: %v, want a shape error", MaxDepth+1, err)
	}
	var w Writer
	w.Value(nested(MaxDepth + 1))
	w.Reset()
	w.Value(nested(MaxDepth))
	if w.Err() != nil {
		t.Fatalf("a writer reset after a failure still fails: %v", w.Err())
	}
}
