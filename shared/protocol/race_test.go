//go:build race

package protocol

// raceEnabled: the race detector changes what allocates (sync.Pool drops
// items at random), so allocation bounds that count pooled buffers are
// checked only without it.
const raceEnabled = true
