// Package protocoltest builds hostile frames for tests: amplification
// bombs, push frames whose deflated body is a few kilobytes and whose
// inflated body is just under protocol.MaxInflatedBytes of minimal
// elements (issue 11, point 3). The protocol's decode-budget tests and
// the real-server amplification tests (server/faults) send the same bytes.
// Nothing outside tests imports it.
package protocoltest

import (
	"bytes"
	"compress/flate"
	"fmt"

	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/wire"
)

// Fill writes a push body into w with about room bytes to spend.
type Fill func(w *wire.Writer, room int)

// BombFrame is a push frame whose body, built by fill in just under
// protocol.MaxInflatedBytes, is deflated at the best compression. It
// returns the frame and the inflated body's size.
func BombFrame(fill Fill) (frame []byte, inflated int, err error) {
	var body wire.Writer
	fill(&body, protocol.MaxInflatedBytes-64)
	if body.Err() != nil {
		return nil, 0, body.Err()
	}
	if len(body.Bytes()) > protocol.MaxInflatedBytes {
		return nil, 0, fmt.Errorf("bomb body %d bytes, over %d", len(body.Bytes()), protocol.MaxInflatedBytes)
	}
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = fw.Write(body.Bytes())
	_ = fw.Close()
	var f wire.Writer
	f.ArrayLen(3)
	f.Uint(protocol.FrameVersion)
	f.String(string(protocol.TPush))
	f.Bin(z.Bytes())
	return bytes.Clone(f.Bytes()), len(body.Bytes()), nil
}

// EmptyWrites is the attack of issue 11: wire.MaxArrayLen ops, each a map
// of one key "w" holding an array of empty maps, each decoding to a
// record.Write; refused from the ops header.
func EmptyWrites(w *wire.Writer, room int) {
	pushHead(w, wire.MaxArrayLen)
	per := room/wire.MaxArrayLen - 8
	for range wire.MaxArrayLen {
		w.MapLen(1)
		w.String("w")
		w.ArrayLen(per)
		for range per {
			w.MapLen(0)
		}
	}
}

// WritesPastLimit is, within the op count, ops of writes past
// record.MaxWritesPerOp; refused from the writes header.
func WritesPastLimit(w *wire.Writer, room int) {
	pushHead(w, protocol.MaxOpsPerPush)
	per := min(room/protocol.MaxOpsPerPush-8, wire.MaxArrayLen)
	for range protocol.MaxOpsPerPush {
		w.MapLen(1)
		w.String("w")
		w.ArrayLen(per)
		for range per {
			w.MapLen(0)
		}
	}
}

// OpsOf is a push within every count: protocol.MaxOpsPerPush ops of
// record.MaxWritesPerOp writes, each write's value written by value with
// the room left per write.
func OpsOf(value Fill) Fill {
	const n, writes = protocol.MaxOpsPerPush, record.MaxWritesPerOp
	return func(w *wire.Writer, room int) {
		per := room/(n*writes) - 8 // a write's own keys and headers
		pushHead(w, n)
		for range n {
			w.MapLen(1)
			w.String("w")
			w.ArrayLen(writes)
			for range writes {
				w.MapLen(1)
				w.String("v")
				value(w, per)
			}
		}
	}
}

// Nils is a value of room nils (16 bytes each decoded).
func Nils(w *wire.Writer, room int) {
	w.ArrayLen(room)
	for range room {
		w.Nil()
	}
}

// EmptyLists is a value of empty lists (a boxed slice header each).
func EmptyLists(w *wire.Writer, room int) {
	w.ArrayLen(room)
	for range room {
		w.ArrayLen(0)
	}
}

// MapEntries is a value of a map of empty keys to nil (an entry per 2
// bytes).
func MapEntries(w *wire.Writer, room int) {
	n := min(room/2, wire.MaxMapLen)
	w.MapLen(n)
	for range n {
		w.String("")
		w.Nil()
	}
}

// ShortStrings is a value of one-letter strings (a boxed header each).
func ShortStrings(w *wire.Writer, room int) {
	w.ArrayLen(room / 2)
	for range room / 2 {
		w.String("a")
	}
}

// pushHead starts a push body of batch 1 with n ops.
func pushHead(w *wire.Writer, n int) {
	w.MapLen(2)
	w.String("b")
	w.Uint(1)
	w.String("o")
	w.ArrayLen(n)
}
