package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/shared/uuid"
)

// A daily digest gathers the day's notes into one email at the person's
// hour; an item the school marks urgent goes at once, in quiet hours and
// past the digest, on the same channel.
func TestDigestAndUrgent(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}})
	defer w.stop()
	now := w.clock.Now()
	// Quiet from an hour ago for three hours; the digest goes when they end.
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", QuietStart: hhmm(now.Add(-time.Hour)),
		QuietEnd: hhmm(now.Add(2 * time.Hour)), TimeZone: "UTC", Digest: DigestDaily, Lang: "en"})
	a := w.note(w.teacher.ID, "alpha-text-1")
	b := w.note(w.teacher.ID, "beta-text-2")
	urgentID := uuid.Must(uuid.NewV7())
	w.write(w.teacher.ID, "notes", urgentID, map[string]any{"lang": "en", "kind": "update", "text": "school closes at noon", "urgent": true})
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 {
		t.Fatalf("urgent: sent %d, want 1 at once", n)
	}
	msgs := sink.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	_, body := parseMail(t, msgs[0])
	if !strings.HasPrefix(body, "Urgent: Ms. Lee wrote a note in Ana's plan.") || !strings.Contains(body, urgentID.String()) {
		t.Errorf("urgent body:\n%s", body)
	}
	// A family's own "urgent" is not the school's.
	w.write(w.parent.ID, "notes", uuid.Must(uuid.NewV7()), map[string]any{"lang": "en", "kind": "update", "text": "x", "urgent": true})
	w.clock.Add(time.Hour)
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatalf("before the digest hour: sent %d", n)
	}
	w.clock.Add(time.Hour + time.Minute)
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 {
		t.Fatalf("at the digest hour: sent %d, want one digest", n)
	}
	msgs = sink.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	msg, body := parseMail(t, msgs[1])
	if !strings.Contains(msg.Header.Get("Subject"), "2 updates") || !strings.Contains(body, "/notes/"+a.String()) || !strings.Contains(body, "/notes/"+b.String()) {
		t.Errorf("digest %q:\n%s", msg.Header.Get("Subject"), body)
	}
	if strings.Contains(body, "alpha-text-1") || strings.Contains(body, "beta-text-2") {
		t.Error("the digest carries the notes' text")
	}
}

// A check-in at home a teacher leaves for the family to fill in asks the
// family, linking to the goal.
func TestCheckinRequest(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	goal := uuid.Must(uuid.NewV7())
	w.write(w.teacher.ID, "checkins", uuid.Must(uuid.NewV7()), map[string]any{"goal_id": goal.String(), "where": "home", "lang": "en"})
	w.write(w.teacher.ID, "checkins", uuid.Must(uuid.NewV7()), map[string]any{"goal_id": goal.String(), "where": "school", "what_happened": "read", "lang": "en"})
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 {
		t.Fatalf("sent %d, want the one request", n)
	}
	_, body := parseMail(t, sink.messages()[0])
	if !strings.Contains(body, "Ms. Lee pregunta cómo van las cosas en casa con Ana.") || !strings.Contains(body, fmt.Sprintf("/#/s/%s/goal/%s", w.plan.ID, goal)) {
		t.Errorf("body:\n%s", body)
	}
}

// Offer never waits: with a queue of one, a burst of commits is dropped
// from the queue, remembered as gaps and read back from the store, so
// every note is still told, once.
func TestOfferNeverWaitsAndGapsAreReadBack(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	hold := make(chan struct{})
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}, QueueLen: 1, hold: hold})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", TimeZone: "UTC", Digest: DigestNow, Lang: "en"})
	// The consumer is held: nothing reads the queue while the commits run.
	const notes = 20
	for range notes {
		id := uuid.Must(uuid.NewV7())
		w.commitOnly(w.teacher.ID, "notes", id, map[string]any{"lang": "en", "kind": "update", "text": "n"})
	}
	if st := svc.Stats(); st.Dropped == 0 {
		t.Fatalf("nothing dropped with a queue of one: %+v", st)
	}
	close(hold)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && svc.Stats().Queued < notes {
		time.Sleep(20 * time.Millisecond)
	}
	if st := svc.Stats(); st.Queued != notes {
		t.Fatalf("queued %d of %d: %+v", st.Queued, notes, st)
	}
	if n, _ := svc.DispatchOnce(context.Background()); n != 1 {
		t.Fatalf("sent %d, want one digest of the burst", n)
	}
}
