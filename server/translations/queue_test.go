package translations_test

import (
	"context"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/server/translations"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// stuckEngine holds every translation until released: an engine that is
// slow or hung.
type stuckEngine struct {
	release chan struct{}
}

func (*stuckEngine) Name() string { return "stuck" }
func (*stuckEngine) Supports(context.Context, string, string) (bool, error) {
	return true, nil
}
func (e *stuckEngine) Translate(ctx context.Context, text, _, _ string) (string, error) {
	select {
	case <-e.release:
		return "[es] " + text, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// TestNotifyNeverBlocks: with the engine hung and the workers busy,
// Notify (the commit hook's work) returns at once however many records
// commit; past MaxQueue they are dropped and counted, not waited for; a
// record changed while it is being translated is translated again after,
// never by two workers at once; Close stops a worker stuck in the engine.
func TestNotifyNeverBlocks(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{FreeSpace: func() (uint64, error) { return 1 << 40, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	sp := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: "Ana", Kind: server.KindStudent, Created: time.Now()}
	u := &server.User{ID: uuid.Must(uuid.NewV7()), Name: "Rosa", Languages: []string{"es"}, Created: time.Now()}
	if err := st.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMember(ctx, server.Member{Space: sp.ID, User: u.ID, Role: server.RoleFamily}); err != nil {
		t.Fatal(err)
	}
	eng := &stuckEngine{release: make(chan struct{})}
	svc := translations.New(translations.Options{Store: st, Engine: eng, Workers: 1, MaxQueue: 3})
	closed := false
	defer func() {
		if !closed {
			svc.Close()
		}
	}()
	note := func(id uuid.UUID, text string) *record.Record {
		rec := &record.Record{Space: sp.ID, Collection: "notes", ID: id, Fields: map[string]*record.Field{}}
		op := record.Op{Space: sp.ID, Collection: "notes", ID: id, HLC: 0, Node: uuid.Must(uuid.NewV7()), Author: u.ID,
			Writes: []record.Write{{Name: "kind", Value: "update"}, {Name: "text", Value: text}, {Name: "lang", Value: "en"}}}
		op.HLC = hlcNow()
		res, err := st.Commit(ctx, []record.Op{op})
		if err != nil || res[0].Err != nil {
			t.Fatalf("commit: %v %v", err, res)
		}
		got, err := st.Record(ctx, rec.Key())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := note(uuid.Must(uuid.NewV7()), "First note")
	svc.Notify([]server.Committed{{Space: sp.ID, Records: []*record.Record{first}}})
	// Wait for the one worker to be stuck in the engine with it.
	deadline := time.Now().Add(5 * time.Second)
	for svc.Idle() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var recs []*record.Record
	for i := range 10 {
		recs = append(recs, note(uuid.Must(uuid.NewV7()), "Note "+string(rune('a'+i))))
	}
	start := time.Now()
	svc.Notify([]server.Committed{{Space: sp.ID, Records: recs}})
	svc.Notify([]server.Committed{{Space: sp.ID, Records: []*record.Record{first}}}) // changed while in flight
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Notify took %s with the engine hung", d)
	}
	if got := svc.Stats().Dropped; got != 7 {
		t.Errorf("dropped %d, want 7 (10 records, a queue of 3)", got)
	}
	close(eng.release)
	deadline = time.Now().Add(10 * time.Second)
	for !svc.Idle() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The first note once, three queued ones; the first note's second
	// turn finds its translation there.
	if got := svc.Stats().Translated; got != 4 {
		t.Errorf("translated %d, want 4", got)
	}
	k := record.Key{Space: sp.ID, Collection: plan.Translations, ID: plan.TranslationID("notes", first.ID, "text", plan.SourceHash("First note"), "es")}
	tr, err := st.Record(ctx, k)
	if err != nil || tr.HasConflicts() || tr.Value("text") != "[es] First note" {
		t.Fatalf("first note's translation: %v %+v", err, tr)
	}

	// Close stops a worker stuck in the engine.
	eng2 := &stuckEngine{release: make(chan struct{})}
	svc2 := translations.New(translations.Options{Store: st, Engine: eng2, Workers: 1})
	svc2.Notify([]server.Committed{{Space: sp.ID, Records: []*record.Record{note(uuid.Must(uuid.NewV7()), "Stuck")}}})
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { svc2.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop a worker stuck in the engine")
	}
	svc.Close()
	closed = true
}

var clock = hlc.NewClock(nil, 0)

func hlcNow() hlc.Timestamp { return clock.Now() }
