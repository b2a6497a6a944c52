package protocol_test

import (
	"errors"
	"runtime"
	"slices"
	"testing"

	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/protocol/protocoltest"
)

// maxAllocPerInflatedByte is what decoding one frame may allocate in all
// (inflating included) per byte of its inflated body: the decode budget
// (DecodeBudgetPerByte) plus the inflate buffer's doubling (about 2) plus
// headroom for what the Reader cannot see (message structs, boxed refs).
const maxAllocPerInflatedByte = 16

// bombs are bodies of minimal elements, each just under the inflate cap
// (protocoltest).
var bombs = []struct {
	name  string
	fill  protocoltest.Fill
	codes []protocol.Code // acceptable outcomes; nil means it may decode
}{
	// The attack of issue 11: ten thousand ops of ten thousand empty
	// writes each, refused from the ops header.
	{"ops of empty writes", protocoltest.EmptyWrites, []protocol.Code{protocol.CodeTooLarge}},
	// Within the op count, writes past MaxWritesPerOp, refused from the
	// writes header.
	{"writes past the per-op limit", protocoltest.WritesPastLimit, []protocol.Code{protocol.CodeTooLarge}},
	// Within every count: the decode budget refuses each.
	{"values of nils", protocoltest.OpsOf(protocoltest.Nils), []protocol.Code{protocol.CodeTooLarge}},
	{"values of empty lists", protocoltest.OpsOf(protocoltest.EmptyLists), []protocol.Code{protocol.CodeTooLarge}},
	{"values of map entries", protocoltest.OpsOf(protocoltest.MapEntries), []protocol.Code{protocol.CodeTooLarge}},
	{"values of short strings", protocoltest.OpsOf(protocoltest.ShortStrings), []protocol.Code{protocol.CodeTooLarge}},
}

// TestDecodeAllocationBudget decodes each bomb and measures what it
// allocated (runtime.MemStats.TotalAlloc across the call): at most
// maxAllocPerInflatedByte per byte inflated, where without the budget and
// the header checks (main at f6af5a4) the bombs took 18 to 71 bytes per
// inflated byte, the first 591 MB for a 19.7 KB frame. Not
// parallel: TotalAlloc is the whole process's.
func TestDecodeAllocationBudget(t *testing.T) {
	for _, b := range bombs {
		frame, inflated, err := protocoltest.BombFrame(b.fill)
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err = protocol.Decode(frame)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		perByte := float64(alloc) / float64(inflated)
		t.Logf("%s: frame %d bytes, inflates to %d; decode allocated %d bytes (%.2f per inflated byte): %v",
			b.name, len(frame), inflated, alloc, perByte, err)
		if perByte > maxAllocPerInflatedByte {
			t.Errorf("%s: %.2f bytes allocated per inflated byte, limit %d", b.name, perByte, maxAllocPerInflatedByte)
		}
		if b.codes != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) || !slices.Contains(b.codes, pe.Code) {
				t.Errorf("%s: %v, want one of %v", b.name, err, b.codes)
			}
		}
	}
}

// TestDecodeHelloRefusesBombByType: before hello an amplification bomb is
// refused by its type, bad_request, without being inflated.
func TestDecodeHelloRefusesBombByType(t *testing.T) {
	bomb, _, err := protocoltest.BombFrame(protocoltest.EmptyWrites)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = protocol.DecodeHello(bomb)
	runtime.ReadMemStats(&after)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest {
		t.Fatalf("a bomb as the first frame: %v, want bad_request", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("refusing a bomb by its type allocated %d bytes: it was inflated", alloc)
	}
}
