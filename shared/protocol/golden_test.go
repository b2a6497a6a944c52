package protocol

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/plansync/plansync/shared/record"
)

var update = flag.Bool("update", false, "rewrite the golden files of the current format version")

// The golden files pin the bytes of format v1. Decoders must read every
// older version forever: when the format changes, add a v2 folder and keep
// these files and this test as they are.
const goldenDir = "../testdata/v1"

func TestGoldenV1(t *testing.T) {
	msgs := sampleMessages()
	if *update {
		_ = os.MkdirAll(goldenDir, 0o755)
		for _, m := range msgs {
			b, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(goldenDir, string(m.Type())+".msgpack"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rb, err := record.Marshal(msgs[3].(*Changes).Records[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, "record.msgpack"), rb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Changes carrying own-op references and patches instead of records.
	delta := &Changes{Space: msgs[3].(*Changes).Space, From: 7, To: 9,
		Own:     []Own{{Collection: "goals", ID: msgs[3].(*Changes).Records[0].ID, HLC: 5, Seq: 8}},
		Patches: []Patch{{Seq: 9, Op: msgs[4].(*Push).Ops[0]}}}
	delta.Patches[0].Op.Node, delta.Patches[0].Op.Author = msgs[0].(*Hello).Client, msgs[1].(*Welcome).User
	if *update {
		if err := os.WriteFile(filepath.Join(goldenDir, "changes-delta.msgpack"), MustEncode(delta), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(goldenDir, "changes-delta.msgpack")); err != nil {
		t.Fatal(err)
	} else if got, err := Decode(b); err != nil || !reflect.DeepEqual(got, delta) {
		t.Errorf("changes-delta golden file decodes to %#v (%v), want %#v", got, err, delta)
	}
	for _, want := range msgs {
		b, err := os.ReadFile(filepath.Join(goldenDir, string(want.Type())+".msgpack"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", want.Type(), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: golden file decodes to\n%#v\nwant\n%#v", want.Type(), got, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(goldenDir, "record.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec, msgs[3].(*Changes).Records[0]) {
		t.Errorf("record golden file decodes to %#v", rec)
	}
}
