package wire

import (
	"errors"
	"testing"
)

// TestReaderBudget: a Reader with a budget refuses the value whose
// allocation would pass it, before making it; ReadArrayMax refuses an
// array longer than its limit from the header.
func TestReaderBudget(t *testing.T) {
	var w Writer
	w.Value([]any{"abc", "def", int64(1000)})
	for budget, ok := range map[int]bool{1000: true, 20: false} {
		r, err := NewReader(w.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		r.SetBudget(budget)
		_, err = r.Value()
		if ok != (err == nil) || (err != nil && !errors.Is(err, ErrBudget)) {
			t.Errorf("budget %d: %v", budget, err)
		}
	}
	var a Writer
	WriteArray(&a, []budgetItem{{}, {}, {}})
	r, _ := NewReader(a.Bytes())
	var got []budgetItem
	if err := ReadArrayMax(r, &got, 2); !errors.Is(err, ErrTooMany) || got != nil {
		t.Errorf("3 items, limit 2: %v, %d made", err, len(got))
	}
}

type budgetItem struct{ N uint64 }

func (b *budgetItem) EncodeWire(w *Writer) { w.Uint(b.N) }
func (b *budgetItem) DecodeWire(r *Reader) (err error) {
	b.N, err = r.Uint()
	return err
}
