package loadgen

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// TestGenerateMatchesPeers checks records 0..99 field by field against the
// records the peers write (the contract's records-100.jsonl).
func TestGenerateMatchesPeers(t *testing.T) {
	f, err := os.Open("testdata/records-100.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		var want struct {
			ID     string `json:"id"`
			Fields Record `json:"fields"`
		}
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		want.Fields.ID = want.ID
		got := Generate(i)
		if got != want.Fields {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, want.Fields)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != 100 {
		t.Fatalf("read %d records, want 100", i)
	}
	if len(wordList) != 188 {
		t.Fatalf("words.txt has %d words, want 188", len(wordList))
	}
}
