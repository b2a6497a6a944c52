package client

import (
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// TestJournalSizeBoundsTheEncoding: the journal's byte count never
// undercounts an op (MaxJournalBytes is a bound), and stays within a few
// times its encoding, so the bound still means what it says.
func TestJournalSizeBoundsTheEncoding(t *testing.T) {
	ref := record.Ref{HLC: hlc.New(1<<40, 3), Node: uuid.Must(uuid.NewV7())}
	values := []any{
		nil, true, int64(-1 << 60), uint64(1 << 63), 3.25, "", "é", strings.Repeat("ñ", 5000),
		[]byte{1, 2, 3}, []any{"a", int64(2), []any{true, "b"}},
		map[string]any{"text": "hola", "n": int64(7), "deep": map[string]any{"x": []any{"y"}}},
	}
	for i, v := range values {
		op := record.Op{Space: uuid.Must(uuid.NewV7()), Collection: "goals", ID: uuid.Must(uuid.NewV7()), HLC: hlc.New(1<<41, 9),
			Node: uuid.Must(uuid.NewV7()), Author: uuid.Must(uuid.NewV7()), Seen: []record.Ref{ref},
			Writes: []record.Write{{Name: "title", Value: v, Base: &ref, Resolves: []record.Ref{ref, ref}}, {Name: "x", Value: v}}}
		var w wire.Writer
		op.EncodeWire(&w)
		enc := len(w.Bytes()) + 24
		got := journalSize(&op)
		if got < enc {
			t.Errorf("value %d (%T): journalSize %d below the encoding's %d", i, v, got, enc)
		}
		if got > 4*enc {
			t.Errorf("value %d (%T): journalSize %d, more than 4 times the encoding's %d", i, v, got, enc)
		}
	}
}
