package memstore_test

import (
	"testing"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/client/storetest"
)

type opener struct{}

func (opener) Open(t *testing.T) client.Store { return memstore.New() }

func (opener) Reopen(t *testing.T, s client.Store) client.Store {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s.(*memstore.Store).Reopen()
}

func TestConformance(t *testing.T) { storetest.Run(t, opener{}) }

func (opener) PlantJournal(t *testing.T, s client.Store, j client.JournalOp) {
	if err := s.(*memstore.Store).PlantJournal(j); err != nil {
		t.Fatal(err)
	}
}
