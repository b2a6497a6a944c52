// Package client is the sync engine every Plansync device runs: the browser
// (through wasm/), the w3 load generator and native tests.
//
// A device keeps a full local copy of every space its user belongs to, so
// the app opens and edits with no network at all. The Engine holds that copy
// in memory, loaded from a Store at Open: the records as the server last
// sent them, plus an outbox of the user's own edits (ops) not yet acknowledged.
// What the UI sees, the view, is the server's record with the pending ops laid
// on top by record.Apply; when the server's record moves, the pending ops are
// laid again on the new state (as Replicache does), so the user's own edit
// never flickers away and never hides someone else's.
//
// An edit is durable in the Store's outbox before Put returns ("saved on this
// device"), and leaves it only when the server has acknowledged it durably or
// refused it for good. Resending after a lost ack is safe: the server
// answers an op it already applied with "already applied". An acked edit
// moves to a bounded journal, which is sent again if the server comes back
// from a backup (a new incarnation in Welcome). Refusals that are about the
// device rather than the edit (a clock far off, a reused clock, a device id
// another session holds) are repaired here, by restamping, and the edit is
// sent again: see recover.go.
//
// One goroutine, started by Open and stopped by Close, owns the connection:
// it dials through a Transport, says Hello with a cursor per space, applies
// the Changes pages the server streams, pushes the outbox in order with a
// bounded window of unacknowledged pushes, and reconnects with exponential
// backoff and full jitter.
//
// The package builds for GOOS=js GOARCH=wasm and imports no net/http,
// crypto/tls or websocket library: transports and durable stores live in
// their own packages (wsdial, diskstore, and the browser's in wasm/).
package client
