package plan_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

var updateSchema1 = flag.Bool("update-schema1", false,
	"rewrite shared/testdata/schema1 (only ever with the schema of its day: these files pin what old clients wrote)")

// schema1Dir holds records and ops written with the plan schema as it was
// before issue 13 (the "first" schema). They were recorded once, from that
// schema, and are never regenerated: a later schema must keep accepting,
// merging and syncing them (see "Plans outlive app versions" in
// shared/PROTOCOL.md).
const schema1Dir = "../testdata/schema1"

var (
	g1Space  = uuid.MustParse("01900000-0000-7000-8000-00000000aa01")
	g1School = uuid.MustParse("01900000-0000-7000-8000-00000000aa02")
	g1Node   = uuid.MustParse("01900000-0000-7000-8000-00000000bb01")
	g1Author = uuid.MustParse("01900000-0000-7000-8000-00000000cc01")
	g1Goal   = uuid.MustParse("01900000-0000-7000-8000-00000000dd00")
)

// sampleValue is a valid value for f, the same on every run.
func sampleValue(c *plan.Collection, f *plan.Field, i int) any {
	switch f.Type {
	case plan.TypeString:
		if f.Text {
			return fmt.Sprintf("Written for %s.%s, in Spanish: lee cada noche con su hermana %d", c.Name, f.Name, i)
		}
		return fmt.Sprintf("%s %d", f.Name, i)
	case plan.TypeEnum:
		return f.Enum[i%len(f.Enum)]
	case plan.TypeBool:
		return i%2 == 0
	case plan.TypeInt:
		return f.Min + int64(i)%(f.Max-f.Min+1)
	case plan.TypeDate:
		return fmt.Sprintf("2025-%02d-%02d", 1+i%12, 1+i%28)
	case plan.TypeTimestamp:
		return fmt.Sprintf("2025-03-%02dT16:30:00-05:00", 1+i%28)
	case plan.TypeID:
		return g1Goal.String()
	case plan.TypeLang:
		return []string{"es", "en", "es-MX"}[i%3]
	case plan.TypeList:
		n := min(2, f.MaxItems)
		items := make([]any, n)
		for j := range items {
			items[j] = sampleValue(c, f.Elem, i+j)
		}
		return items
	case plan.TypeObject:
		m := map[string]any{}
		for j := range f.Fields {
			m[f.Fields[j].Name] = sampleValue(c, &f.Fields[j], i+j)
		}
		return m
	}
	panic("no sample for " + string(f.Type))
}

// schema1Ops makes, for every collection of kind, a create that sets every
// field, then an edit of its first text field based on the create, then a
// concurrent edit of the same field (a kept conflict).
func schema1Ops(kind plan.SpaceKind, space uuid.UUID) []record.Op {
	var ops []record.Op
	ts := hlc.New(1_733_000_000_000, 0)
	for ci, c := range plan.Collections(kind) {
		id := uuid.MustParse(fmt.Sprintf("01900000-0000-7000-8000-0000000%02x%03x", ci, 0))
		if c.Name == "goals" {
			id = g1Goal
		}
		ts++
		create := record.Op{Space: space, Collection: c.Name, ID: id, HLC: ts}
		for i := range c.Fields {
			f := &c.Fields[i]
			create.Writes = append(create.Writes, record.Write{Name: f.Name, Value: sampleValue(c, f, i)})
		}
		ops = append(ops, create)
		for i := range c.Fields {
			f := &c.Fields[i]
			if !f.Text {
				continue
			}
			base := record.Ref{HLC: ts, Node: g1Node}
			ts++
			ops = append(ops, record.Op{Space: space, Collection: c.Name, ID: id, HLC: ts,
				Writes: []record.Write{{Name: f.Name, Value: "edited on top of the create", Base: &base}}})
			ts++
			ops = append(ops, record.Op{Space: space, Collection: c.Name, ID: id, HLC: ts,
				Writes: []record.Write{{Name: f.Name, Value: "edited offline, concurrently", Base: &base}}})
			break
		}
	}
	return ops
}

// applyAll stamps ops as a server does and merges them into records.
func applyAll(t *testing.T, ops []record.Op) []*record.Record {
	t.Helper()
	recs := map[record.Key]*record.Record{}
	var order []record.Key
	for i := range ops {
		op := ops[i]
		op.Node, op.Author = g1Node, g1Author
		if i%3 == 2 {
			op.Node = g1Author // the concurrent edit comes from another device
		}
		if _, ok := recs[op.Key()]; !ok {
			order = append(order, op.Key())
		}
		next, _, err := record.Apply(recs[op.Key()], &op)
		if err != nil {
			t.Fatal(err)
		}
		next.Seq = uint64(i + 1)
		recs[op.Key()] = next
	}
	out := make([]*record.Record, len(order))
	for i, k := range order {
		out[i] = recs[k]
	}
	return out
}

type schema1Kind struct {
	kind  plan.SpaceKind
	space uuid.UUID
}

var schema1Kinds = []schema1Kind{{plan.Student, g1Space}, {plan.School, g1School}}

func schema1Files(k schema1Kind) (push, changes string) {
	return filepath.Join(schema1Dir, string(k.kind)+"-push.msgpack"),
		filepath.Join(schema1Dir, string(k.kind)+"-changes.msgpack")
}

// readSchema1 decodes the golden push and changes frames of one kind.
func readSchema1(t *testing.T, k schema1Kind) (*protocol.Push, *protocol.Changes) {
	t.Helper()
	pf, cf := schema1Files(k)
	pb, err := os.ReadFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := os.ReadFile(cf)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := protocol.Decode(pb)
	if err != nil {
		t.Fatalf("%s: %v", pf, err)
	}
	cm, err := protocol.Decode(cb)
	if err != nil {
		t.Fatalf("%s: %v", cf, err)
	}
	return pm.(*protocol.Push), cm.(*protocol.Changes)
}

// TestSchema1Golden writes the golden files (once, with -update-schema1)
// and checks that they still decode.
func TestSchema1Golden(t *testing.T) {
	for _, k := range schema1Kinds {
		pf, cf := schema1Files(k)
		if *updateSchema1 {
			ops := schema1Ops(k.kind, k.space)
			if err := os.WriteFile(pf, protocol.MustEncode(&protocol.Push{Batch: 1, Ops: ops}), 0o644); err != nil {
				t.Fatal(err)
			}
			recs := applyAll(t, ops)
			if err := os.WriteFile(cf, protocol.MustEncode(&protocol.Changes{Space: k.space, From: 0, To: uint64(len(ops)), Records: recs}), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		push, changes := readSchema1(t, k)
		if len(push.Ops) == 0 || len(changes.Records) == 0 {
			t.Fatalf("%s: empty golden files", k.kind)
		}
		// Applying the golden ops with today's merge gives the golden
		// records: the merge of fields old clients wrote did not move.
		got := applyAll(t, push.Ops)
		if !reflect.DeepEqual(got, changes.Records) {
			t.Errorf("%s: golden ops merge to other records than the golden ones", k.kind)
		}
	}
}

// TestSchema1StillValid: every op an earlier build wrote (the golden
// push) passes today's shape check and plan schema, creates as creates.
func TestSchema1StillValid(t *testing.T) {
	for _, k := range schema1Kinds {
		push, _ := readSchema1(t, k)
		seen := map[record.Key]bool{}
		for i := range push.Ops {
			op := push.Ops[i]
			if err := op.Validate(); err != nil {
				t.Errorf("%s op %d: %v", k.kind, i, err)
			}
			fields := map[string]any{}
			for _, w := range op.Writes {
				fields[w.Name] = w.Value
			}
			var err error
			if !seen[op.Key()] {
				err = plan.ValidateRecord(k.kind, op.Collection, fields)
			} else {
				err = plan.ValidateFields(k.kind, op.Collection, fields)
			}
			seen[op.Key()] = true
			if err != nil {
				t.Errorf("%s op %d (%s): %v", k.kind, i, op.Collection, err)
			}
		}
	}
}

// TestUnknownFieldsPassThrough is an earlier build meeting a newer one's
// record: fields and collections it has no schema for are kept through
// its codec and its merge, and its own edits (golden ops) land beside them
// without dropping any.
func TestUnknownFieldsPassThrough(t *testing.T) {
	push, changes := readSchema1(t, schema1Kinds[0])
	var goal *record.Record
	for _, r := range changes.Records {
		if r.Collection == "goals" {
			goal = r
		}
	}
	// A newer build adds fields an earlier one never heard of (a made-up
	// one stands for a future schema), and a record of a new collection.
	newer := goal.Clone()
	for name, v := range map[string]any{"measure_target": 90.5, "measure_unit": "wpm", "field_of_schema_9": []any{"x", int64(2)}} {
		newer.Fields[name] = &record.Field{Version: record.Version{Value: v, HLC: hlc.New(1_733_000_100_000, 0), Node: g1Author, Author: g1Author}}
	}
	b, err := record.Marshal(newer)
	if err != nil {
		t.Fatal(err)
	}
	through, err := record.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(through, newer) {
		t.Fatal("a record with fields of a newer schema changed through the codec")
	}
	// The earlier build's edits of the goal (the golden ops) apply on top.
	merged := through
	for i := range push.Ops {
		op := push.Ops[i]
		if op.Collection != "goals" {
			continue
		}
		op.Node, op.Author = g1Node, g1Author
		op.HLC += 1_000_000
		if merged, _, err = record.Apply(merged, &op); err != nil {
			t.Fatal(err)
		}
	}
	for name := range newer.Fields {
		if _, ok := goal.Fields[name]; ok {
			continue
		}
		if !reflect.DeepEqual(merged.Fields[name], newer.Fields[name]) {
			t.Errorf("field %s of the newer schema lost or changed by an earlier build's edit: %+v", name, merged.Fields[name])
		}
	}
	sugg := &record.Op{Space: g1Space, Collection: "suggestions", ID: g1Goal, HLC: 5, Node: g1Node, Author: g1Author,
		Writes: []record.Write{{Name: "text", Value: "Leer con su hermana"}}}
	r, _, err := record.Apply(nil, sugg)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := record.Marshal(r); err != nil {
		t.Fatal(err)
	} else if back, err := record.Unmarshal(b); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("a record of a new collection did not pass through: %v", err)
	}
}
