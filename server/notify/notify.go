// Package notify tells people what changed in their plans, on the channel
// and at the time they chose: Web Push, email or a text message, at once
// or in a daily or weekly digest, never in their quiet hours unless the
// school marked the item urgent; and a school with no channel gets a call
// list for its office. A reply to an email or a text lands in the plan as
// that person's note.
//
// It works from committed ops: the store's commit hook hands each durable
// group to Offer, which never waits (a full queue records a gap that the
// consumer reads back from the store later), so notifications never slow
// a commit. How far each space was read is kept in the store (at most a
// second behind, never past a gap), and a start reads back the rest, so
// a stop or crash loses no message; reading a change twice queues
// nothing twice, because each event remembers it fired. The consumer turns records into items in the store's durable
// outbox (server/store/outbox_notify.go); the dispatcher sends due items,
// marking each "sending" durably before it hands it to a channel.
//
// What tells whom (triggers.go), in student plans only, for changes made
// in the last day: a new note tells every other member of the plan (its
// author's own words never travel: the message says who wrote where, and
// links to the note), and a reply tells the replied-to note's author as a
// reply; a meeting proposed, or its status, times or length changed,
// tells every other member, and its day-before reminder is queued with it,
// moved with it and dropped when it is cancelled, held or gone; a check-in
// at home a staff member leaves empty asks the family. An "urgent" field
// set by staff sends at once, past digests and quiet hours, on the
// person's own channel. A "suggestion answered" has no record in the plan
// schema yet (EvSuggestion is in the catalogs for when it does).
//
// Delivery is exactly-once where the channel allows and at-most-once
// where it does not. The window that remains: a message the channel
// accepted just before the server stopped, not yet marked sent, is found
// "sending" at the next start. On a channel that recognises a repeat by
// its key (push: the Topic header) it is sent again under the same key;
// on the others (email, text message) it is marked "unsure" and never sent
// again, so such a message may be lost (logged) but is never doubled.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
	"golang.org/x/time/rate"
)

// Clock tells the time; tests inject a fake one to cross quiet hours.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Defaults of Options.
const (
	DefaultDailyCap    = 2000            // messages per school per UTC day
	DefaultPoll        = 5 * time.Second // how often due items are looked for
	DefaultQueueLen    = 256             // committed groups waiting for the consumer
	DefaultMaxAttempts = 8               // sends of one item before it is failed
	DefaultReplyTTL    = 30 * 24 * time.Hour
	// maxGaps bounds the spaces whose dropped groups are remembered for
	// reading back; past it a dropped group is lost (counted, logged).
	maxGaps = 1024
	// claimBatch bounds the items one dispatch pass takes.
	claimBatch = 200
	// sendTimeout bounds one channel send.
	sendTimeout = 45 * time.Second
)

// Options configure a Service.
type Options struct {
	Store *store.Store
	// Auth authenticates the settings and call-list requests.
	Auth *auth.Service
	// Channels are the operator's configured channels; none is fine.
	Channels []Channel
	// BaseURL is the public root of the web app, for links.
	BaseURL string
	// ReplyDomain turns on email replies: Reply-To is
	// reply+TOKEN@ReplyDomain, which the reply server (ReplyServer)
	// receives. Off when empty.
	ReplyDomain string
	// SMSInbound checks inbound text-message webhooks; SMSPublicURL is the
	// webhook URL as configured at the provider (its signature covers it).
	// Text replies are off when nil.
	SMSInbound   SMSProvider
	SMSPublicURL string
	DailyCap     int
	MaxAttempts  int
	Poll         time.Duration
	QueueLen     int
	ReplyTTL     time.Duration
	// ReplyRate bounds the replies one person may land (and the unmatched
	// attempts one sender may make); every 20 s, burst 5 by default.
	ReplyRate  rate.Limit
	ReplyBurst int
	// TimeZone is the school's IANA time zone, in which a family's "after
	// 6 pm" and anyone's quiet hours are read when they chose none; the
	// server's local zone when empty.
	TimeZone string
	Clock    Clock
	Logger   *slog.Logger

	// hold, when set, keeps the consumer from reading until it is closed
	// (tests fill the queue with it).
	hold chan struct{}
}

// Stats count the service's work since New.
type Stats struct {
	Offered, Dropped, Processed      uint64 // committed groups
	Queued, Sent, Failed, Called     uint64 // items
	Replies, RepliesRefused, CapHeld uint64
}

type stats struct {
	offered, dropped, processed, queued, sent, failed, called, replies, refused, capHeld atomic.Uint64
}

// Service is the notification pipeline. New builds it; Start recovers the
// outbox and starts its two goroutines; Close stops them.
type Service struct {
	o     Options
	log   *slog.Logger
	chans map[string]Channel
	in    chan []server.Committed

	gapMu sync.Mutex
	gaps  map[uuid.UUID]uint64 // space -> the seq after which groups were dropped

	// read is how far the consumer read each space since its last flush
	// to the store (consumer goroutine only); catchUp is what Start found
	// unread, from the cursors a stopped server left.
	read    map[uuid.UUID]uint64
	catchUp map[uuid.UUID]uint64

	stop    chan struct{}
	wg      sync.WaitGroup
	started atomic.Bool

	// node and hlc stamp the notes replies land as.
	node  uuid.UUID
	hlcMu sync.Mutex
	hlc   *hlc.Clock

	replyLimits *limiters
	stats       stats
}

// New builds a Service; nothing runs until Start.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DailyCap == 0 {
		o.DailyCap = DefaultDailyCap
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	if o.QueueLen == 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.ReplyTTL == 0 {
		o.ReplyTTL = DefaultReplyTTL
	}
	if o.ReplyRate == 0 {
		o.ReplyRate = rate.Every(20 * time.Second)
	}
	if o.ReplyBurst == 0 {
		o.ReplyBurst = 5
	}
	if _, err := time.LoadLocation(o.TimeZone); o.TimeZone == "" || err != nil {
		o.TimeZone = "Local"
	}
	s := &Service{
		o:           o,
		log:         o.Logger.With("component", "notify"),
		chans:       map[string]Channel{},
		in:          make(chan []server.Committed, o.QueueLen),
		gaps:        map[uuid.UUID]uint64{},
		read:        map[uuid.UUID]uint64{},
		catchUp:     map[uuid.UUID]uint64{},
		stop:        make(chan struct{}),
		node:        uuid.Must(uuid.NewV7()),
		hlc:         hlc.NewClock(o.Clock.Now, 0),
		replyLimits: newLimiters(o.ReplyRate, o.ReplyBurst, 10000),
	}
	for _, c := range o.Channels {
		s.chans[c.Name()] = c
	}
	return s
}

// Stats returns the counters so far.
func (s *Service) Stats() Stats {
	return Stats{
		Offered: s.stats.offered.Load(), Dropped: s.stats.dropped.Load(), Processed: s.stats.processed.Load(),
		Queued: s.stats.queued.Load(), Sent: s.stats.sent.Load(), Failed: s.stats.failed.Load(), Called: s.stats.called.Load(),
		Replies: s.stats.replies.Load(), RepliesRefused: s.stats.refused.Load(), CapHeld: s.stats.capHeld.Load(),
	}
}

// Start recovers what a stopped server left "sending" (see the package
// doc) and starts the consumer and the dispatcher.
func (s *Service) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("notify: started twice")
	}
	requeued, unsure, err := s.o.Store.RecoverNotify(ctx, s.o.Clock.Now(), func(ch string) bool {
		c := s.chans[ch]
		return c != nil && c.Idempotent()
	})
	if err != nil {
		return err
	}
	for _, it := range requeued {
		s.log.Warn("notify: found sending after a restart; sending again under the same key", "item", it.ID, "channel", it.Channel, "attempts", it.Attempts)
	}
	for _, it := range unsure {
		s.log.Warn("notify: found sending after a restart; may have been sent, not sent again", "item", it.ID, "channel", it.Channel, "attempts", it.Attempts)
	}
	if err := s.loadCursors(ctx); err != nil {
		return err
	}
	s.wg.Add(2)
	go s.runConsumer()
	go s.runDispatcher()
	return nil
}

// Close stops the goroutines, letting a send in progress finish (each is
// bounded by sendTimeout). Close it before the store.
func (s *Service) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
}

// Offer takes committed groups from the store's commit hook. It never
// waits: when the queue is full the groups are remembered as a gap per
// space, read back from the store once the consumer has caught up.
func (s *Service) Offer(groups []server.Committed) {
	s.stats.offered.Add(1)
	select {
	case s.in <- groups:
		return
	default:
	}
	s.stats.dropped.Add(1)
	s.gapMu.Lock()
	defer s.gapMu.Unlock()
	for _, g := range groups {
		if from, ok := s.gaps[g.Space]; ok {
			s.gaps[g.Space] = min(from, g.From)
		} else if len(s.gaps) < maxGaps {
			s.gaps[g.Space] = g.From
		} else {
			s.log.Error("notify: queue and gap list full; changes not notified", "space", g.Space, "from", g.From, "to", g.To)
		}
	}
}

func (s *Service) runConsumer() {
	defer s.wg.Done()
	defer s.flushCursors()
	if s.o.hold != nil {
		select {
		case <-s.o.hold:
		case <-s.stop:
			return
		}
	}
	// What a stopped server committed but never told is read back first.
	for space, after := range s.catchUp {
		s.readBack(space, after)
	}
	s.catchUp = nil
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case groups := <-s.in:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			for _, g := range groups {
				s.consume(ctx, g.Space, g.Records)
				s.read[g.Space] = max(s.read[g.Space], g.To)
			}
			cancel()
			s.stats.processed.Add(1)
		case <-tick.C:
			if len(s.in) == 0 {
				s.readGaps()
			}
			s.flushCursors()
		}
	}
}

// loadCursors finds, for every student space, what the last run read:
// the rest of its log is read back when the consumer starts. A space
// without a cursor (notifications just turned on) starts at its head,
// so turning them on does not tell a school its whole history.
func (s *Service) loadCursors(ctx context.Context) error {
	spaces, err := s.o.Store.Spaces(ctx)
	if err != nil {
		return err
	}
	init := map[uuid.UUID]uint64{}
	for _, sp := range spaces {
		if sp.Kind != server.KindStudent {
			continue
		}
		head, err := s.o.Store.Head(ctx, sp.ID)
		if err != nil {
			return err
		}
		cur, ok, err := s.o.Store.NotifyCursor(ctx, sp.ID)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			init[sp.ID] = head
		case cur < head:
			s.catchUp[sp.ID] = cur
		}
	}
	if len(init) > 0 {
		return s.o.Store.PutNotifyCursors(ctx, init)
	}
	return nil
}

// flushCursors records how far the consumer read, never past a gap still
// to be read back: after a crash the next start reads from there, and
// what it reads again is not queued twice (events remember they fired).
func (s *Service) flushCursors() {
	if len(s.read) == 0 {
		return
	}
	s.gapMu.Lock()
	for sp, from := range s.gaps {
		if r, ok := s.read[sp]; ok && r > from {
			s.read[sp] = from
		}
	}
	s.gapMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.o.Store.PutNotifyCursors(ctx, s.read); err != nil {
		s.log.Warn("notify: recording how far commits were read; will retry", "err", err)
		return
	}
	clear(s.read)
}

// readGaps reads back, from the store, the changes of groups Offer had
// to drop. Records come in their newest state, which is what the triggers
// read anyway; events already queued are not queued again.
func (s *Service) readGaps() {
	s.gapMu.Lock()
	gaps := s.gaps
	s.gaps = map[uuid.UUID]uint64{}
	s.gapMu.Unlock()
	for space, after := range gaps {
		s.readBack(space, after)
	}
}

// readBack reads a space's changes after a seq from the store and tells
// them (at most 1000 pages of 1 MiB).
func (s *Service) readBack(space uuid.UUID, after uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 1000 {
		p, err := s.o.Store.Changes(ctx, space, after, 1<<20)
		if err != nil {
			s.log.Error("notify: reading back changes", "space", space, "after", after, "err", err)
			return
		}
		s.consume(ctx, space, p.Records)
		if p.To > after {
			s.read[space] = max(s.read[space], p.To)
		}
		if !p.More || p.To <= after {
			return
		}
		after = p.To
	}
}

func (s *Service) runDispatcher() {
	defer s.wg.Done()
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			if _, err := s.DispatchOnce(context.Background()); err != nil {
				s.log.Error("notify: dispatch", "err", err)
			}
		}
	}
}

// limiters is a bounded set of rate limiters by key; when full it starts
// afresh (every key regains its burst), which bounds memory and costs a
// flood at most one burst more.
type limiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	max   int
	m     map[string]*rate.Limiter
}

func newLimiters(every rate.Limit, burst, max int) *limiters {
	return &limiters{every: every, burst: burst, max: max, m: map[string]*rate.Limiter{}}
}

func (l *limiters) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[key]
	if lim == nil {
		if len(l.m) >= l.max {
			clear(l.m)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[key] = lim
	}
	return lim.AllowN(now, 1)
}

// Handler serves the settings API, the call list and the text-message
// webhook (see shared/PROTOCOL.md), under /api/notify/.
func (s *Service) Handler() http.Handler { return s.routes() }

func itemErr(what string, err error) error { return fmt.Errorf("notify: %s: %w", what, err) }
