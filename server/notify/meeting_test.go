package notify

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// edit changes fields of an existing record, basing each write on the
// version the author sees, as a device does.
func (w *world) edit(author uuid.UUID, coll string, id uuid.UUID, fields map[string]any) {
	w.t.Helper()
	rec, err := w.st.Record(context.Background(), record.Key{Space: w.plan.ID, Collection: coll, ID: id})
	must(w.t, err)
	op := record.Op{Space: w.plan.ID, Collection: coll, ID: id, HLC: w.hlc.Now(), Node: w.node, Author: author}
	for _, k := range sortedKeys(fields) {
		wr := record.Write{Name: k, Value: fields[k]}
		if f := rec.Fields[k]; f != nil {
			ref := f.Ref()
			wr.Base = &ref
		}
		op.Writes = append(op.Writes, wr)
	}
	must(w.t, op.Validate())
	res, err := w.st.Commit(context.Background(), []record.Op{op})
	must(w.t, err)
	must(w.t, res[0].Err)
	w.waitConsumed()
}

// A meeting proposed, then moved: a text each time, and the day-before
// reminder follows the meeting; a cancelled meeting's reminder is dropped.
func TestMeetingProposedChangedAndReminder(t *testing.T) {
	fake := &twilioFake{}
	api := httptest.NewServer(fake)
	defer api.Close()
	prov := &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}
	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{SMS{P: prov}}})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	dispatch := func(want int) {
		t.Helper()
		if n, err := svc.DispatchOnce(context.Background()); err != nil || n != want {
			t.Fatalf("sent %d, %v; want %d", n, err, want)
		}
	}
	last := func() string {
		s := fake.sent()
		return s[len(s)-1].Get("Body")
	}
	now := w.clock.Now()
	start := time.Date(now.Year(), now.Month(), now.Day()+3, 17, 0, 0, 0, time.UTC)
	times := func(at time.Time) []any {
		return []any{map[string]any{"start": at.Format(time.RFC3339), "place": "school"}}
	}
	m := uuid.Must(uuid.NewV7())
	w.write(w.teacher.ID, "meetings", m, map[string]any{"title": "IEP review", "lang": "en", "status": "proposed", "proposed_times": times(start)})
	dispatch(1)
	if b := last(); !strings.Contains(b, "Ms. Lee propuso una reunión sobre Ana") || !strings.Contains(b, "17:00") || !strings.Contains(b, "/meetings/"+m.String()) {
		t.Errorf("proposed: %q", b)
	}
	moved := start.Add(24 * time.Hour)
	w.edit(w.teacher.ID, "meetings", m, map[string]any{"proposed_times": times(moved), "status": "scheduled"})
	dispatch(1)
	if b := last(); !strings.Contains(b, "La reunión sobre Ana cambió") {
		t.Errorf("changed: %q", b)
	}
	// Notes taken on the meeting tell nobody.
	w.edit(w.teacher.ID, "meetings", m, map[string]any{"agenda": "goals"})
	dispatch(0)

	// The old reminder time passes quietly; the new one sends.
	w.clock.Add(start.Add(-reminderBefore + time.Minute).Sub(w.clock.Now()))
	dispatch(0)
	w.clock.Add(24 * time.Hour)
	dispatch(1)
	if b := last(); !strings.Contains(b, "Recordatorio: reunión sobre Ana mañana") {
		t.Errorf("reminder: %q", b)
	}

	// A cancelled meeting sends its change, never its reminder.
	m2 := uuid.Must(uuid.NewV7())
	start2 := w.clock.Now().Add(72 * time.Hour)
	w.write(w.teacher.ID, "meetings", m2, map[string]any{"title": "Check-in", "lang": "en", "status": "scheduled", "proposed_times": times(start2)})
	dispatch(1)
	w.edit(w.teacher.ID, "meetings", m2, map[string]any{"status": "cancelled"})
	dispatch(1)
	w.clock.Add(start2.Add(-reminderBefore + time.Minute).Sub(w.clock.Now()))
	dispatch(0)
	if n := len(fake.sent()); n != 5 {
		t.Errorf("%d texts in all, want 5", n)
	}
}
