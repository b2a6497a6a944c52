//go:build js && wasm

// Package idbstore is the browser's client.Store: the device's copy of its
// spaces in IndexedDB, so the app opens with no network and an edit survives
// a closed tab, a reload or a crash.
//
// Four object stores, all with out-of-line keys and values kept as the
// bytes the client package encodes (so a stored value reads back exactly as
// memstore's would):
//
//	records  "space|collection|id" -> record.Marshal bytes
//	outbox   LocalSeq (a number, so keys sort numerically) -> client.MarshalPending bytes
//	cursors  space id -> cursor (a number)
//	meta     "meta" -> client.MarshalMeta bytes; "seq" -> highest LocalSeq allocated (a number)
//	journal  LocalSeq (a number) -> client.JournalBytes: acked ops kept for a restored server
//	app      name -> string: the app's own small values (SetValue), such as
//	         the session token, which Reset leaves alone
//
// IndexedDB commits a transaction as soon as control returns to the event
// loop with none of its requests pending. A Go goroutine that waits on a
// timer, a channel fed by something else, or another await in the middle of
// a transaction therefore lets it commit half done. So every method here
// issues all of its requests at once, synchronously, and then waits only for
// the transaction's own complete, error or abort event; reading (Load) uses
// cursors that advance inside their own success handlers.
//
// A browser may delete the database under a running app (the person clears
// site data, another tab of the app deletes it, storage pressure closes it).
// The connection then gets a versionchange or close event; the Store closes
// its side, reports ErrLost from then on and calls Options.OnLost, and the
// app reopens it. The reopened database is empty, Load returns no Meta, and
// the engine starts over with a new device id and a full sync (see
// client.Engine.Open).
//
// Why syscall/js and not a wrapper library (hack-pad/go-indexeddb is the
// known one, and this package began on it): the wrapper cost 127 KB of the
// wasm, more than the budget allowed, and it logged from inside IndexedDB
// event handlers (which stalls them under Node, see the tests).
// What this store needs of IndexedDB is five request kinds and the
// transaction events, a few hundred lines here, and the transaction
// discipline above has to be spelled out by hand either way.
package idbstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Names and limits.
const (
	// DefaultName is the database name when Options.Name is empty.
	DefaultName = "plansync"
	// schemaVersion is the IndexedDB version of the layout above; a new
	// layout bumps it and migrates in upgrade. 2 added the journal store
	// (upgrade creates the stores a database lacks, so 1 needs nothing
	// else).
	schemaVersion = 2

	storeRecords = "records"
	storeOutbox  = "outbox"
	storeCursors = "cursors"
	storeMeta    = "meta"
	storeApp     = "app"
	storeJournal = "journal"
	metaKey      = "meta"
	// seqKeyName (in meta) is the highest outbox LocalSeq allocated, so a
	// number is never reused, even after its entry left the outbox.
	seqKeyName = "seq"

	// maxSafeInteger is the largest integer a JavaScript number holds
	// exactly (2^53-1). Outbox keys and cursors are numbers so that they
	// sort numerically; anything larger would silently round.
	maxSafeInteger = 1<<53 - 1
)

// dataStores are the client.Store's; Load reads and Reset clears them.
var dataStores = []string{storeRecords, storeOutbox, storeCursors, storeMeta, storeJournal}

var allStores = append(dataStores[:len(dataStores):len(dataStores)], storeApp)

// Errors.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("idbstore: closed")
	// ErrLost means the browser closed or deleted the database under the
	// app. Nothing more can be written through this Store: close it, open
	// a new one (it will be empty) and start a new engine on it.
	ErrLost = errors.New("idbstore: the browser closed or deleted the database")
	// ErrFull means the browser refused the write for lack of space
	// (QuotaExceededError). The edit was not saved.
	ErrFull = errors.New("idbstore: the browser has no room to store more on this device")
	// ErrUnavailable means this browser offers no IndexedDB (some private
	// modes, or storage disabled by the person).
	ErrUnavailable = errors.New("idbstore: this browser does not let the app store data (IndexedDB unavailable)")
)

// Options configure Open.
type Options struct {
	// Name is the database name (DefaultName when empty). Tests use one
	// per store.
	Name string
	// OnLost, when set, is called once when the browser closes or deletes
	// the database (see ErrLost). It runs on the browser's event loop and
	// must not block: hand off to a goroutine.
	OnLost func()
}

// Store is a client.Store on IndexedDB; safe for concurrent use.
type Store struct {
	jsDB   js.Value
	onLost func()

	// listeners are the versionchange and close handlers on jsDB, removed
	// and released by Close.
	listeners map[string]js.Func

	mu     sync.Mutex
	closed bool
	lost   bool
}

var _ client.Store = (*Store)(nil)

// Open opens (creating when needed) the database.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if !js.Global().Get("indexedDB").Truthy() {
		return nil, ErrUnavailable
	}
	var req js.Value
	err := try(func() { req = js.Global().Get("indexedDB").Call("open", o.Name, schemaVersion) })
	if err != nil {
		return nil, fmt.Errorf("idbstore: open %s: %w", o.Name, err)
	}
	up := js.FuncOf(func(js.Value, []js.Value) any {
		upgrade(req)
		return nil
	})
	req.Set("onupgradeneeded", up)
	jsDB, err := awaitRequest(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			// The open goes on: close what it opens.
			var closer js.Func
			closer = js.FuncOf(func(js.Value, []js.Value) any {
				_ = try(func() { req.Get("result").Call("close") })
				closer.Release()
				return nil
			})
			req.Set("onsuccess", closer)
		}
		req.Set("onupgradeneeded", js.Null())
		up.Release()
		return nil, fmt.Errorf("idbstore: open %s: %w", o.Name, err)
	}
	req.Set("onupgradeneeded", js.Null())
	up.Release()
	s := &Store{jsDB: jsDB, onLost: o.OnLost, listeners: map[string]js.Func{}}
	// versionchange: another tab (or a deleteDatabase) wants the database;
	// we must close our connection or it waits forever. close: the browser
	// closed it for us (site data cleared, storage failure). Either way
	// this connection is done.
	for _, ev := range []string{"versionchange", "close"} {
		f := js.FuncOf(func(js.Value, []js.Value) any {
			s.markLost()
			return nil
		})
		s.listeners[ev] = f
		jsDB.Call("addEventListener", ev, f)
	}
	return s, nil
}

// upgrade creates the object stores of schemaVersion. It runs in the
// upgradeneeded handler, inside the version-change transaction.
func upgrade(req js.Value) {
	err := try(func() {
		db := req.Get("result")
		have := db.Get("objectStoreNames")
		for _, name := range allStores {
			if !have.Call("contains", name).Bool() {
				db.Call("createObjectStore", name)
			}
		}
	})
	if err != nil {
		// The open request then fails with an AbortError.
		_ = try(func() { req.Get("transaction").Call("abort") })
	}
}

// markLost closes the connection after the browser took the database
// away, and tells the app once. Called from event handlers: never blocks.
func (s *Store) markLost() {
	s.mu.Lock()
	first := !s.lost && !s.closed
	s.lost = true
	s.mu.Unlock()
	if !first {
		return
	}
	_ = try(func() { s.jsDB.Call("close") })
	if s.onLost != nil {
		s.onLost()
	}
}

// Lost reports whether the browser took the database away (see ErrLost).
func (s *Store) Lost() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.lost:
		return ErrLost
	}
	return nil
}

// translate maps IndexedDB's exceptions to this package's errors. An
// InvalidStateError from a connection we did not close means the browser
// closed it (some browsers fire no close event).
func (s *Store) translate(err error) error {
	switch {
	case err == nil:
		return nil
	case isDOM(err, "QuotaExceededError"):
		return fmt.Errorf("%w (%v)", ErrFull, err)
	case isDOM(err, "InvalidStateError"):
		if cerr := s.check(); cerr != nil {
			return cerr
		}
		s.markLost()
		return fmt.Errorf("%w (%v)", ErrLost, err)
	}
	return fmt.Errorf("idbstore: %w", err)
}

// Transaction modes and durability hints.
const (
	readOnly  = "readonly"
	readWrite = "readwrite"

	durabilityDefault = ""
	durabilityRelaxed = "relaxed"
	durabilityStrict  = "strict"
)

// begin starts a transaction over stores.
func (s *Store) begin(mode, durability string, stores ...string) (*txn, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	names := make([]any, len(stores))
	for i, n := range stores {
		names[i] = n
	}
	args := []any{js.ValueOf(names), mode}
	if durability != durabilityDefault {
		args = append(args, map[string]any{"durability": durability})
	}
	t, err := call(s.jsDB, "transaction", args...)
	if err != nil {
		return nil, s.translate(err)
	}
	return &txn{t: t, ev: listen(t, "complete", "abort")}, nil
}

// finish waits for t to complete, every request having been issued
// already. A transaction always ends by itself, so the wait is bounded
// without a timer; a cancelled ctx aborts it, and finish still waits for
// the abort so that the answer is certain: nil means committed.
func (s *Store) finish(ctx context.Context, t *txn) error {
	stop := context.AfterFunc(ctx, t.abort)
	defer stop()
	if err := t.wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.translate(err)
	}
	return nil
}

// fail aborts t after a request could not be issued, and waits for it to
// end.
func (s *Store) fail(t *txn, err error) error {
	t.abort()
	_ = t.wait()
	return s.translate(err)
}

func recordKey(k record.Key) string {
	return k.Space.String() + "|" + k.Collection + "|" + k.ID.String()
}

func seqKey(seq uint64) (js.Value, error) {
	if seq > maxSafeInteger {
		return js.Value{}, fmt.Errorf("idbstore: number %d too large to store exactly", seq)
	}
	return js.ValueOf(float64(seq)), nil
}

// bytesToJS copies b into a new Uint8Array, which IndexedDB stores by
// structured clone.
func bytesToJS(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

// bytesFromJS copies a stored Uint8Array.
func bytesFromJS(v js.Value) ([]byte, error) {
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return nil, fmt.Errorf("idbstore: stored value is a %s, not bytes", v.Type())
	}
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// Load implements client.Store: one read-only transaction over all four
// stores, so the snapshot is consistent. Every request is issued at once,
// before anything waits; getAll where the browser has it (the values come
// in key order), else cursors that continue from their own success
// handlers, so the transaction stays active until all have walked their
// store.
func (s *Store) Load(ctx context.Context) (*client.Snapshot, error) {
	t, err := s.begin(readOnly, durabilityDefault, dataStores...)
	if err != nil {
		return nil, err
	}
	var (
		recs, ops, jops [][]byte
		cursors         = map[uuid.UUID]uint64{}
		// walkErr is set by the cursor handlers on the event loop, and
		// read only after the transaction has ended.
		walkErr error
		metaReq js.Value
		gets    []func() error // read the getAll results after the end
	)
	bytesInto := func(dst *[][]byte) func(k, v js.Value) error {
		return func(_, v js.Value) error {
			b, err := bytesFromJS(v)
			if err == nil {
				*dst = append(*dst, b)
			}
			return err
		}
	}
	cursorEntry := func(k, v js.Value) error {
		if k.Type() != js.TypeString || v.Type() != js.TypeNumber {
			return fmt.Errorf("idbstore: bad cursor entry %s", jsString(k))
		}
		sp, err := uuid.Parse(k.String())
		if err != nil {
			return fmt.Errorf("idbstore: bad cursor entry %s", k.String())
		}
		cursors[sp] = uint64(v.Float())
		return nil
	}
	read := func(store string, each func(k, v js.Value) error, keys bool) error {
		os, err := t.store(store)
		if err != nil {
			return err
		}
		if !os.Get("getAll").Truthy() {
			return t.walk(os, each, &walkErr)
		}
		var kreq, vreq js.Value
		if keys {
			if kreq, err = call(os, "getAllKeys"); err != nil {
				return err
			}
		}
		if vreq, err = call(os, "getAll"); err != nil {
			return err
		}
		gets = append(gets, func() error {
			vs := vreq.Get("result")
			var ks js.Value
			if keys {
				ks = kreq.Get("result")
				if ks.Length() != vs.Length() {
					return errors.New("idbstore: keys and values differ in number")
				}
			}
			for i, n := 0, vs.Length(); i < n; i++ {
				k := js.Undefined()
				if keys {
					k = ks.Index(i)
				}
				if err := each(k, vs.Index(i)); err != nil {
					return err
				}
			}
			return nil
		})
		return nil
	}
	metaStore, err := t.store(storeMeta)
	if err == nil {
		metaReq, err = call(metaStore, "get", metaKey)
	}
	if err == nil {
		err = read(storeRecords, bytesInto(&recs), false)
	}
	if err == nil {
		err = read(storeOutbox, bytesInto(&ops), false)
	}
	if err == nil {
		err = read(storeCursors, cursorEntry, true)
	}
	if err == nil {
		err = read(storeJournal, bytesInto(&jops), false)
	}
	if err != nil {
		return nil, s.fail(t, err)
	}
	if err := s.finish(ctx, t); err != nil {
		if walkErr != nil && ctx.Err() == nil {
			return nil, s.translate(walkErr)
		}
		return nil, err
	}
	if walkErr != nil {
		return nil, s.translate(walkErr)
	}
	for _, get := range gets {
		if err := get(); err != nil {
			return nil, err
		}
	}

	snap := &client.Snapshot{Records: make(map[record.Key]*record.Record, len(recs)), Cursors: cursors}
	if mv := metaReq.Get("result"); !mv.IsUndefined() {
		b, err := bytesFromJS(mv)
		if err != nil {
			return nil, err
		}
		m, err := client.UnmarshalMeta(b)
		if err != nil {
			return nil, err
		}
		snap.Meta = &m
	}
	for _, b := range recs {
		r, err := record.Unmarshal(b)
		if err != nil {
			return nil, err
		}
		snap.Records[r.Key()] = r
	}
	// The outbox store is keyed by LocalSeq as a number, so getAll or the
	// cursor read it in LocalSeq order already.
	for _, b := range ops {
		p, err := client.UnmarshalPending(b)
		if err != nil {
			return nil, err
		}
		snap.Outbox = append(snap.Outbox, p)
	}
	inOutbox := make(map[uint64]bool, len(snap.Outbox))
	for _, p := range snap.Outbox {
		inOutbox[p.LocalSeq] = true
	}
	for _, b := range jops { // keyed by LocalSeq too: in order
		j, err := client.UnmarshalJournal(b)
		if err != nil {
			return nil, err
		}
		if inOutbox[j.LocalSeq] {
			continue // an outbox op, to be sent (see storetest's OutboxAndJournal)
		}
		snap.Journal = append(snap.Journal, j)
	}
	return snap, nil
}

// AddPending implements client.Store. It returns after the transaction's
// complete event, with strict durability: the browser has flushed the edit
// to disk, so "saved on this device" survives a power cut, not only a
// closed tab. An edit is one small write; the flush is worth it.
//
// The LocalSeq is allocated inside the transaction, so that the app's tabs,
// each with an engine on this database, never reuse one: it is one more
// than the highest of the outbox's last key and the high-water mark kept
// in meta under seqKeyName, or the engine's hint when that is higher. The
// two reads are issued at once; the writes go out from the second read's
// success handler, on the event loop, while the transaction is still
// active (see the package comment).
func (s *Store) AddPending(ctx context.Context, p client.PendingOp) (uint64, error) {
	if _, err := seqKey(p.LocalSeq); err != nil {
		return 0, err
	}
	t, err := s.begin(readWrite, durabilityStrict, storeOutbox, storeMeta)
	if err != nil {
		return 0, err
	}
	var (
		last, hw js.Value
		// set by the handler on the event loop, read after the end
		handlerErr error
	)
	outbox, err := t.store(storeOutbox)
	var meta js.Value
	if err == nil {
		meta, err = t.store(storeMeta)
	}
	if err == nil {
		last, err = call(outbox, "openCursor", js.Null(), "prev")
	}
	if err == nil {
		hw, err = call(meta, "get", seqKeyName)
	}
	if err != nil {
		return 0, s.fail(t, err)
	}
	f := js.FuncOf(func(js.Value, []js.Value) any {
		if c := last.Get("result"); c.Type() == js.TypeObject && c.Get("key").Type() == js.TypeNumber {
			p.LocalSeq = max(p.LocalSeq, uint64(c.Get("key").Float())+1)
		}
		if v := hw.Get("result"); v.Type() == js.TypeNumber {
			p.LocalSeq = max(p.LocalSeq, uint64(v.Float())+1)
		}
		handlerErr = func() error {
			b, err := client.MarshalPending(p)
			if err != nil {
				return err
			}
			key, err := seqKey(p.LocalSeq)
			if err != nil {
				return err
			}
			if _, err := call(outbox, "put", bytesToJS(b), key); err != nil {
				return err
			}
			_, err = call(meta, "put", key, seqKeyName)
			return err
		}()
		if handlerErr != nil {
			t.abort()
		}
		return nil
	})
	t.after = append(t.after, f)
	hw.Set("onsuccess", f)
	if err := s.finish(ctx, t); err != nil {
		if handlerErr != nil && ctx.Err() == nil {
			return 0, s.translate(handlerErr)
		}
		return 0, err
	}
	if handlerErr != nil {
		return 0, s.translate(handlerErr)
	}
	return p.LocalSeq, nil
}

// ApplyChanges implements client.Store: the records and the cursor in one
// transaction. Durability is relaxed: a page lost to a power cut is sent
// again from the older cursor, while a flush per page would slow the first
// sync of a big space on a cheap phone.
func (s *Store) ApplyChanges(ctx context.Context, space uuid.UUID, cursor uint64, records []*record.Record) error {
	enc := make([][]byte, len(records))
	for i, r := range records {
		b, err := record.Marshal(r) // reads r only (record.Marshal encodes a copy)
		if err != nil {
			return err
		}
		enc[i] = b
	}
	cur, err := seqKey(cursor)
	if err != nil {
		return err
	}
	t, err := s.begin(readWrite, durabilityRelaxed, storeRecords, storeCursors)
	if err != nil {
		return err
	}
	rs, err := t.store(storeRecords)
	if err != nil {
		return s.fail(t, err)
	}
	for i, r := range records {
		if _, err := call(rs, "put", bytesToJS(enc[i]), recordKey(r.Key())); err != nil {
			return s.fail(t, err)
		}
	}
	cs, err := t.store(storeCursors)
	if err == nil {
		_, err = call(cs, "put", cur, space.String())
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finish(ctx, t)
}

// RemovePending implements client.Store.
func (s *Store) RemovePending(ctx context.Context, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	t, err := s.begin(readWrite, durabilityDefault, storeOutbox)
	if err != nil {
		return err
	}
	os, err := t.store(storeOutbox)
	if err != nil {
		return s.fail(t, err)
	}
	for _, q := range seqs {
		if q > maxSafeInteger {
			continue // never stored
		}
		if _, err := call(os, "delete", float64(q)); err != nil {
			return s.fail(t, err)
		}
	}
	return s.finish(ctx, t)
}

// DropSpace implements client.Store in one transaction: the cursor, the
// outbox entries and the space's records (one key range, every key that
// starts with "space|").
func (s *Store) DropSpace(ctx context.Context, space uuid.UUID, seqs []uint64) error {
	t, err := s.begin(readWrite, durabilityStrict, storeRecords, storeCursors, storeOutbox)
	if err != nil {
		return err
	}
	cs, err := t.store(storeCursors)
	if err == nil {
		_, err = call(cs, "delete", space.String())
	}
	var os, rs js.Value
	if err == nil {
		os, err = t.store(storeOutbox)
	}
	for _, q := range seqs {
		if err != nil {
			break
		}
		if q <= maxSafeInteger { // larger was never stored
			_, err = call(os, "delete", float64(q))
		}
	}
	if err == nil {
		rs, err = t.store(storeRecords)
	}
	if err == nil {
		// "|" sorts right below "}": the range holds exactly the keys of
		// this space (recordKey).
		var keys js.Value
		if err = try(func() {
			keys = js.Global().Get("IDBKeyRange").Call("bound", space.String()+"|", space.String()+"}")
		}); err == nil {
			_, err = call(rs, "delete", keys)
		}
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finish(ctx, t)
}

// UpdatePending implements client.Store: one strict transaction over the
// outbox and meta. A cursor walks the outbox and replaces, from its own
// success handler, each entry that has a replacement, so an entry removed
// meanwhile is not written back (see the package comment on handlers).
func (s *Store) UpdatePending(ctx context.Context, ops []client.PendingOp, meta *client.Meta) error {
	repl := make(map[uint64][]byte, len(ops))
	for _, p := range ops {
		b, err := client.MarshalPending(p)
		if err != nil {
			return err
		}
		repl[p.LocalSeq] = b
	}
	var mb []byte
	if meta != nil {
		b, err := client.MarshalMeta(*meta)
		if err != nil {
			return err
		}
		mb = b
	}
	t, err := s.begin(readWrite, durabilityStrict, storeOutbox, storeMeta)
	if err != nil {
		return err
	}
	var walkErr error
	outbox, err := t.store(storeOutbox)
	if err == nil {
		err = t.walk(outbox, func(k, _ js.Value) error {
			if k.Type() != js.TypeNumber {
				return nil
			}
			if b, ok := repl[uint64(k.Float())]; ok {
				_, err := call(outbox, "put", bytesToJS(b), k)
				return err
			}
			return nil
		}, &walkErr)
	}
	if err == nil && mb != nil {
		var ms js.Value
		if ms, err = t.store(storeMeta); err == nil {
			_, err = call(ms, "put", bytesToJS(mb), metaKey)
		}
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finishWalk(ctx, t, &walkErr)
}

// finishWalk is finish for a transaction whose handlers may have failed.
func (s *Store) finishWalk(ctx context.Context, t *txn, walkErr *error) error {
	if err := s.finish(ctx, t); err != nil {
		if *walkErr != nil && ctx.Err() == nil {
			return s.translate(*walkErr)
		}
		return err
	}
	if *walkErr != nil {
		return s.translate(*walkErr)
	}
	return nil
}

// AckPending implements client.Store: one transaction over the outbox and
// the journal; a cursor over the range of acked numbers (one push's, so
// consecutive, not the whole outbox) moves each acked entry it finds, its
// bytes as they are (client.JournalBytes).
func (s *Store) AckPending(ctx context.Context, acked []client.JournalOp, trim []uint64) error {
	seqs := make(map[uint64]uint64, len(acked)) // LocalSeq → seq
	var lo, hi uint64
	for i, j := range acked {
		if j.LocalSeq > maxSafeInteger {
			continue // never stored
		}
		seqs[j.LocalSeq] = j.Seq
		if i == 0 || j.LocalSeq < lo {
			lo = j.LocalSeq
		}
		hi = max(hi, j.LocalSeq)
	}
	t, err := s.begin(readWrite, durabilityDefault, storeOutbox, storeJournal)
	if err != nil {
		return err
	}
	var walkErr error
	outbox, err := t.store(storeOutbox)
	var journal js.Value
	if err == nil {
		journal, err = t.store(storeJournal)
	}
	for _, q := range trim {
		if err != nil {
			break
		}
		if q <= maxSafeInteger {
			_, err = call(journal, "delete", float64(q))
		}
	}
	if err == nil && len(seqs) > 0 {
		var rng js.Value
		if err = try(func() { rng = js.Global().Get("IDBKeyRange").Call("bound", float64(lo), float64(hi)) }); err == nil {
			err = t.walkIn(outbox, rng, func(k, v js.Value) error {
				if k.Type() != js.TypeNumber {
					return nil
				}
				seq, ok := seqs[uint64(k.Float())]
				if !ok {
					return nil
				}
				pb, err := bytesFromJS(v)
				if err != nil {
					return err
				}
				if _, err := call(outbox, "delete", k); err != nil {
					return err
				}
				_, err = call(journal, "put", bytesToJS(client.JournalBytes(seq, pb)), k)
				return err
			}, &walkErr)
		}
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finishWalk(ctx, t, &walkErr)
}

// Rebase implements client.Store: one strict transaction clears records
// and cursors, walks the journal moving each entry's outbox bytes (the
// entry after its seq, client.JournalBytes) into the outbox, and saves the
// metadata. An op the outbox holds already keeps its outbox copy (see
// storetest's OutboxAndJournal): the outbox's keys are read by a request
// issued before the walk, so its result is in before the walk's first
// step (a transaction's requests complete in the order they were made).
func (s *Store) Rebase(ctx context.Context, m client.Meta) error {
	mb, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	t, err := s.begin(readWrite, durabilityStrict, storeRecords, storeCursors, storeOutbox, storeJournal, storeMeta)
	if err != nil {
		return err
	}
	var walkErr error
	for _, name := range []string{storeRecords, storeCursors} {
		var os js.Value
		if os, err = t.store(name); err == nil {
			_, err = call(os, "clear")
		}
		if err != nil {
			return s.fail(t, err)
		}
	}
	outbox, err := t.store(storeOutbox)
	var journal, meta, keysReq js.Value
	if err == nil {
		journal, err = t.store(storeJournal)
	}
	if err == nil {
		meta, err = t.store(storeMeta)
	}
	if err == nil {
		_, err = call(meta, "put", bytesToJS(mb), metaKey)
	}
	if err == nil && outbox.Get("getAllKeys").Truthy() {
		// Without it (IndexedDB 1), the journal's copy is put over the
		// outbox's: the op is sent either way.
		keysReq, err = call(outbox, "getAllKeys")
	}
	if err == nil {
		var held map[uint64]bool // the outbox's keys, read at the first step
		err = t.walk(journal, func(k, v js.Value) error {
			if held == nil && !keysReq.IsUndefined() {
				held = map[uint64]bool{}
				ks := keysReq.Get("result")
				for i, n := 0, ks.Length(); i < n; i++ {
					if kv := ks.Index(i); kv.Type() == js.TypeNumber {
						held[uint64(kv.Float())] = true
					}
				}
			}
			if k.Type() != js.TypeNumber {
				return fmt.Errorf("idbstore: journal key %s", jsString(k))
			}
			if !held[uint64(k.Float())] {
				b, err := bytesFromJS(v)
				if err != nil {
					return err
				}
				if len(b) < 8 {
					return fmt.Errorf("idbstore: journal entry %s of %d bytes", jsString(k), len(b))
				}
				if _, err := call(outbox, "put", bytesToJS(b[8:]), k); err != nil {
					return err
				}
			}
			_, err := call(journal, "delete", k)
			return err
		}, &walkErr)
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finishWalk(ctx, t, &walkErr)
}

// SaveMeta implements client.Store. Strict: the device id in it must not
// fall back to an older one after a crash.
func (s *Store) SaveMeta(ctx context.Context, m client.Meta) error {
	b, err := client.MarshalMeta(m)
	if err != nil {
		return err
	}
	return s.put(ctx, storeMeta, metaKey, bytesToJS(b))
}

// put writes (or, with v undefined, deletes) one entry.
func (s *Store) put(ctx context.Context, store, key string, v js.Value) error {
	t, err := s.begin(readWrite, durabilityStrict, store)
	if err != nil {
		return err
	}
	os, err := t.store(store)
	if err == nil {
		if v.IsUndefined() {
			_, err = call(os, "delete", key)
		} else {
			_, err = call(os, "put", v, key)
		}
	}
	if err != nil {
		return s.fail(t, err)
	}
	return s.finish(ctx, t)
}

// Reset implements client.Store: the data stores cleared in one
// transaction. What SetValue kept stays: the engine resets the store when
// another account signs in on the device, and the new account's token
// must survive that.
func (s *Store) Reset(ctx context.Context) error {
	t, err := s.begin(readWrite, durabilityStrict, dataStores...)
	if err != nil {
		return err
	}
	for _, name := range dataStores {
		os, err := t.store(name)
		if err == nil {
			_, err = call(os, "clear")
		}
		if err != nil {
			return s.fail(t, err)
		}
	}
	return s.finish(ctx, t)
}

// SetValue keeps a small string for the app in the same database as the
// data (the session token, for one), so that a wiped database takes it
// too; Reset does not. An empty value deletes it.
func (s *Store) SetValue(ctx context.Context, name, value string) error {
	v := js.Undefined()
	if value != "" {
		v = js.ValueOf(value)
	}
	return s.put(ctx, storeApp, name, v)
}

// Value returns what SetValue kept under name, "" when nothing.
func (s *Store) Value(ctx context.Context, name string) (string, error) {
	t, err := s.begin(readOnly, durabilityDefault, storeApp)
	if err != nil {
		return "", err
	}
	os, err := t.store(storeApp)
	var req js.Value
	if err == nil {
		req, err = call(os, "get", name)
	}
	if err != nil {
		return "", s.fail(t, err)
	}
	if err := s.finish(ctx, t); err != nil {
		return "", err
	}
	v := req.Get("result")
	if v.Type() != js.TypeString {
		return "", nil
	}
	return v.String(), nil
}

// Close implements client.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	for ev, f := range s.listeners {
		s.jsDB.Call("removeEventListener", ev, f)
		f.Release()
	}
	_ = try(func() { s.jsDB.Call("close") })
	return nil
}

// Delete deletes the database name, waiting until it is gone. Open
// connections (this app's other tabs) get a versionchange event and close
// theirs. It is for tests and for signing out of a device for good.
func Delete(ctx context.Context, name string) error {
	if !js.Global().Get("indexedDB").Truthy() {
		return ErrUnavailable
	}
	req, err := call(js.Global().Get("indexedDB"), "deleteDatabase", name)
	if err != nil {
		return err
	}
	_, err = awaitRequest(ctx, req)
	return err
}
