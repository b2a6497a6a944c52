//go:build js && wasm

package idbstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/idbstore"
	"github.com/plansync/plansync/client/storetest"
)

// These tests run under Node with fake-indexeddb loaded before the Go
// program (see wasm/API.md, "Tests"); in a browser they run as they are.

var dbSeq atomic.Int64

type opener struct{ name string }

func (o *opener) Open(t *testing.T) client.Store {
	t.Helper()
	o.name = fmt.Sprintf("test-%s-%d", t.Name(), dbSeq.Add(1))
	s, err := idbstore.Open(context.Background(), idbstore.Options{Name: o.name})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (o *opener) Reopen(t *testing.T, s client.Store) client.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := idbstore.Open(context.Background(), idbstore.Options{Name: o.name})
	if err != nil {
		t.Fatal(err)
	}
	return s2
}

func (o *opener) PlantJournal(t *testing.T, s client.Store, j client.JournalOp) {
	t.Helper()
	if err := s.(*idbstore.Store).PlantJournal(context.Background(), j); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	if !js.Global().Get("indexedDB").Truthy() {
		fmt.Println("SKIP: no indexedDB; run under Node with NODE_OPTIONS=--require=<fake-indexeddb>/auto")
		return
	}
	// Nothing in the store logs now (it once did, through go-indexeddb,
	// from inside an IndexedDB event handler, where Node's asynchronous
	// os.Stderr blocked the handler). Discarding stays as a guard: a log
	// write inside a handler would stall the other listeners under Node.
	log.SetOutput(io.Discard)
	m.Run()
}

func TestConformance(t *testing.T) { storetest.Run(t, &opener{}) }

// TestBigPage applies one page of a thousand 1 KiB records in one
// transaction and reads it back after a reopen.
func TestBigPage(t *testing.T) {
	ctx := context.Background()
	o := &opener{}
	s := o.Open(t)
	page := storetest.BigPage(1000)
	if err := s.ApplyChanges(ctx, page[0].Space, 1000, page); err != nil {
		t.Fatal(err)
	}
	s = o.Reopen(t, s)
	defer s.Close()
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Records) != 1000 || snap.Cursors[page[0].Space] != 1000 {
		t.Fatalf("%d records, cursor %d", len(snap.Records), snap.Cursors[page[0].Space])
	}
}

// TestDeletedUnderneath deletes the database while a Store has it open,
// as another tab signing out or the person clearing site data would: the
// Store reports ErrLost and calls OnLost, and a reopened store is empty.
func TestDeletedUnderneath(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("test-lost-%d", dbSeq.Add(1))
	lost := make(chan struct{})
	s, err := idbstore.Open(ctx, idbstore.Options{Name: name, OnLost: func() { close(lost) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveMeta(ctx, client.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPending(ctx, storetest.SampleOp(1)); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := idbstore.Delete(dctx, name); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("OnLost not called")
	}
	if _, err := s.AddPending(ctx, storetest.SampleOp(2)); !errors.Is(err, idbstore.ErrLost) {
		t.Fatalf("AddPending after delete: %v, want ErrLost", err)
	}
	s2, err := idbstore.Open(ctx, idbstore.Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	snap, err := s2.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Meta != nil || len(snap.Outbox) != 0 {
		t.Fatalf("reopened store not empty: %+v", snap)
	}
}

// TestValue checks the app's small values, and that Reset leaves them.
func TestValue(t *testing.T) {
	ctx := context.Background()
	o := &opener{}
	st := o.Open(t)
	s := st.(*idbstore.Store)
	if err := s.SetValue(ctx, "token", "secret"); err != nil {
		t.Fatal(err)
	}
	s = o.Reopen(t, s).(*idbstore.Store)
	defer s.Close()
	if v, err := s.Value(ctx, "token"); err != nil || v != "secret" {
		t.Fatalf("Value = %q, %v", v, err)
	}
	snap, err := s.Load(ctx)
	if err != nil || snap.Meta != nil {
		t.Fatalf("app value read as meta: %+v %v", snap, err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Value(ctx, "token"); v != "secret" {
		t.Fatalf("Value after Reset = %q", v)
	}
	if err := s.SetValue(ctx, "token", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Value(ctx, "token"); v != "" {
		t.Fatalf("Value after delete = %q", v)
	}
}
