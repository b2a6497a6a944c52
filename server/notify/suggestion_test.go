package notify

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/uuid"
)

// A family's suggestion answered: the family hears of each decision once,
// in its language, with a link to the suggestion; a suggestion written,
// an answer's reason reworded, or a teacher's own suggestion decided tells
// nobody.
func TestSuggestionAnswered(t *testing.T) {
	fake := &twilioFake{}
	api := httptest.NewServer(fake)
	defer api.Close()
	prov := &TwilioStyle{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok-secret", From: "+15550001111", HTTPClient: api.Client()}
	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{SMS{P: prov}}})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15551230000", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	w.setPrefs(w.teacher.ID, Prefs{Channels: []string{ChanSMS}, Phone: "+15559870000", TimeZone: "UTC", Digest: DigestNow, Lang: "en"})
	dispatch := func(what string, want int) {
		t.Helper()
		if n, err := svc.DispatchOnce(context.Background()); err != nil || n != want {
			t.Fatalf("%s: sent %d, %v; want %d", what, n, err, want)
		}
	}
	last := func() (to, body string) {
		s := fake.sent()
		return s[len(s)-1].Get("To"), s[len(s)-1].Get("Body")
	}

	sug := uuid.Must(uuid.NewV7())
	w.write(w.parent.ID, "suggestions", sug, map[string]any{"kind": "new_goal", "text": "Leer 20 minutos cada noche", "lang": "es", "author_name": "Rosa"})
	dispatch("the suggestion written", 0)

	w.edit(w.teacher.ID, "suggestions", sug, map[string]any{"status": "declined", "decline_reason": "Ya está en la meta de lectura", "decision_lang": "es", "decided_by_name": "Ms. Lee"})
	dispatch("declined", 1)
	to, body := last()
	if to != "+15551230000" || !strings.Contains(body, "Ms. Lee respondió a su sugerencia en el plan de Ana") || !strings.Contains(body, "/#/s/"+w.plan.ID.String()+"/suggestions/"+sug.String()) {
		t.Errorf("declined: to %s: %q", to, body)
	}
	if strings.Contains(body, "Leer 20") || strings.Contains(body, "lectura") {
		t.Errorf("the message carries the plan's words: %q", body)
	}

	w.edit(w.teacher.ID, "suggestions", sug, map[string]any{"decline_reason": "Ya está en la meta de lectura de octubre"})
	dispatch("the reason reworded", 0)

	w.edit(w.teacher.ID, "suggestions", sug, map[string]any{"status": "accepted"})
	dispatch("accepted after all", 1)
	if to, body := last(); to != "+15551230000" || !strings.Contains(body, "respondió a su sugerencia") {
		t.Errorf("accepted: to %s: %q", to, body)
	}

	own := uuid.Must(uuid.NewV7())
	w.write(w.teacher.ID, "suggestions", own, map[string]any{"kind": "new_goal", "text": "Math facts", "lang": "en"})
	w.edit(w.teacher.ID, "suggestions", own, map[string]any{"status": "accepted"})
	dispatch("a teacher's own suggestion", 0)
}
