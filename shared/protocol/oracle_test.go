package protocol

// Differential tests of every message's hand-written codec (wire.go,
// shared/record/wire.go, shared/uuid) against the msgpack library, whose
// encoding of the same structs (by their msgpack tags, compact integers,
// sorted map keys) is the format. A message must encode to the library's
// bytes exactly; where the library's bytes depend on Go's map order (a
// record with several fields) each side must decode the other's bytes to
// the original.

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// libMarshal encodes v as the format defines it: the library with compact
// integers and sorted map keys.
func libMarshal(t testing.TB, v any) []byte { return libEncode(t, v, true) }

// libEncode encodes v with the library, canonically (see libMarshal) or
// with its defaults: integers in the fixed width of their Go type, map
// keys in Go's random order, as msgpack.Marshal writes the server's own
// storage types.
func libEncode(t testing.TB, v any, canonical bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(canonical)
	enc.SetSortMapKeys(canonical)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("library cannot encode %T: %v", v, err)
	}
	return buf.Bytes()
}

// msgGen makes random messages. Everything it makes comes from rng, so
// the same seed makes an equal message: tests build the expected value
// anew instead of deep-copying.
type msgGen struct {
	rng *rand.Rand
	// multi lets records carry several fields, whose order in the
	// library's encoding is Go's random map order.
	multi bool
	// sawMulti is set when a record got two fields or more.
	sawMulti bool
	// saw counts the shapes made, to prove every case was exercised.
	saw map[string]int
}

func newMsgGen(seed uint64, multi bool, saw map[string]int) *msgGen {
	return &msgGen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), multi: multi, saw: saw}
}

func (g *msgGen) mark(shape string) {
	if g.saw != nil {
		g.saw[shape]++
	}
}

func (g *msgGen) chance(n int) bool { return g.rng.IntN(n) == 0 }

// id is a valid UUIDv7: a millisecond timestamp, version 7, RFC variant,
// random bits from rng.
func (g *msgGen) id() uuid.UUID {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(g.rng.UintN(256))
	}
	ms := 1_600_000_000_000 + g.rng.Int64N(400_000_000_000)
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u
}

// optID is an id or, one time in three, Nil (left out under omitempty).
func (g *msgGen) optID(shape string) uuid.UUID {
	if g.chance(3) {
		g.mark(shape + "=nil")
		return uuid.Nil
	}
	g.mark(shape + "=set")
	return g.id()
}

// u64 is an unsigned integer of a random width, 0 and the width
// boundaries included.
func (g *msgGen) u64() uint64 {
	switch g.rng.IntN(8) {
	case 0:
		return 0
	case 1:
		b := []uint64{1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64}
		return b[g.rng.IntN(len(b))]
	}
	return g.rng.Uint64() >> g.rng.IntN(64)
}

// i64 is a signed integer of a random width and sign.
func (g *msgGen) i64() int64 {
	switch g.rng.IntN(8) {
	case 0:
		return 0
	case 1:
		b := []int64{-1, -32, -33, 127, 128, math.MinInt8 - 1, math.MinInt16, math.MinInt16 - 1, math.MinInt32, math.MinInt32 - 1, math.MaxInt32 + 1, math.MinInt64, math.MaxInt64}
		return b[g.rng.IntN(len(b))]
	}
	n := int64(g.rng.Uint64() >> 1 >> g.rng.IntN(63))
	if g.chance(2) {
		n = -n - 1
	}
	return n
}

// ts is a clock: realistic, or any width.
func (g *msgGen) ts() hlc.Timestamp {
	if g.chance(2) {
		return hlc.New(1_700_000_000_000+g.rng.Int64N(1e10), uint16(g.rng.UintN(5)))
	}
	return hlc.Timestamp(g.u64())
}

// str is text of a length around the str header widths, sometimes empty,
// sometimes with multi-byte characters.
func (g *msgGen) str() string {
	var n int
	switch g.rng.IntN(10) {
	case 0:
		n = 0
	case 1:
		n = []int{31, 32, 33, 255, 256, 300}[g.rng.IntN(6)]
	default:
		n = 1 + g.rng.IntN(24)
	}
	alphabet := []string{"a", "e", "o", "n", "t", " ", ".", "é", "中", "🙂"}
	var b strings.Builder
	for b.Len() < n {
		s := alphabet[g.rng.IntN(len(alphabet))]
		if b.Len()+len(s) > n {
			s = "x"
		}
		b.WriteString(s)
	}
	return b.String()
}

func (g *msgGen) name() string {
	names := []string{"title", "description", "status", "due", "done", "notes", "steps", "owner", "score", "tags", "_deleted"}
	return names[g.rng.IntN(len(names))]
}

// value is a field value of the kinds a plan holds, in the types every
// decoder normalizes to (int64, float64), at most depth levels deep.
func (g *msgGen) value(depth int) any {
	k := g.rng.IntN(12)
	if depth == 0 && k >= 9 {
		k = g.rng.IntN(9)
	}
	switch k {
	case 0:
		g.mark("value=nil")
		return nil
	case 1:
		g.mark("value=bool")
		return g.chance(2)
	case 2, 3:
		g.mark("value=int")
		return g.i64()
	case 4:
		g.mark("value=float")
		switch g.rng.IntN(4) {
		case 0:
			return float64(g.rng.IntN(200) - 100) // whole: must stay float
		case 1:
			return []float64{math.Copysign(0, -1), 0.5, math.MaxFloat64, math.SmallestNonzeroFloat64}[g.rng.IntN(4)]
		}
		return g.rng.NormFloat64() * 1e6
	case 5, 6, 7:
		g.mark("value=string")
		return g.str()
	case 8:
		g.mark("value=bytes")
		b := make([]byte, []int{0, 1, 16, 255, 256}[g.rng.IntN(5)])
		for i := range b {
			b[i] = byte(g.rng.UintN(256))
		}
		return b
	case 9, 10:
		g.mark("value=list")
		a := make([]any, g.rng.IntN(5))
		if g.chance(8) {
			a = make([]any, 16+g.rng.IntN(3))
		}
		for i := range a {
			a[i] = g.value(depth - 1)
		}
		return a
	}
	g.mark("value=map")
	m := make(map[string]any)
	for range g.rng.IntN(6) {
		m[g.name()+[]string{"", "s", "_2", "A"}[g.rng.IntN(4)]] = g.value(depth - 1)
	}
	return m
}

func (g *msgGen) ref() record.Ref { return record.Ref{HLC: g.ts(), Node: g.id()} }

// refs is an omitempty list: nil, or a few refs, or rarely empty but not
// nil (which the library leaves out as well).
func (g *msgGen) refs(shape string) []record.Ref {
	switch g.rng.IntN(6) {
	case 0, 1, 2:
		g.mark(shape + "=nil")
		return nil
	case 3:
		g.mark(shape + "=empty")
		return []record.Ref{}
	}
	g.mark(shape + "=some")
	out := make([]record.Ref, 1+g.rng.IntN(3))
	for i := range out {
		out[i] = g.ref()
	}
	return out
}

func (g *msgGen) version() record.Version {
	return record.Version{Value: g.value(3), HLC: g.ts(), Node: g.id(), Author: g.id()}
}

func (g *msgGen) field() *record.Field {
	f := &record.Field{Version: g.version()}
	switch g.rng.IntN(4) {
	case 0:
		g.mark("field.conflicts=empty")
		f.Conflicts = []record.Version{}
	case 1:
		g.mark("field.conflicts=some")
		f.Conflicts = make([]record.Version, 1+g.rng.IntN(3))
		for i := range f.Conflicts {
			f.Conflicts[i] = g.version()
		}
	default:
		g.mark("field.conflicts=nil")
	}
	return f
}

// record has 0 or 1 field, or with g.multi sometimes several.
func (g *msgGen) record() *record.Record {
	rec := &record.Record{Format: record.FormatVersion, Space: g.id(), Collection: g.name(), ID: g.id()}
	if g.chance(2) {
		rec.Seq = g.u64()
	}
	n := g.rng.IntN(2)
	if g.multi && g.chance(2) {
		n = 2 + g.rng.IntN(5)
	}
	if n == 0 && g.chance(3) {
		g.mark("record.fields=nil")
	} else {
		g.mark(fmt.Sprintf("record.fields=%d", min(n, 2)))
		rec.Fields = make(map[string]*record.Field, n)
		for len(rec.Fields) < n {
			rec.Fields[g.name()+fmt.Sprint(len(rec.Fields))] = g.field()
		}
		if n >= 2 {
			g.sawMulti = true
		}
	}
	switch g.rng.IntN(4) {
	case 0:
		rec.Clock = []record.NodeClock{}
	case 1, 2:
		for range 1 + g.rng.IntN(3) {
			rec.Clock = append(rec.Clock, record.NodeClock{Node: g.id(), HLC: g.ts()})
		}
	}
	return rec
}

func (g *msgGen) write() record.Write {
	w := record.Write{Name: g.name(), Value: g.value(3)}
	if g.chance(2) {
		g.mark("write.base=set")
		b := g.ref()
		w.Base = &b
	} else {
		g.mark("write.base=nil")
	}
	w.Resolves = g.refs("write.resolves")
	return w
}

func (g *msgGen) op() record.Op {
	o := record.Op{Space: g.id(), Collection: g.name(), ID: g.id(), HLC: g.ts(),
		Node: g.optID("op.node"), Author: g.optID("op.author")}
	switch g.rng.IntN(6) {
	case 0:
		g.mark("op.writes=nil")
	case 1:
		g.mark("op.writes=empty")
		o.Writes = []record.Write{}
	default:
		g.mark("op.writes=some")
		for range 1 + g.rng.IntN(4) {
			o.Writes = append(o.Writes, g.write())
		}
	}
	o.Seen = g.refs("op.seen")
	return o
}

func (g *msgGen) code() Code {
	codes := []Code{"", CodeBadFrame, CodeForbidden, CodeInvalid, CodeConflictLimit, CodeInternal, "some_future_code"}
	return codes[g.rng.IntN(len(codes))]
}

// listLen is the length of a list that is not omitempty: -1 for nil.
func (g *msgGen) listLen(shape string) int {
	switch g.rng.IntN(6) {
	case 0:
		g.mark(shape + "=nil")
		return -1
	case 1:
		g.mark(shape + "=empty")
		return 0
	}
	g.mark(shape + "=some")
	if g.chance(10) {
		return 16 + g.rng.IntN(2) // array16 header
	}
	return 1 + g.rng.IntN(4)
}

// optLen is the length of an omitempty list: mostly 0 (nil), or some.
func (g *msgGen) optLen(shape string) (n int, nonNilEmpty bool) {
	switch g.rng.IntN(5) {
	case 0, 1:
		g.mark(shape + "=nil")
		return 0, false
	case 2:
		g.mark(shape + "=empty")
		return 0, true
	}
	g.mark(shape + "=some")
	return 1 + g.rng.IntN(4), false
}

// makeSlice makes a slice of n elements; nil for n < 0, or for n == 0
// unless nonNil.
func makeSlice[T any](n int, nonNil bool, f func() T) []T {
	if n < 0 || (n == 0 && !nonNil) {
		return nil
	}
	s := make([]T, n)
	for i := range s {
		s[i] = f()
	}
	return s
}

var messageTypes = []Type{THello, TWelcome, TError, TChanges, TPush, TAck, TPing, TPong}

func (g *msgGen) message(t Type) Message {
	switch t {
	case THello:
		n, e := g.optLen("hello.cursors")
		return &Hello{Protocol: int(g.i64()), Client: g.id(), Token: g.str(),
			Cursors: makeSlice(n, e, func() Cursor {
				c := Cursor{Space: g.id(), Seq: g.u64()}
				if g.chance(8) {
					c.Space = uuid.Nil
				}
				return c
			})}
	case TWelcome:
		return &Welcome{User: g.id(), Name: g.str(), ServerTime: g.i64(), Heartbeat: g.i64(), Incarnation: g.optID("welcome.incarnation"),
			Spaces: makeSlice(g.listLen("welcome.spaces"), true, func() SpaceInfo {
				n, e := g.optLen("space.members")
				return SpaceInfo{ID: g.id(), Name: g.str(), Kind: g.str(), Role: g.str(), Head: g.u64(),
					Members: makeSlice(n, e, func() MemberInfo {
						return MemberInfo{ID: g.id(), Name: g.str(), Role: g.str()}
					})}
			})}
	case TError:
		e := &Error{Code: g.code(), Message: g.str()}
		if g.chance(2) {
			g.mark("error.batch=set")
			e.Batch = g.u64()
		}
		return e
	case TChanges:
		m := &Changes{Space: g.id(), From: g.u64(), To: g.u64(), More: g.chance(2)}
		if m.More {
			g.mark("changes.more")
		}
		m.Records = makeSlice(g.listLen("changes.records"), true, g.record)
		n, e := g.optLen("changes.own")
		m.Own = makeSlice(n, e, func() Own {
			return Own{Collection: g.name(), ID: g.id(), HLC: g.ts(), Seq: g.u64()}
		})
		n, e = g.optLen("changes.patches")
		m.Patches = makeSlice(n, e, func() Patch { return Patch{Seq: g.u64(), Op: g.op()} })
		return m
	case TPush:
		return &Push{Batch: g.u64(), Ops: makeSlice(g.listLen("push.ops"), true, g.op)}
	case TAck:
		return &Ack{Batch: g.u64(), Results: makeSlice(g.listLen("ack.results"), true, func() Result {
			var r Result
			if g.chance(2) {
				r.Seq = g.u64()
			}
			r.Code = g.code()
			if g.chance(2) {
				r.Message = g.str()
			}
			if r == (Result{}) {
				g.mark("result=empty")
			} else {
				g.mark("result=some")
			}
			return r
		})}
	case TPing:
		return &Ping{Time: g.i64()}
	case TPong:
		return &Pong{Time: g.i64()}
	}
	panic("unknown type " + t)
}

// canon brings a decoded message (or the generated original) to the form
// any decoder must agree on: record values normalized by Record.Check and
// Op.Normalize (the library reads small integers into int8 and the like),
// records without fields holding an empty map, and omitempty lists that
// are empty as nil (an encoder leaves them out, so they decode as nil).
func canon(t testing.TB, m Message) {
	t.Helper()
	op := func(o *record.Op) {
		if err := o.Normalize(); err != nil {
			t.Fatalf("normalize op: %v", err)
		}
		if len(o.Seen) == 0 {
			o.Seen = nil
		}
		for i := range o.Writes {
			if len(o.Writes[i].Resolves) == 0 {
				o.Writes[i].Resolves = nil
			}
		}
	}
	switch m := m.(type) {
	case *Hello:
		if len(m.Cursors) == 0 {
			m.Cursors = nil
		}
	case *Welcome:
		for i := range m.Spaces {
			if len(m.Spaces[i].Members) == 0 {
				m.Spaces[i].Members = nil
			}
		}
	case *Changes:
		for _, rec := range m.Records {
			if err := rec.Check(); err != nil {
				t.Fatalf("check record: %v", err)
			}
			if len(rec.Clock) == 0 {
				rec.Clock = nil
			}
			for _, f := range rec.Fields {
				if len(f.Conflicts) == 0 {
					f.Conflicts = nil
				}
			}
		}
		if len(m.Own) == 0 {
			m.Own = nil
		}
		if len(m.Patches) == 0 {
			m.Patches = nil
		}
		for i := range m.Patches {
			op(&m.Patches[i].Op)
		}
	case *Push:
		for i := range m.Ops {
			op(&m.Ops[i])
		}
	}
}

// diffAt reports where two encodings part, with the bytes of both there.
func diffAt(ours, lib []byte) string {
	i := 0
	for i < len(ours) && i < len(lib) && ours[i] == lib[i] {
		i++
	}
	from := max(0, i-16)
	cut := func(b []byte) []byte { return b[from:min(len(b), i+32)] }
	return fmt.Sprintf("lengths ours %d, library %d; first difference at byte %d\n  ours    [%d:] % x\n  library [%d:] % x",
		len(ours), len(lib), i, from, cut(ours), from, cut(lib))
}

// checkMessage runs the oracle on the message that gen makes (gen makes
// an equal one each call).
func checkMessage(t *testing.T, name string, gen func() (Message, bool)) {
	t.Helper()
	m, multi := gen()
	ours, err := wire.Marshal(m)
	if err != nil {
		t.Fatalf("%s: wire.Marshal: %v", name, err)
	}
	lib := libMarshal(t, m)
	if !multi && !bytes.Equal(ours, lib) {
		t.Fatalf("%s: wire.Marshal(%T) differs from the library:\n%s\n  message: %+v", name, m, diffAt(ours, lib), m)
	}
	if multi && len(ours) != len(lib) {
		// Same contents in another map order: the lengths still agree.
		t.Fatalf("%s: wire.Marshal(%T) is %d bytes, the library's %d:\n%s", name, m, len(ours), len(lib), diffAt(ours, lib))
	}

	want, _ := gen()
	canon(t, want)
	decoders := []struct {
		what   string
		decode func(b []byte, into Message) error
		b      []byte
	}{
		{"our decoder, library bytes", func(b []byte, into Message) error { return wire.Unmarshal(b, into) }, lib},
		{"our decoder, library default bytes", func(b []byte, into Message) error { return wire.Unmarshal(b, into) }, libEncode(t, m, false)},
		{"our decoder, our bytes", func(b []byte, into Message) error { return wire.Unmarshal(b, into) }, ours},
		{"library decoder, our bytes", func(b []byte, into Message) error { return msgpack.Unmarshal(b, into) }, ours},
	}
	for _, d := range decoders {
		got := newMessage(m.Type())
		if err := d.decode(d.b, got); err != nil {
			t.Fatalf("%s: %s: %v\n  bytes: % x", name, d.what, err, d.b)
		}
		canon(t, got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %s: decoded\n  %#v\nwant\n  %#v", name, d.what, got, want)
		}
	}

	// The whole frame, as Encode writes it and Decode reads it.
	frame, err := Encode(m)
	if err != nil {
		t.Fatalf("%s: Encode: %v", name, err)
	}
	if len(ours) < CompressAbove && !multi {
		libFrame := libMarshal(t, []any{FrameVersion, string(m.Type()), msgpack.RawMessage(lib)})
		if !bytes.Equal(frame, libFrame) {
			t.Fatalf("%s: frame differs from the library's:\n%s", name, diffAt(frame, libFrame))
		}
	}
	got, err := Decode(frame)
	if err != nil {
		t.Fatalf("%s: Decode: %v", name, err)
	}
	canon(t, got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Decode(Encode(m)) gave\n  %#v\nwant\n  %#v", name, got, want)
	}
}

// requireShapes fails unless every shape was made at least once, so a
// change to the generators cannot quietly stop testing a case.
func requireShapes(t *testing.T, saw map[string]int, shapes []string) {
	t.Helper()
	var missing []string
	for _, s := range shapes {
		if saw[s] == 0 {
			missing = append(missing, s)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("shapes never generated: %v", missing)
	}
}

func TestOracleEveryMessage(t *testing.T) {
	saw := map[string]int{}
	for _, typ := range messageTypes {
		for i := range 120 {
			seed := uint64(i)<<8 | uint64(len(typ))<<4 | uint64(typ[0]&0x0f)
			gen := func() (Message, bool) {
				g := newMsgGen(seed, false, nil)
				return g.message(typ), false
			}
			newMsgGen(seed, false, saw).message(typ) // count its shapes once
			checkMessage(t, fmt.Sprintf("%s #%d (seed %d)", typ, i, seed), gen)
		}
	}
	requireShapes(t, saw, []string{
		"hello.cursors=nil", "hello.cursors=empty", "hello.cursors=some",
		"welcome.spaces=nil", "welcome.spaces=empty", "welcome.spaces=some",
		"space.members=nil", "space.members=empty", "space.members=some",
		"error.batch=set",
		"changes.records=nil", "changes.records=empty", "changes.records=some", "changes.more",
		"changes.own=nil", "changes.own=empty", "changes.own=some",
		"changes.patches=nil", "changes.patches=empty", "changes.patches=some",
		"record.fields=nil", "record.fields=0", "record.fields=1",
		"field.conflicts=nil", "field.conflicts=empty", "field.conflicts=some",
		"push.ops=nil", "push.ops=empty", "push.ops=some",
		"op.node=nil", "op.node=set", "op.author=nil", "op.author=set",
		"op.writes=nil", "op.writes=empty", "op.writes=some",
		"op.seen=nil", "op.seen=empty", "op.seen=some",
		"write.base=nil", "write.base=set",
		"write.resolves=nil", "write.resolves=empty", "write.resolves=some",
		"ack.results=nil", "ack.results=empty", "ack.results=some", "result=empty", "result=some",
		"value=nil", "value=bool", "value=int", "value=float", "value=string", "value=bytes", "value=list", "value=map",
	})
}

// TestOracleRecordsWithManyFields: a record's fields are a Go map, which
// the library writes in random order (its SortMapKeys covers only
// map[string]any and friends), so bytes cannot be compared; each side must
// decode the other's bytes to the original instead.
func TestOracleRecordsWithManyFields(t *testing.T) {
	saw := map[string]int{}
	multi := 0
	for i := range 150 {
		seed := uint64(1000 + i)
		gen := func() (Message, bool) {
			g := newMsgGen(seed, true, nil)
			m := g.message(TChanges)
			return m, g.sawMulti
		}
		g := newMsgGen(seed, true, saw)
		g.message(TChanges)
		if g.sawMulti {
			multi++
		}
		checkMessage(t, fmt.Sprintf("changes with many fields #%d (seed %d)", i, seed), gen)
	}
	if multi < 50 {
		t.Errorf("only %d of 150 messages had a record with several fields", multi)
	}
	requireShapes(t, saw, []string{"record.fields=2"})
}

// TestOracleRecordFieldBytes pins the bytes of records with several
// fields, which TestOracleRecordsWithManyFields cannot compare: the
// library's encoding of the record with one field is cut open at its field
// map, and the library's encodings of the map header and of every entry,
// in sorted order, are put in its place. Our bytes must be exactly that.
func TestOracleRecordFieldBytes(t *testing.T) {
	g := newMsgGen(77, true, nil)
	several := 0
	for i := range 200 {
		rec := g.record()
		ours, err := wire.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		names := wire.SortedKeys(rec.Fields)
		if len(names) < 2 {
			if want := libMarshal(t, rec); !bytes.Equal(ours, want) {
				t.Fatalf("record %d: differs from the library:\n%s", i, diffAt(ours, want))
			}
			continue
		}
		several++
		entry := func(name string) []byte {
			return append(libMarshal(t, name), libMarshal(t, rec.Fields[name])...)
		}
		one := *rec
		one.Fields = map[string]*record.Field{names[0]: rec.Fields[names[0]]}
		base := libMarshal(t, &one)
		first := entry(names[0])
		at := bytes.Index(base, first)
		if at < 1 || base[at-1] != 0x81 || bytes.Contains(base[at+1:], first) {
			t.Fatalf("record %d: cannot find the field map in the library's bytes % x", i, base)
		}
		var hdr bytes.Buffer
		if err := msgpack.NewEncoder(&hdr).EncodeMapLen(len(names)); err != nil {
			t.Fatal(err)
		}
		want := append([]byte(nil), base[:at-1]...)
		want = append(want, hdr.Bytes()...)
		for _, name := range names {
			want = append(want, entry(name)...)
		}
		want = append(want, base[at+len(first):]...)
		if !bytes.Equal(ours, want) {
			t.Fatalf("record %d (fields %v): differs from the library's bytes in sorted field order:\n%s", i, names, diffAt(ours, want))
		}
	}
	if several < 50 {
		t.Errorf("only %d of 200 records had several fields", several)
	}
}
