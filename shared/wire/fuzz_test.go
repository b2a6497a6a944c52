package wire

import (
	"runtime"
	"testing"
)

// TestUnmarshalAllocationIsBoundedByInput: inputs of a few bytes that
// declare lengths in the billions are refused by CheckShape before the
// decoder sees them, so decoding allocates next to nothing.
func TestUnmarshalAllocationIsBoundedByInput(t *testing.T) {
	for name, b := range map[string][]byte{
		"array32":            {0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0},
		"map32":              {0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0, 0xc0},
		"str32":              {0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'},
		"bin32":              {0xc6, 0x7f, 0xff, 0xff, 0xff, 'x'},
		"ext32":              {0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01, 'x'},
		"array16 of array16": {0xdc, 0x00, 0x02, 0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 4 {
			if _, err := UnmarshalValue(b); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		runtime.ReadMemStats(&after)
		if got := (after.TotalAlloc - before.TotalAlloc) / 4; got > 4<<10 {
			t.Errorf("%s: %d-byte input allocated %d bytes", name, len(b), got)
		}
	}
}
