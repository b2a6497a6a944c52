package notify

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/vmihailenco/msgpack/v5"
)

// Backoff between attempts: 30 s, doubling, at most 6 h, with a fifth of
// jitter so that a provider's outage does not end in a stampede.
const (
	backoffBase = 30 * time.Second
	backoffMax  = 6 * time.Hour
)

func backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 20)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	return d - time.Duration(rand.Int64N(int64(d/5)+1))
}

// batch is the items of one person, channel and plan that go out as one
// message (a digest when more than one).
type batch struct {
	items []*store.NotifyItem
	ps    []*payload
}

// DispatchOnce sends every item due now, once each, and returns how many
// messages went out. The dispatcher calls it every Poll; tests call it to
// step on a fake clock.
func (s *Service) DispatchOnce(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	items, err := s.o.Store.ClaimNotify(ctx, now, claimBatch)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	groups := map[string]*batch{}
	var order []string
	for _, it := range items {
		p := new(payload)
		if err := msgpack.Unmarshal(it.Payload, p); err != nil {
			s.log.Error("notify: item unreadable; failed", "item", it.ID, "err", err)
			s.finish(ctx, []*store.NotifyItem{it}, store.NotifyFailed, time.Time{}, "unreadable payload")
			continue
		}
		k := it.User.String() + "|" + it.Channel + "|" + p.Space.String()
		if groups[k] == nil {
			groups[k] = &batch{}
			order = append(order, k)
		}
		groups[k].items = append(groups[k].items, it)
		groups[k].ps = append(groups[k].ps, p)
	}
	sent := 0
	for _, k := range order {
		select {
		case <-s.stop:
			// Back in the queue, unsent; the next start sends them.
			s.finish(ctx, groups[k].items, store.NotifyQueued, now, "")
			continue
		default:
		}
		if s.send(ctx, now, groups[k]) {
			sent++
		}
	}
	return sent, nil
}

func (s *Service) finish(ctx context.Context, items []*store.NotifyItem, st store.NotifyState, retry time.Time, errText string) {
	ids := make([]uuid.UUID, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	if err := s.o.Store.FinishNotify(ctx, ids, st, retry, errText); err != nil {
		// Left "sending": the next start resolves them (RecoverNotify).
		s.log.Error("notify: recording outcome", "items", ids, "state", st.String(), "err", err)
	}
}

// send sends one batch and records its outcome; it reports whether a
// message went out.
func (s *Service) send(ctx context.Context, now time.Time, b *batch) bool {
	first := b.items[0]
	attempt := slices.MaxFunc(b.items, func(x, y *store.NotifyItem) int { return x.Attempts - y.Attempts }).Attempts
	log := s.log.With("user", first.User, "channel", first.Channel, "items", len(b.items), "attempt", attempt)
	prefs, err := s.prefs(ctx, first.User, b.ps[0].Space)
	if err != nil {
		log.Error("notify: reading preferences; retrying later", "err", err)
		s.finish(ctx, b.items, store.NotifyQueued, now.Add(backoff(attempt)), err.Error())
		return false
	}
	ch := s.chans[first.Channel]
	to := address(prefs, first.Channel)
	if ch == nil || to == "" {
		// The channel went away (the operator's configuration, the
		// person's address): the office rings instead.
		log.Warn("notify: channel no longer reaches the person; moved to the call list")
		s.finish(ctx, b.items, store.NotifyCall, time.Time{}, "no channel reaches the person")
		s.stats.called.Add(uint64(len(b.items)))
		return false
	}
	urgent := false
	for _, p := range b.ps {
		urgent = urgent || p.Urgent
	}
	// later is a time to try again that respects quiet hours (an urgent
	// item's do not apply).
	later := func(t time.Time) time.Time {
		if urgent {
			return t
		}
		return prefs.nextAllowed(t)
	}
	if ok, err := s.o.Store.TakeNotifyCap(ctx, first.School, now, 1, s.o.DailyCap); err != nil || !ok {
		next := later(time.Date(now.UTC().Year(), now.UTC().Month(), now.UTC().Day()+1, 0, 5, 0, 0, time.UTC))
		if err != nil {
			next = now.Add(backoff(attempt))
		}
		log.Warn("notify: the school's daily cap is reached; held until tomorrow", "school", first.School, "cap", s.o.DailyCap, "until", next, "err", err)
		s.stats.capHeld.Add(uint64(len(b.items)))
		s.finish(ctx, b.items, store.NotifyQueued, next, "daily cap reached")
		return false
	}
	subject, text, link := compose(b.ps, s.o.BaseURL)
	msg := &Message{To: to, Lang: catalogLang(b.ps[0].Lang), Subject: subject, Text: text, Link: link, Key: messageKey(b.items), Urgent: urgent}
	if rt, err := s.replyFor(ctx, first, b.ps, prefs, to); err != nil {
		log.Error("notify: making a reply token; sending without replies", "err", err)
	} else if rt != "" {
		msg.ReplyTo = rt
		if first.Channel == ChanEmail {
			msg.Text += "\n\n" + tr(msg.Lang, "reply_hint")
		}
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = ch.Send(sctx, msg)
	cancel()
	switch {
	case err == nil:
		log.Info("notify: sent", "key", msg.Key)
		s.stats.sent.Add(uint64(len(b.items)))
		s.finish(ctx, b.items, store.NotifySent, time.Time{}, "")
		return true
	case errors.Is(err, ErrPermanent) || attempt >= s.o.MaxAttempts:
		log.Error("notify: failed for good", "key", msg.Key, "err", err)
		s.stats.failed.Add(uint64(len(b.items)))
		s.finish(ctx, b.items, store.NotifyFailed, time.Time{}, err.Error())
	default:
		retry := later(now.Add(backoff(attempt)))
		log.Warn("notify: send failed; will retry", "key", msg.Key, "retry_at", retry, "err", err)
		s.finish(ctx, b.items, store.NotifyQueued, retry, err.Error())
	}
	return false
}

// messageKey is the same for every attempt at one batch.
func messageKey(items []*store.NotifyItem) string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID.String()
	}
	slices.Sort(ids)
	h := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return "ps-" + hex.EncodeToString(h[:16])
}

var tokenEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// replyFor makes the reply token of a message, when its channel takes
// replies: for email the Reply-To address that carries it; for a text
// message "" (the reply names no token: the sender's number finds the
// newest one sent to it).
func (s *Service) replyFor(ctx context.Context, it *store.NotifyItem, ps []*payload, prefs *Prefs, to string) (string, error) {
	var addr string
	switch {
	case it.Channel == ChanEmail && s.o.ReplyDomain != "":
	case it.Channel == ChanSMS && s.o.SMSInbound != nil:
		addr = to
	default:
		return "", nil
	}
	var raw [20]byte
	if _, err := cryptoRand(raw[:]); err != nil {
		return "", err
	}
	tok := strings.ToLower(tokenEnc.EncodeToString(raw[:]))
	rb := &store.ReplyBinding{User: it.User, Space: ps[0].Space, Lang: prefs.Lang, Expires: s.o.Clock.Now().Add(s.o.ReplyTTL)}
	if len(ps) == 1 && ps[0].Collection == "notes" {
		rb.Item = ps[0].Record
	}
	if err := s.o.Store.PutReplyToken(ctx, tok, addr, rb); err != nil {
		return "", err
	}
	if it.Channel == ChanEmail {
		return "reply+" + tok + "@" + s.o.ReplyDomain, nil
	}
	return "", nil
}

var cryptoRand = crand.Read
