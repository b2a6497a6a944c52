package store

import (
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/wire"
)

// TestLogEntryFormatVersion: entries carry their format version, and a
// version from a newer build is refused rather than misread.
func TestLogEntryFormatVersion(t *testing.T) {
	for _, tc := range []struct {
		format uint8
		ok     bool
	}{{0, true}, {record.FormatVersion, true}, {record.FormatVersion + 1, false}} {
		b, err := wire.Marshal(&server.LogEntry{Format: tc.format, Seq: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeLogEntry(b); (err == nil) != tc.ok {
			t.Errorf("format %d: err %v, want ok=%t", tc.format, err, tc.ok)
		}
	}
}
