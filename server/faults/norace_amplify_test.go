//go:build !race

package faults

// raceEnabled: see race_amplify_test.go.
const raceEnabled = false
