// Package shared is the vocabulary the server and every client speak: hybrid
// logical clocks (hlc), records and their merge rules (record), the wire
// protocol and its codec (protocol), and the plan's schema (plan).
//
// Everything under shared/ builds for GOOS=js GOARCH=wasm and does no I/O, so
// the browser and the server run exactly the same merge code. It imports the
// standard library only: msgpack is written by hand in wire (it says why),
// and the msgpack library appears only in tests, as the reference the
// hand-written bytes are checked against.
package shared
