//go:build race

package faults

// raceEnabled: the race detector keeps shadow memory for every heap byte
// (several times the heap, resident), so resident-set bounds are checked
// only without it; heap-in-use bounds hold either way.
const raceEnabled = true
