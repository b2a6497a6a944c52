// Package translations computes machine translations of a plan's texts on
// the server, once per (text version, language), after the text commits.
//
// A translation is a record of the space's "translations" collection
// (shared/plan/translation.go says why), written by the server under an
// author of its own (AuthorFor) and device (Node), so it syncs to every member and is
// read offline like any other record, and the text its author wrote is
// never touched. The languages produced are those the space's members use
// (each member's first profile language) that differ from the text's own.
//
// Nothing here may slow a commit: Notify, called from the store's commit
// hook, only adds record keys to a bounded queue (MaxQueue, deduplicated)
// and never waits; Workers goroutines, owned by the Service and stopped by
// Close, take keys from it, read the record's current state, and commit
// each missing translation as an ordinary op. A key dropped because the
// queue was full (counted in Stats) is translated at the record's next
// change. An interpreter's translation under the same id (plan.
// TranslationID) is never overwritten: the server writes only ids that do
// not exist yet.
package translations

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Node is the device that stamps the server's machine translations.
var Node = uuid.MustParse("7a3b0000-0000-7000-8000-000000000002")

// AuthorFor is the author of the server's machine translations in a
// space: no person wrote them (the page labels them from their "by"). One
// author per space rather than one for the server, because the store's
// per-author quota is sized for one person's edits: a district's
// translations under one author would reach it and stop every plan's,
// while each plan's share stays within that plan's own quota.
func AuthorFor(space uuid.UUID) uuid.UUID {
	h := sha256.Sum256(append([]byte("plansync machine translation\x00"), space[:]...))
	var id uuid.UUID
	copy(id[:], h[:])
	id[6] = id[6]&0x0f | 0x70
	id[8] = id[8]&0x3f | 0x80
	return id
}

// Store is what the service reads and writes (server.Store does).
type Store interface {
	Commit(ctx context.Context, ops []record.Op) ([]server.OpResult, error)
	Record(ctx context.Context, key record.Key) (*record.Record, error)
	Space(ctx context.Context, id uuid.UUID) (*server.Space, error)
	Members(ctx context.Context, space uuid.UUID) ([]server.Member, error)
	User(ctx context.Context, id uuid.UUID) (*server.User, error)
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	Store  Store
	Engine translate.Engine
	Logger *slog.Logger
	// Workers translate at once (default 2, Apertium's pool size).
	Workers int
	// MaxQueue bounds the records waiting (default 4,096).
	MaxQueue int
	// Timeout bounds one record's translations (default 2 min).
	Timeout time.Duration
	// LangsTTL is how long a space's member languages are believed
	// (default 1 min).
	LangsTTL time.Duration
	Now      func() time.Time
}

// Defaults.
const (
	DefaultWorkers  = 2
	DefaultMaxQueue = 4096
	DefaultTimeout  = 2 * time.Minute
	DefaultLangsTTL = time.Minute
	// maxLangCache bounds the spaces whose languages are cached.
	maxLangCache = 10000
	// maxRequeues bounds the re-reads of spaces after a change of
	// language running at once; one more is dropped, logged (the texts
	// are still translated at their next change).
	maxRequeues = 2
)

// Stats counts what the service did.
type Stats struct {
	Translated, Failed, Dropped uint64
}

// Service is the running translator.
type Service struct {
	o     Options
	clock *hlc.Clock

	mu     sync.Mutex
	queue  []record.Key
	queued map[record.Key]bool
	// inflight are the keys being translated; a change of one meanwhile
	// sets again, and the key is queued once its worker is done (two
	// workers on one record would both commit its translation).
	inflight map[record.Key]bool
	again    map[record.Key]bool
	langs    map[uuid.UUID]langEntry
	wake     chan struct{}
	requeues chan struct{} // LanguagesChanged slots, maxRequeues
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopped  bool

	translated, failed, dropped atomic.Uint64
}

type langEntry struct {
	langs []string
	at    time.Time
}

// New starts the workers. Close stops them.
func New(o Options) *Service {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.LangsTTL <= 0 {
		o.LangsTTL = DefaultLangsTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{o: o, clock: hlc.NewClock(o.Now, 0), queued: map[record.Key]bool{},
		inflight: map[record.Key]bool{}, again: map[record.Key]bool{},
		langs: map[uuid.UUID]langEntry{}, wake: make(chan struct{}, 1), requeues: make(chan struct{}, maxRequeues)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for range o.Workers {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

// Close stops the workers, abandoning what is queued (each text is
// translated again at its next change), and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Stats returns the counts so far.
func (s *Service) Stats() Stats {
	return Stats{Translated: s.translated.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load()}
}

// Idle reports whether nothing is queued or being translated (tests).
func (s *Service) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) == 0 && len(s.inflight) == 0
}

// Notify queues the records of durable commits that hold text. It is the
// store's commit hook's work: it never blocks.
func (s *Service) Notify(batches []server.Committed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	added := false
	for _, b := range batches {
		for _, r := range b.Records {
			if r.Collection == plan.Translations || r.Collection == plan.TranslationFlags || r.Deleted() {
				continue
			}
			k := r.Key()
			if s.queued[k] {
				continue
			}
			if s.inflight[k] {
				s.again[k] = true
				continue
			}
			if len(s.queue) >= s.o.MaxQueue {
				s.dropped.Add(1)
				continue
			}
			s.queued[k] = true
			s.queue = append(s.queue, k)
			added = true
		}
	}
	if added {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *Service) next() (record.Key, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return record.Key{}, false
	}
	k := s.queue[0]
	s.queue = s.queue[1:]
	delete(s.queued, k)
	s.inflight[k] = true
	if len(s.queue) > 0 { // let another worker take the next one
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return k, true
}

// done ends a key's turn, queueing it again when it changed meanwhile.
func (s *Service) done(k record.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, k)
	if s.again[k] {
		delete(s.again, k)
		if !s.stopped {
			s.queued[k] = true
			s.queue = append(s.queue, k)
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (s *Service) work() {
	defer s.wg.Done()
	for {
		k, ok := s.next()
		if !ok {
			select {
			case <-s.ctx.Done():
				return
			case <-s.wake:
				continue
			}
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.o.Timeout)
		err := s.translateRecord(ctx, k)
		cancel()
		s.done(k)
		if err != nil && s.ctx.Err() == nil {
			s.failed.Add(1)
			s.o.Logger.Warn("translation failed", "space", k.Space, "collection", k.Collection, "record", k.ID, "err", err)
		}
	}
}

// translateRecord commits every missing translation of the record's
// current texts into its space's members' languages.
func (s *Service) translateRecord(ctx context.Context, k record.Key) error {
	sp, err := s.o.Store.Space(ctx, k.Space)
	if err != nil {
		return err
	}
	kind, typed := sp.Kind.Plan()
	if !typed {
		return nil
	}
	if _, ok := plan.Lookup(kind, plan.Translations); !ok {
		return nil // this kind of space keeps no translations
	}
	fields := plan.TextFields(kind, k.Collection)
	if len(fields) == 0 {
		return nil
	}
	rec, err := s.o.Store.Record(ctx, k)
	if errors.Is(err, server.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if rec.Deleted() {
		return nil
	}
	targets, err := s.targets(ctx, k.Space)
	if err != nil {
		return err
	}
	var errs []error
	for field, langField := range fields {
		text, _ := rec.Value(field).(string)
		from, _ := rec.Value(langField).(string)
		if strings.TrimSpace(text) == "" || from == "" {
			continue // a text without a language is not guessed at
		}
		hash := plan.SourceHash(text)
		for _, to := range targets {
			if to == plan.BaseLang(from) {
				continue
			}
			if err := s.translateOne(ctx, k, field, text, hash, from, to); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) translateOne(ctx context.Context, k record.Key, field, text, hash, from, to string) error {
	ok, err := s.o.Engine.Supports(ctx, from, to)
	if err != nil || !ok {
		return err
	}
	id := plan.TranslationID(k.Collection, k.ID, field, hash, to)
	tk := record.Key{Space: k.Space, Collection: plan.Translations, ID: id}
	switch _, err := s.o.Store.Record(ctx, tk); {
	case err == nil:
		return nil // translated already, by the server or a person
	case !errors.Is(err, server.ErrNotFound):
		return err
	}
	out, err := s.o.Engine.Translate(ctx, text, from, to)
	if err != nil {
		return err
	}
	fields := map[string]any{
		"of_collection": k.Collection, "of_id": k.ID.String(), "of_field": field, "source_hash": hash,
		"source_lang": from, "lang": to, "text": out, "by": plan.ByMachine, "engine": s.o.Engine.Name(),
	}
	if err := plan.ValidateRecord(plan.Student, plan.Translations, fields); err != nil {
		return err
	}
	op := record.Op{Space: k.Space, Collection: plan.Translations, ID: id, Node: Node, Author: AuthorFor(k.Space)}
	for _, name := range []string{"of_collection", "of_id", "of_field", "source_hash", "source_lang", "lang", "text", "by", "engine"} {
		op.Writes = append(op.Writes, record.Write{Name: name, Value: fields[name]})
	}
	// The op index refuses a clock at or below the last one of Node (a
	// restart with the wall clock set back): restamp above it, once.
	for try := 0; ; try++ {
		op.HLC = s.clock.Now()
		if err := op.Validate(); err != nil {
			return err
		}
		res, err := s.o.Store.Commit(ctx, []record.Op{op})
		if err != nil {
			return err
		}
		if errors.Is(res[0].Err, server.ErrClockReused) && try == 0 {
			s.clock.Observe(res[0].Clock)
			continue
		}
		if res[0].Err != nil {
			return res[0].Err
		}
		s.translated.Add(1)
		return nil
	}
}

// Pager reads a space's records (server.Store does).
type Pager interface {
	Spaces(ctx context.Context) ([]*server.Space, error)
	Changes(ctx context.Context, space uuid.UUID, after uint64, maxBytes int) (server.Page, error)
}

// backfillPage is the size of the pages Backfill reads.
const backfillPage = 256 << 10

// Backfill queues every record of every student space, as if each had
// just changed (records written before the engine was on, such as the
// seeded demo's). It reads the store and returns; the workers translate.
// Past MaxQueue the rest is dropped and counted, so it is for small
// stores (the demo), not a whole district's history.
func (s *Service) Backfill(ctx context.Context, p Pager) error {
	spaces, err := p.Spaces(ctx)
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if sp.Kind != server.KindStudent {
			continue
		}
		if err := s.backfillSpace(ctx, p, sp.ID); err != nil {
			return err
		}
	}
	return nil
}

// LanguagesChanged is told that a member of these spaces now reads
// another language first (they switched the app's language): the cached
// targets of the spaces are dropped and their texts queued again, so what
// was written before the switch is translated too, not only what comes
// after. It returns at once; the re-read runs under the service (Close
// stops it), at most maxRequeues at a time. Texts translated already are
// skipped (translateOne), and past MaxQueue the rest is dropped and
// counted, as in Backfill.
func (s *Service) LanguagesChanged(p Pager, spaces []uuid.UUID) {
	if len(spaces) == 0 {
		return
	}
	select {
	case s.requeues <- struct{}{}:
	default:
		s.o.Logger.Warn("translations: too many changes of language at once; older texts wait for their next change", "spaces", len(spaces))
		return
	}
	s.mu.Lock()
	for _, sp := range spaces {
		delete(s.langs, sp)
	}
	if s.stopped {
		s.mu.Unlock()
		<-s.requeues
		return
	}
	s.wg.Add(1) // under mu: Close sets stopped before it waits
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() { <-s.requeues }()
		for _, sp := range spaces {
			if err := s.backfillSpace(s.ctx, p, sp); err != nil {
				if s.ctx.Err() == nil {
					s.o.Logger.Warn("translations: queueing a space's texts after a change of language", "space", sp, "err", err)
				}
				return
			}
		}
	}()
}

func (s *Service) backfillSpace(ctx context.Context, p Pager, space uuid.UUID) error {
	for after := uint64(0); ; {
		page, err := p.Changes(ctx, space, after, backfillPage)
		if err != nil {
			return err
		}
		s.Notify([]server.Committed{{Space: space, From: page.From, To: page.To, Records: page.Records}})
		if !page.More || page.To <= after {
			return nil
		}
		after = page.To
	}
}

// targets are the primary languages of the space's members' first
// profile language, cached for LangsTTL.
func (s *Service) targets(ctx context.Context, space uuid.UUID) ([]string, error) {
	now := s.o.Now()
	s.mu.Lock()
	e, ok := s.langs[space]
	s.mu.Unlock()
	if ok && now.Sub(e.at) < s.o.LangsTTL {
		return e.langs, nil
	}
	ms, err := s.o.Store.Members(ctx, space)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var langs []string
	for _, m := range ms {
		u, err := s.o.Store.User(ctx, m.User)
		if err != nil || len(u.Languages) == 0 {
			continue
		}
		if l := plan.BaseLang(u.Languages[0]); l != "" && !seen[l] {
			seen[l] = true
			langs = append(langs, l)
		}
	}
	s.mu.Lock()
	if len(s.langs) >= maxLangCache {
		clear(s.langs)
	}
	s.langs[space] = langEntry{langs: langs, at: now}
	s.mu.Unlock()
	return langs, nil
}
