package record

import (
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// The msgpack form of records and ops, written field by field (see package
// wire for why). Keys are the short names in the msgpack struct tags, in
// field order; the tags stay as the documentation of the format and so
// that tests can check these bytes against the msgpack library's.

// EncodeWire writes {h, n}.
func (ref Ref) EncodeWire(w *wire.Writer) {
	w.MapLen(2)
	w.String("h")
	ref.HLC.EncodeWire(w)
	w.String("n")
	ref.Node.EncodeWire(w)
}

// DecodeWire reads what EncodeWire writes.
func (ref *Ref) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		switch k {
		case "h":
			return ref.HLC.DecodeWire(r)
		case "n":
			return ref.Node.DecodeWire(r)
		}
		return r.Skip()
	})
}

// encodeFields writes the version's four keys; Field adds its own.
func (v *Version) encodeFields(w *wire.Writer) {
	w.String("v")
	w.Value(v.Value)
	w.String("h")
	v.HLC.EncodeWire(w)
	w.String("n")
	v.Node.EncodeWire(w)
	w.String("a")
	v.Author.EncodeWire(w)
}

// decodeField reads one of the version's keys and reports whether k was one.
func (v *Version) decodeField(r *wire.Reader, k string) (bool, error) {
	var err error
	switch k {
	case "v":
		v.Value, err = r.Value()
	case "h":
		err = v.HLC.DecodeWire(r)
	case "n":
		err = v.Node.DecodeWire(r)
	case "a":
		err = v.Author.DecodeWire(r)
	default:
		return false, nil
	}
	return true, err
}

// EncodeWire writes {v, h, n, a}.
func (v Version) EncodeWire(w *wire.Writer) {
	w.MapLen(4)
	v.encodeFields(w)
}

// DecodeWire reads what EncodeWire writes.
func (v *Version) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		if ok, err := v.decodeField(r, k); ok {
			return err
		}
		return r.Skip()
	})
}

// EncodeWire writes the version's keys inline, then c when there are
// conflicts.
func (f *Field) EncodeWire(w *wire.Writer) {
	if f == nil {
		w.Nil()
		return
	}
	n := 4
	if len(f.Conflicts) > 0 {
		n++
	}
	w.MapLen(n)
	f.Version.encodeFields(w)
	if len(f.Conflicts) > 0 {
		w.String("c")
		wire.WriteArray(w, f.Conflicts)
	}
}

// DecodeWire reads what EncodeWire writes.
func (f *Field) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		if ok, err := f.Version.decodeField(r, k); ok {
			return err
		}
		if k != "c" {
			return r.Skip()
		}
		return wire.ReadArray(r, &f.Conflicts)
	})
}

// EncodeWire writes {n, h}.
func (c NodeClock) EncodeWire(w *wire.Writer) {
	w.MapLen(2)
	w.String("n")
	c.Node.EncodeWire(w)
	w.String("h")
	c.HLC.EncodeWire(w)
}

// DecodeWire reads what EncodeWire writes.
func (c *NodeClock) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		switch k {
		case "n":
			return c.Node.DecodeWire(r)
		case "h":
			return c.HLC.DecodeWire(r)
		}
		return r.Skip()
	})
}

// EncodeWire writes {f, s, c, i, q?, d, k?}, fields sorted by name so that
// equal records encode to equal bytes.
func (rec *Record) EncodeWire(w *wire.Writer) {
	if rec == nil {
		w.Nil()
		return
	}
	n := 5
	if rec.Seq != 0 {
		n++
	}
	if len(rec.Clock) > 0 {
		n++
	}
	w.MapLen(n)
	w.String("f")
	w.Uint(uint64(rec.Format))
	w.String("s")
	rec.Space.EncodeWire(w)
	w.String("c")
	w.String(rec.Collection)
	w.String("i")
	rec.ID.EncodeWire(w)
	if rec.Seq != 0 {
		w.String("q")
		w.Uint(rec.Seq)
	}
	w.String("d")
	if rec.Fields == nil {
		w.Nil()
	} else {
		w.MapLen(len(rec.Fields))
		for _, name := range wire.SortedKeys(rec.Fields) {
			w.String(name)
			rec.Fields[name].EncodeWire(w)
		}
	}
	if len(rec.Clock) > 0 {
		w.String("k")
		wire.WriteArray(w, rec.Clock)
	}
}

// DecodeWire reads what EncodeWire writes. A nil field stays nil (Check
// refuses it).
func (rec *Record) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		var err error
		switch k {
		case "f":
			rec.Format, err = r.Uint8()
		case "s":
			err = rec.Space.DecodeWire(r)
		case "c":
			rec.Collection, err = r.String()
		case "i":
			err = rec.ID.DecodeWire(r)
		case "q":
			rec.Seq, err = r.Uint()
		case "d":
			err = rec.decodeFields(r)
		case "k":
			err = wire.ReadArray(r, &rec.Clock)
		default:
			err = r.Skip()
		}
		return err
	})
}

func (rec *Record) decodeFields(r *wire.Reader) error {
	n, err := r.MapLen()
	if err != nil || n < 0 {
		return err
	}
	rec.Fields = make(map[string]*Field, n)
	for i := 0; i < n; i++ {
		name, err := r.String()
		if err != nil {
			return err
		}
		if r.TryNil() {
			rec.Fields[name] = nil
			continue
		}
		f := new(Field)
		if err := f.DecodeWire(r); err != nil {
			return err
		}
		rec.Fields[name] = f
	}
	return nil
}

// EncodeWire writes {n, v, b?, r?}.
func (wr *Write) EncodeWire(w *wire.Writer) {
	n := 2
	if wr.Base != nil {
		n++
	}
	if len(wr.Resolves) > 0 {
		n++
	}
	if wr.BaseText != "" {
		n++
	}
	w.MapLen(n)
	w.String("n")
	w.String(wr.Name)
	w.String("v")
	w.Value(wr.Value)
	if wr.Base != nil {
		w.String("b")
		wr.Base.EncodeWire(w)
	}
	if len(wr.Resolves) > 0 {
		w.String("r")
		wire.WriteArray(w, wr.Resolves)
	}
	if wr.BaseText != "" {
		w.String("t")
		w.String(wr.BaseText)
	}
}

// DecodeWire reads what EncodeWire writes.
func (wr *Write) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		var err error
		switch k {
		case "n":
			wr.Name, err = r.String()
		case "v":
			wr.Value, err = r.Value()
		case "b":
			if r.TryNil() {
				wr.Base = nil
				return nil
			}
			wr.Base = new(Ref)
			err = wr.Base.DecodeWire(r)
		case "r":
			err = wire.ReadArray(r, &wr.Resolves)
		case "t":
			wr.BaseText, err = r.String()
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {s, c, i, h, n?, a?, w, e?}.
func (o *Op) EncodeWire(w *wire.Writer) {
	n := 5
	if o.Node != uuid.Nil {
		n++
	}
	if o.Author != uuid.Nil {
		n++
	}
	if len(o.Seen) > 0 {
		n++
	}
	w.MapLen(n)
	w.String("s")
	o.Space.EncodeWire(w)
	w.String("c")
	w.String(o.Collection)
	w.String("i")
	o.ID.EncodeWire(w)
	w.String("h")
	o.HLC.EncodeWire(w)
	if o.Node != uuid.Nil {
		w.String("n")
		o.Node.EncodeWire(w)
	}
	if o.Author != uuid.Nil {
		w.String("a")
		o.Author.EncodeWire(w)
	}
	w.String("w")
	wire.WriteArray(w, o.Writes)
	if len(o.Seen) > 0 {
		w.String("e")
		wire.WriteArray(w, o.Seen)
	}
}

// DecodeWire reads what EncodeWire writes.
func (o *Op) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		var err error
		switch k {
		case "s":
			err = o.Space.DecodeWire(r)
		case "c":
			o.Collection, err = r.String()
		case "i":
			err = o.ID.DecodeWire(r)
		case "h":
			err = o.HLC.DecodeWire(r)
		case "n":
			err = o.Node.DecodeWire(r)
		case "a":
			err = o.Author.DecodeWire(r)
		case "w":
			// Bounded from the header, before allocating: Validate
			// refuses more anyway.
			err = wire.ReadArrayMax(r, &o.Writes, MaxWritesPerOp)
		case "e":
			err = wire.ReadArrayMax(r, &o.Seen, 2*MaxWritesPerOp)
		default:
			err = r.Skip()
		}
		return err
	})
}
