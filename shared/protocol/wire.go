package protocol

import (
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// The msgpack form of every message, written field by field (package wire
// says why). Keys are the short names in the msgpack struct tags, in field
// order, optional ones left out when empty.

// EncodeWire writes {s, q}.
func (c *Cursor) EncodeWire(w *wire.Writer) {
	w.MapLen(2)
	w.String("s")
	c.Space.EncodeWire(w)
	w.String("q")
	w.Uint(c.Seq)
}

// DecodeWire reads what EncodeWire writes.
func (c *Cursor) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "s":
			return c.Space.DecodeWire(r)
		case "q":
			c.Seq, err = r.Uint()
			return err
		}
		return r.Skip()
	})
}

// EncodeWire writes {p, c, t, u?}.
func (m *Hello) EncodeWire(w *wire.Writer) {
	n := 3
	if len(m.Cursors) > 0 {
		n++
	}
	w.MapLen(n)
	w.String("p")
	w.Int(int64(m.Protocol))
	w.String("c")
	m.Client.EncodeWire(w)
	w.String("t")
	w.String(m.Token)
	if len(m.Cursors) > 0 {
		w.String("u")
		wire.WriteArray(w, m.Cursors)
	}
}

// DecodeWire reads what EncodeWire writes.
func (m *Hello) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "p":
			var p int64
			p, err = r.Int()
			m.Protocol = int(p)
		case "c":
			err = m.Client.DecodeWire(r)
		case "t":
			m.Token, err = r.String()
		case "u":
			err = wire.ReadArray(r, &m.Cursors)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {i, n, r}.
func (mi *MemberInfo) EncodeWire(w *wire.Writer) {
	w.MapLen(3)
	w.String("i")
	mi.ID.EncodeWire(w)
	w.String("n")
	w.String(mi.Name)
	w.String("r")
	w.String(mi.Role)
}

// DecodeWire reads what EncodeWire writes.
func (mi *MemberInfo) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "i":
			err = mi.ID.DecodeWire(r)
		case "n":
			mi.Name, err = r.String()
		case "r":
			mi.Role, err = r.String()
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {i, n, k, r, q, m?}.
func (s *SpaceInfo) EncodeWire(w *wire.Writer) {
	n := 5
	if len(s.Members) > 0 {
		n++
	}
	w.MapLen(n)
	w.String("i")
	s.ID.EncodeWire(w)
	w.String("n")
	w.String(s.Name)
	w.String("k")
	w.String(s.Kind)
	w.String("r")
	w.String(s.Role)
	w.String("q")
	w.Uint(s.Head)
	if len(s.Members) > 0 {
		w.String("m")
		wire.WriteArray(w, s.Members)
	}
}

// DecodeWire reads what EncodeWire writes.
func (s *SpaceInfo) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "i":
			err = s.ID.DecodeWire(r)
		case "n":
			s.Name, err = r.String()
		case "k":
			s.Kind, err = r.String()
		case "r":
			s.Role, err = r.String()
		case "q":
			s.Head, err = r.Uint()
		case "m":
			err = wire.ReadArray(r, &s.Members)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {u, n, s, t, hb, in?}.
func (m *Welcome) EncodeWire(w *wire.Writer) {
	n := 5
	if m.Incarnation != uuid.Nil {
		n++
	}
	w.MapLen(n)
	w.String("u")
	m.User.EncodeWire(w)
	w.String("n")
	w.String(m.Name)
	w.String("s")
	wire.WriteArray(w, m.Spaces)
	w.String("t")
	w.Int(m.ServerTime)
	w.String("hb")
	w.Int(m.Heartbeat)
	if m.Incarnation != uuid.Nil {
		w.String("in")
		m.Incarnation.EncodeWire(w)
	}
}

// DecodeWire reads what EncodeWire writes.
func (m *Welcome) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "u":
			err = m.User.DecodeWire(r)
		case "n":
			m.Name, err = r.String()
		case "s":
			err = wire.ReadArray(r, &m.Spaces)
		case "t":
			m.ServerTime, err = r.Int()
		case "hb":
			m.Heartbeat, err = r.Int()
		case "in":
			err = m.Incarnation.DecodeWire(r)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {c, m, b?}.
func (e *Error) EncodeWire(w *wire.Writer) {
	n := 2
	if e.Batch != 0 {
		n++
	}
	w.MapLen(n)
	w.String("c")
	w.String(string(e.Code))
	w.String("m")
	w.String(e.Message)
	if e.Batch != 0 {
		w.String("b")
		w.Uint(e.Batch)
	}
}

// DecodeWire reads what EncodeWire writes.
func (e *Error) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "c":
			var c string
			c, err = r.String()
			e.Code = Code(c)
		case "m":
			e.Message, err = r.String()
		case "b":
			e.Batch, err = r.Uint()
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {q, o}.
func (p *Patch) EncodeWire(w *wire.Writer) {
	w.MapLen(2)
	w.String("q")
	w.Uint(p.Seq)
	w.String("o")
	p.Op.EncodeWire(w)
}

// DecodeWire reads what EncodeWire writes.
func (p *Patch) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "q":
			p.Seq, err = r.Uint()
		case "o":
			err = p.Op.DecodeWire(r)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {c, i, h, q}.
func (o *Own) EncodeWire(w *wire.Writer) {
	w.MapLen(4)
	w.String("c")
	w.String(o.Collection)
	w.String("i")
	o.ID.EncodeWire(w)
	w.String("h")
	o.HLC.EncodeWire(w)
	w.String("q")
	w.Uint(o.Seq)
}

// DecodeWire reads what EncodeWire writes.
func (o *Own) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "c":
			o.Collection, err = r.String()
		case "i":
			err = o.ID.DecodeWire(r)
		case "h":
			err = o.HLC.DecodeWire(r)
		case "q":
			o.Seq, err = r.Uint()
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {s, f, t, r, m?, o?, p?}.
func (m *Changes) EncodeWire(w *wire.Writer) {
	n := 4
	for _, present := range []bool{m.More, len(m.Own) > 0, len(m.Patches) > 0} {
		if present {
			n++
		}
	}
	w.MapLen(n)
	w.String("s")
	m.Space.EncodeWire(w)
	w.String("f")
	w.Uint(m.From)
	w.String("t")
	w.Uint(m.To)
	w.String("r")
	if m.Records == nil {
		w.Nil()
	} else {
		w.ArrayLen(len(m.Records))
		for _, rec := range m.Records {
			rec.EncodeWire(w)
		}
	}
	if m.More {
		w.String("m")
		w.Bool(true)
	}
	if len(m.Own) > 0 {
		w.String("o")
		wire.WriteArray(w, m.Own)
	}
	if len(m.Patches) > 0 {
		w.String("p")
		wire.WriteArray(w, m.Patches)
	}
}

// DecodeWire reads what EncodeWire writes. A nil record stays nil (Decode
// refuses it).
func (m *Changes) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "s":
			err = m.Space.DecodeWire(r)
		case "f":
			m.From, err = r.Uint()
		case "t":
			m.To, err = r.Uint()
		case "r":
			err = r.Array(func(i, n int) error {
				if i < 0 {
					m.Records = make([]*record.Record, n)
					return nil
				}
				if r.TryNil() {
					return nil
				}
				m.Records[i] = new(record.Record)
				return m.Records[i].DecodeWire(r)
			})
		case "m":
			m.More, err = r.Bool()
		case "o":
			err = wire.ReadArray(r, &m.Own)
		case "p":
			err = wire.ReadArray(r, &m.Patches)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {b, o}.
func (m *Push) EncodeWire(w *wire.Writer) {
	w.MapLen(2)
	w.String("b")
	w.Uint(m.Batch)
	w.String("o")
	wire.WriteArray(w, m.Ops)
}

// DecodeWire reads what EncodeWire writes.
func (m *Push) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "b":
			m.Batch, err = r.Uint()
		case "o":
			// Refused from the array's header, before a slice of 10,000
			// ops is made: the server would refuse the push anyway.
			err = wire.ReadArrayMax(r, &m.Ops, MaxOpsPerPush)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {q?, c?, m?, h?}.
func (res *Result) EncodeWire(w *wire.Writer) {
	n := 0
	for _, present := range []bool{res.Seq != 0, res.Code != "", res.Message != "", res.Clock != 0} {
		if present {
			n++
		}
	}
	w.MapLen(n)
	if res.Seq != 0 {
		w.String("q")
		w.Uint(res.Seq)
	}
	if res.Code != "" {
		w.String("c")
		w.String(string(res.Code))
	}
	if res.Message != "" {
		w.String("m")
		w.String(res.Message)
	}
	if res.Clock != 0 {
		w.String("h")
		res.Clock.EncodeWire(w)
	}
}

// DecodeWire reads what EncodeWire writes.
func (res *Result) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "q":
			res.Seq, err = r.Uint()
		case "c":
			var c string
			c, err = r.String()
			res.Code = Code(c)
		case "m":
			res.Message, err = r.String()
		case "h":
			err = res.Clock.DecodeWire(r)
		default:
			err = r.Skip()
		}
		return err
	})
}

// EncodeWire writes {b, r}.
func (m *Ack) EncodeWire(w *wire.Writer) {
	w.MapLen(2)
	w.String("b")
	w.Uint(m.Batch)
	w.String("r")
	wire.WriteArray(w, m.Results)
}

// DecodeWire reads what EncodeWire writes.
func (m *Ack) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) (err error) {
		switch k {
		case "b":
			m.Batch, err = r.Uint()
		case "r":
			err = wire.ReadArray(r, &m.Results)
		default:
			err = r.Skip()
		}
		return err
	})
}

func writeTime(w *wire.Writer, t int64) {
	w.MapLen(1)
	w.String("t")
	w.Int(t)
}

func readTime(r *wire.Reader, t *int64) error {
	return r.Map(func(k string) (err error) {
		if k == "t" {
			*t, err = r.Int()
			return err
		}
		return r.Skip()
	})
}

// EncodeWire writes {t}.
func (m *Ping) EncodeWire(w *wire.Writer) { writeTime(w, m.Time) }

// DecodeWire reads what EncodeWire writes.
func (m *Ping) DecodeWire(r *wire.Reader) error { return readTime(r, &m.Time) }

// EncodeWire writes {t}.
func (m *Pong) EncodeWire(w *wire.Writer) { writeTime(w, m.Time) }

// DecodeWire reads what EncodeWire writes.
func (m *Pong) DecodeWire(r *wire.Reader) error { return readTime(r, &m.Time) }
