package protocol

import (
	"errors"
	"runtime"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// densePush is the legitimate push that decodes to the most per byte: the
// most ops, each of the most writes, each a one-letter field set to a small
// integer.
func densePush() *Push {
	p := &Push{Batch: 7}
	for i := range MaxOpsPerPush {
		op := record.Op{Space: uuid.Must(uuid.NewV7()), Collection: "goals", ID: uuid.Must(uuid.NewV7()), HLC: hlc.Timestamp(1 + i)}
		for j := range record.MaxWritesPerOp {
			op.Writes = append(op.Writes, record.Write{Name: string(rune('a' + j%26)), Value: int64(j % 100)})
		}
		p.Ops = append(p.Ops, op)
	}
	return p
}

// TestDecodeBudgetAdmitsDensePush: the budget must never refuse a frame a
// real client sends; the densest one decodes, compressed or not.
func TestDecodeBudgetAdmitsDensePush(t *testing.T) {
	p := densePush()
	frame, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(frame)
	if err != nil {
		t.Fatalf("dense push of %d bytes refused: %v", len(frame), err)
	}
	if got := m.(*Push); len(got.Ops) != MaxOpsPerPush || len(got.Ops[0].Writes) != record.MaxWritesPerOp {
		t.Fatalf("dense push decoded to %d ops", len(got.Ops))
	}
	// Uncompressed, as a short frame would come.
	var w wire.Writer
	w.ArrayLen(3)
	w.Uint(FrameVersion)
	w.String(string(TPush))
	p.EncodeWire(&w)
	if _, err := Decode(w.Bytes()); err != nil {
		t.Fatalf("dense push uncompressed (%d bytes) refused: %v", len(w.Bytes()), err)
	}
}

// TestPushOverOpLimitRefusedFromHeader: a push of MaxOpsPerPush+1 ops is
// refused with CodeTooLarge naming its batch, so the server can answer it
// without closing the connection.
func TestPushOverOpLimitRefusedFromHeader(t *testing.T) {
	p := &Push{Batch: 42, Ops: make([]record.Op, MaxOpsPerPush+1)}
	frame := MustEncode(p)
	_, err := Decode(frame)
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeTooLarge || pe.Batch != 42 {
		t.Fatalf("push of %d ops: %v (batch %d), want too_large for batch 42", len(p.Ops), err, batchOf(pe))
	}
	op := record.Op{Writes: make([]record.Write, record.MaxWritesPerOp+1)}
	_, err = Decode(MustEncode(&Push{Batch: 43, Ops: []record.Op{op}}))
	if !errors.As(err, &pe) || pe.Code != CodeTooLarge || pe.Batch != 43 {
		t.Fatalf("op of %d writes: %v, want too_large for batch 43", len(op.Writes), err)
	}
}

func batchOf(e *Error) uint64 {
	if e == nil {
		return 0
	}
	return e.Batch
}

// TestDecodeHello: before hello only a Hello of at most MaxHelloFrameBytes,
// inflated to at most that, is read; the rest is refused from the header.
func TestDecodeHello(t *testing.T) {
	h := &Hello{Protocol: Version, Client: uuid.Must(uuid.NewV7()), Token: "tok",
		Cursors: []Cursor{{Space: uuid.Must(uuid.NewV7()), Seq: 9}}}
	got, err := DecodeHello(MustEncode(h))
	if err != nil || got.Token != "tok" || len(got.Cursors) != 1 {
		t.Fatalf("hello: %+v, %v", got, err)
	}
	compressed := func(typ Type, m Message) []byte {
		body, _ := wire.Marshal(m)
		z, _ := deflate(body)
		var w wire.Writer
		w.ArrayLen(3)
		w.Uint(FrameVersion)
		w.String(string(typ))
		w.Bin(z)
		return w.Bytes()
	}
	// Clients before the first-frame rule deflated hellos of 512 bytes or
	// more: one with 40 spaces must still get in.
	old := &Hello{Protocol: Version, Client: h.Client, Token: "tok"}
	for range 40 {
		old.Cursors = append(old.Cursors, Cursor{Space: uuid.Must(uuid.NewV7()), Seq: 1 << 40})
	}
	if got, err := DecodeHello(compressed(THello, old)); err != nil || len(got.Cursors) != 40 {
		t.Fatalf("compressed hello of an older client: %v", err)
	}
	// A compressed push first is refused by its type, never inflated
	// (TestDecodeHelloRefusesBombByType sends an amplification bomb).
	push := compressed(TPush, &Push{Batch: 1})
	helloBomb := compressed(THello, &Hello{Protocol: Version, Token: string(make([]byte, 4*MaxHelloFrameBytes))})
	if len(helloBomb) > MaxHelloFrameBytes {
		t.Fatalf("hello bomb of %d bytes is not small", len(helloBomb))
	}
	var big wire.Writer // uncompressed, as Encode would not send it
	big.ArrayLen(3)
	big.Uint(FrameVersion)
	big.String(string(THello))
	(&Hello{Protocol: Version, Token: string(make([]byte, MaxHelloFrameBytes))}).EncodeWire(&big)
	for _, c := range []struct {
		name  string
		frame []byte
		code  Code
	}{
		{"compressed hello inflating past the limit", helloBomb, CodeTooLarge},
		{"push first", MustEncode(&Push{Batch: 1}), CodeBadRequest},
		{"compressed push first", push, CodeBadRequest}, // by type, not inflated
		{"ping first", MustEncode(&Ping{Time: 1}), CodeBadRequest},
		{"oversized hello", big.Bytes(), CodeTooLarge},
		{"unknown type", []byte{0x93, 0x01, 0xa1, 'x', 0x80}, CodeBadRequest},
		{"garbage", []byte{0xc1}, CodeBadFrame},
	} {
		_, err := DecodeHello(c.frame)
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

// TestDecodeClientSkipsServerTypes: a changes frame from a client comes
// back empty, its body never decoded.
func TestDecodeClientSkipsServerTypes(t *testing.T) {
	ch := &Changes{Space: uuid.Must(uuid.NewV7()), To: 5, Records: []*record.Record{}}
	m, err := DecodeClient(MustEncode(ch))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*Changes); got.To != 0 || got.Space != uuid.Nil {
		t.Fatalf("changes body decoded: %+v", got)
	}
}

// FuzzDecodeHello: DecodeHello never panics, and what it accepts Decode
// reads as the same Hello.
func FuzzDecodeHello(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(MustEncode(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHello(b)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		m, err := Decode(b)
		if err != nil {
			t.Fatalf("DecodeHello accepted what Decode refuses: %v", err)
		}
		if got, ok := m.(*Hello); !ok || got.Token != h.Token || got.Client != h.Client {
			t.Fatalf("DecodeHello read %+v, Decode %+v", h, m)
		}
	})
}

// TestDecodeBudgetAdmitsDenseAck: the server's densest frame, an Ack of
// MaxOpsPerPush bare results, decodes.
func TestDecodeBudgetAdmitsDenseAck(t *testing.T) {
	for _, seq := range []uint64{0, 1, 1 << 40} {
		a := &Ack{Batch: 1, Results: make([]Result, MaxOpsPerPush)}
		for i := range a.Results {
			a.Results[i].Seq = seq
		}
		if _, err := Decode(MustEncode(a)); err != nil {
			t.Errorf("ack of %d results at seq %d: %v", len(a.Results), seq, err)
		}
	}
}

// TestDecodeSlotsSizedToCores: at most one frame per core decodes at once.
func TestDecodeSlotsSizedToCores(t *testing.T) {
	if got, want := cap(decodeSlots), runtime.GOMAXPROCS(0); got != want || got < 1 {
		t.Fatalf("%d decode slots, want %d (GOMAXPROCS)", got, want)
	}
}

// TestHelloOfManySpacesNotCompressed: Encode never compresses a hello, so
// a user of 2,000 spaces still gets past DecodeHello.
func TestHelloOfManySpacesNotCompressed(t *testing.T) {
	h := &Hello{Protocol: Version, Client: uuid.Must(uuid.NewV7()), Token: string(make([]byte, 43))}
	for i := range 2000 {
		h.Cursors = append(h.Cursors, Cursor{Space: uuid.Must(uuid.NewV7()), Seq: uint64(1) << 40 * uint64(i+1)})
	}
	frame := MustEncode(h)
	got, err := DecodeHello(frame)
	if err != nil {
		t.Fatalf("hello of %d cursors (%d bytes): %v", len(h.Cursors), len(frame), err)
	}
	if len(got.Cursors) != len(h.Cursors) {
		t.Fatalf("%d cursors read, want %d", len(got.Cursors), len(h.Cursors))
	}
	t.Logf("hello of %d cursors: %d bytes, limit %d", len(h.Cursors), len(frame), MaxHelloFrameBytes)
}
