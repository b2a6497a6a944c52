package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/uuid"
)

// afterSend wraps a channel: once the inner channel has accepted a
// message, it runs then (the test closes the store there: the server
// "stops" after the send, before it could record it).
type afterSend struct {
	Channel
	mu   sync.Mutex
	then func()
}

func (a *afterSend) Send(ctx context.Context, m *Message) error {
	err := a.Channel.Send(ctx, m)
	a.mu.Lock()
	fn := a.then
	a.then = nil
	a.mu.Unlock()
	if fn != nil {
		fn()
	}
	return err
}

// The outbox survives a restart of the store mid-delivery without
// sending twice: the email went out, the store closed before "sent" was
// recorded; reopened, the item is found "sending" and, email telling no
// repeat apart, marked unsure and never sent again.
func TestQueueSurvivesRestartWithoutSendingTwice(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	ch := &afterSend{Channel: w.emailChannel(sink)}
	ch.then = func() { _ = w.st.Close() }
	svc := w.start(Options{Channels: []Channel{ch}})
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	w.note(w.teacher.ID, "hello")
	if _, err := svc.DispatchOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.messages()); n != 1 {
		t.Fatalf("%d messages before the restart", n)
	}
	w.stop()

	w.open()
	svc = w.start(Options{Channels: []Channel{w.emailChannel(sink)}})
	defer w.stop()
	for range 3 {
		w.clock.Add(DefaultReplyTTL / 10)
		if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 0 {
			t.Fatalf("after the restart: sent %d, %v", n, err)
		}
	}
	if n := len(sink.messages()); n != 1 {
		t.Fatalf("%d messages after the restart, want the one", n)
	}
	unsure, err := w.st.NotifyItems(context.Background(), w.school.ID, store.NotifyUnsure, 10)
	must(t, err)
	if len(unsure) != 1 || unsure[0].Attempts != 1 {
		t.Fatalf("unsure items %+v, want the one, attempted once", unsure)
	}
}

// Push tells repeats apart (its Topic), so an item found "sending" after
// a restart is sent again under the same Topic: the push service keeps
// one of the two.
func TestQueueRestartResendsIdempotentUnderSameKey(t *testing.T) {
	var mu sync.Mutex
	var topics []string
	ps := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		topics = append(topics, r.Header.Get("Topic"))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer ps.Close()
	priv, pub, err := webpush.GenerateVAPIDKeys()
	must(t, err)
	push, err := NewPush(PushConfig{PublicKey: pub, PrivateKey: priv, Subscriber: "mailto:office@school.example.org", HTTPClient: ps.Client()})
	must(t, err)
	w := newWorld(t)
	ch := &afterSend{Channel: push}
	ch.then = func() { _ = w.st.Close() }
	svc := w.start(Options{Channels: []Channel{ch}})
	sub := &PushSubscription{Endpoint: ps.URL + "/push/1"}
	sub.Keys.P256dh = rfcUAPublic
	sub.Keys.Auth = rfcAuth
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanPush}, Push: sub, TimeZone: "UTC", Digest: DigestNow, Lang: "en"})
	w.note(w.teacher.ID, "hello")
	_, _ = svc.DispatchOnce(context.Background())
	w.stop()

	w.open()
	svc = w.start(Options{Channels: []Channel{push}})
	defer w.stop()
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the restart: sent %d, %v", n, err)
	}
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 {
		t.Fatal("sent a third time")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(topics) != 2 || topics[0] != topics[1] || topics[0] == "" {
		t.Fatalf("topics %q: want the same one twice", topics)
	}
}

// A note committed but not yet read by the notifier when the server
// stopped is read back from the store at the next start, from the cursor
// the last run left, and told once.
func TestCommitsUnreadAtStopAreToldAfterRestart(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	hold := make(chan struct{}) // never closed: this run reads nothing
	w.start(Options{Channels: []Channel{w.emailChannel(sink)}, hold: hold})
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", TimeZone: "UTC", Digest: DigestNow, Lang: "en"})
	w.commitOnly(w.teacher.ID, "notes", uuid.Must(uuid.NewV7()), map[string]any{"lang": "en", "kind": "update", "text": "told late"})
	w.stop()

	w.open()
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}})
	defer w.stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && svc.Stats().Queued == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the restart: sent %d, %v", n, err)
	}
	// A third start reads nothing again.
	w.stop()
	w.open()
	svc = w.start(Options{Channels: []Channel{w.emailChannel(sink)}})
	time.Sleep(50 * time.Millisecond)
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 || len(sink.messages()) != 1 {
		t.Fatalf("told again: %d, %d messages", n, len(sink.messages()))
	}
}
