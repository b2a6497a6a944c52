package server

import "github.com/plansync/plansync/shared/wire"

// A log entry is written on every commit, so it encodes itself field by
// field like the records it sits beside (see shared/wire), not through
// reflection.

// EncodeWire writes {f?, q, o, x?}.
func (e *LogEntry) EncodeWire(w *wire.Writer) {
	n := 2
	if e.Format != 0 {
		n++
	}
	if e.Conflict {
		n++
	}
	w.MapLen(n)
	if e.Format != 0 {
		w.String("f")
		w.Uint(uint64(e.Format))
	}
	w.String("q")
	w.Uint(e.Seq)
	w.String("o")
	e.Op.EncodeWire(w)
	if e.Conflict {
		w.String("x")
		w.Bool(true)
	}
}

// DecodeWire reads what EncodeWire writes.
func (e *LogEntry) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "f":
			e.Format, err = r.Uint8()
		case "q":
			e.Seq, err = r.Uint()
		case "o":
			err = e.Op.DecodeWire(r)
		case "x":
			e.Conflict, err = r.Bool()
		default:
			err = r.Skip()
		}
		return err
	})
}
