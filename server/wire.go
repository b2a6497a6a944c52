package server

import "github.com/plansync/plansync/shared/wire"

// A log entry is written on every commit, so it encodes itself field by
// field like the records it sits beside (see shared/wire), not through
// reflection.

// EncodeWire writes {f?, q, o, x?}.
func (e *LogEntry) EncodeWire(w *wire.Writer) {
	e.encode(w, func() { e.Op.EncodeWire(w) })
}

// EncodeWireOp writes what EncodeWire writes, with op, the bytes e.Op
// encodes to (wire.Marshal of it), in place of encoding e.Op again: the
// store encodes each op once, for its digest, and reuses the bytes here.
func (e *LogEntry) EncodeWireOp(w *wire.Writer, op []byte) {
	e.encode(w, func() { w.Raw(op) })
}

func (e *LogEntry) encode(w *wire.Writer, op func()) {
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
	op()
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
