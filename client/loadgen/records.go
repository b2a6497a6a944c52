package loadgen

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The record generator reproduces, byte for byte, the records the peer
// systems write in the benchmark (shared/bench/CONTRACT.md, "Records"), so
// that every system stores and moves the same data.

// words.txt is the contract's word list, copied here so the generator does
// not depend on a path outside the module.
//
//go:embed words.txt
var wordsFile string

// wordList holds the lines of words.txt.
var wordList = strings.Fields(wordsFile)

// Generator parameters from the contract.
const (
	// recordBytes is the compact JSON size every record's fields are
	// padded to with description words.
	recordBytes = 300
	// titleWords is how many words a title has before " #i".
	titleWords = 4
	// mulberryIncrement is mulberry32's Weyl sequence step.
	mulberryIncrement = 0x6D2B79F5
	// ownerPrime and ownerCount spread owners over user-0..user-999.
	ownerPrime = 7919
	ownerCount = 1000
	// Collection is the collection every workload writes to.
	Collection = "items"
)

// statuses are assigned round robin (status = statuses[i % 4]).
var statuses = [...]string{"open", "in_progress", "blocked", "done"}

// isoMillis is ISO-8601 with milliseconds and Z, as JavaScript's
// Date.toISOString writes it.
const isoMillis = "2006-01-02T15:04:05.000Z"

// epoch is record 0's updatedAt; record i is i seconds later.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Record is one generated record: the contract id and its five fields.
type Record struct {
	ID          string `json:"-"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Status      string `json:"status"`
	Owner       string `json:"owner"`
	UpdatedAt   string `json:"updatedAt"`
}

// UpdatedAtField is the name the contract's updatedAt is stored under:
// Plansync field names are lower-case snake case (record.ValidName), so
// the one camel-case name of the contract is written as updated_at. The
// values are the peers' byte for byte; the name costs one byte more.
const UpdatedAtField = "updated_at"

// Fields returns the record's fields as the engine writes them.
func (r Record) Fields() map[string]any {
	return map[string]any{
		"title":        r.Title,
		"description":  r.Description,
		"status":       r.Status,
		"owner":        r.Owner,
		UpdatedAtField: r.UpdatedAt,
	}
}

// mulberry32 is the contract's PRNG. Go's uint32 arithmetic wraps exactly
// as JavaScript's >>> 0 and Math.imul do, so no masking is needed.
type mulberry32 struct{ a uint32 }

// next returns a draw in [0, 1).
func (m *mulberry32) next() float64 {
	m.a += mulberryIncrement
	t := m.a
	t = (t ^ (t >> 15)) * (t | 1)
	t ^= t + (t^(t>>7))*(t|61)
	return float64(t^(t>>14)) / (1 << 32)
}

func (m *mulberry32) word() string {
	return wordList[int(m.next()*float64(len(wordList)))]
}

func (m *mulberry32) words(k int) string {
	ws := make([]string, k)
	for j := range ws {
		ws[j] = m.word()
	}
	return strings.Join(ws, " ")
}

// Generate returns record i.
func Generate(i int) Record {
	rng := mulberry32{a: uint32(i + 1)}
	r := Record{
		ID:        fmt.Sprintf("rec-%06d", i),
		Title:     fmt.Sprintf("%s #%d", rng.words(titleWords), i),
		Status:    statuses[i%len(statuses)],
		Owner:     fmt.Sprintf("user-%d@example.com", (i*ownerPrime)%ownerCount),
		UpdatedAt: epoch.Add(time.Duration(i) * time.Second).Format(isoMillis),
	}
	room := recordBytes - compactLen(r)
	var d strings.Builder
	// Each word is at least one byte, so this ends within room draws.
	for d.Len() < room {
		if d.Len() > 0 {
			d.WriteByte(' ')
		}
		d.WriteString(rng.word())
	}
	r.Description = d.String()
	if room < 0 {
		room = 0
	}
	if len(r.Description) > room {
		r.Description = r.Description[:room]
	}
	return r
}

// compactLen is the length of the record's fields as JSON.stringify writes
// them (description left empty). encoding/json escapes <, > and & unless
// told not to, and JSON.stringify does not; the words are ASCII, so bytes
// count as JavaScript's UTF-16 units.
func compactLen(r Record) int {
	r.Description = ""
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		panic(err) // strings only: cannot fail
	}
	return b.Len() - 1 // Encode appends a newline
}
