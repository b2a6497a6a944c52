package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// applyRetry is how long the applier waits before applying an entry again
// that the badger view refused as unavailable (its disk below the
// reserve): the entry is never skipped, so this node falls behind rather
// than apart, and catches up once space returns.
const applyRetry = 500 * time.Millisecond

// consumerRetry is the pause before a new consumer after one failed.
const consumerRetry = 250 * time.Millisecond

// The applier's pull requests: how long each waits on the server, and how
// often the server says it is alive while one waits.
const (
	pullExpiry    = 2 * time.Second
	pullHeartbeat = 500 * time.Millisecond
)

// runApplier is the applier goroutine, owned by the Store (Close stops
// it): an ordered consumer of the whole log from after the last applied
// entry, each entry applied in stream order. The ordered consumer is
// JetStream's own gap-free delivery (it recreates itself from the last
// sequence it delivered when it misses one); when it fails outright the
// applier makes a new one from after what it applied.
func (s *Store) runApplier() {
	defer s.wg.Done()
	for s.ctx.Err() == nil {
		if err := s.consume(); err != nil && s.ctx.Err() == nil {
			s.log.Warn("cluster: reading the log; starting again", "after", s.Applied(), "err", err)
			select {
			case <-s.ctx.Done():
			case <-time.After(consumerRetry):
			}
		}
	}
}

func (s *Store) consume() error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if a := s.Applied(); a > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: a + 1}
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	cons, err := s.js.OrderedConsumer(ctx, s.cfg.Stream, cfg)
	cancel()
	if err != nil {
		return err
	}
	// Short pulls with frequent heartbeats: a consumer that lost its
	// stream (a leader change, a stream made a moment ago) is noticed and
	// made again within a second, not after the 30 s default.
	it, err := cons.Messages(jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go s.watch(it, stop) // ends with consume
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && s.ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := s.apply(msg); err != nil {
			return err
		}
	}
}

// watch stops the iterator at Close, or when this node has applied
// nothing for stallAfter while the log holds more: the ordered consumer
// recovers from a lost stream leader by itself, but should it ever stay
// stuck, runApplier makes a new one from after what was applied.
func (s *Store) watch(it jetstream.MessagesContext, stop <-chan struct{}) {
	defer it.Stop()
	tick := time.NewTicker(stallAfter)
	defer tick.Stop()
	last := s.Applied()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-stop:
			return
		case <-tick.C:
		}
		now := s.Applied()
		if now != last {
			last = now
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
		st, err := s.js.Stream(ctx, s.cfg.Stream)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = st.Info(ctx)
		}
		cancel()
		if err == nil && info.State.LastSeq > now {
			s.stats.Stalls.Add(1)
			s.log.Warn("cluster: the log's consumer delivered nothing while the log grew; making a new one", "applied", now, "last", info.State.LastSeq)
			return
		}
	}
}

// stallAfter is how long the applier may apply nothing while the log
// holds more before watch makes a new consumer.
const stallAfter = 2 * time.Second

// apply applies one entry, unless it was applied already (a consumer made
// again may deliver from before where this node is).
func (s *Store) apply(msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("cluster: entry metadata: %w", err)
	}
	seq := md.Sequence.Stream
	if seq <= s.Applied() {
		s.stats.Replayed.Add(1)
		return nil
	}
	var r result
	e, err := decodeEntry(msg.Data())
	if err != nil {
		// Every node skips it alike: the bytes are the same everywhere.
		s.stats.Undecoded.Add(1)
		s.log.Error("cluster: log entry does not decode; skipped", "seq", seq, "err", err)
		r.err = err
	} else {
		for {
			// The mark lands in the transaction of what the entry
			// writes: an entry that wrote is never applied twice.
			s.local.MarkNextWrite(markName, seq)
			r = s.exec(e)
			if !errors.Is(r.err, server.ErrUnavailable) {
				break
			}
			s.local.TakeMark()
			if s.ctx.Err() != nil {
				return nil // closing: not applied, not marked
			}
			s.log.Warn("cluster: the badger view refused a log entry; trying again", "seq", seq, "err", r.err)
			select {
			case <-s.ctx.Done():
				return nil
			case <-time.After(applyRetry):
			}
		}
	}
	if s.local.TakeMark() {
		// The entry wrote nothing (a refusal, a duplicate, a no-op).
		if err := s.local.SetMark(markName, seq); err != nil {
			return fmt.Errorf("cluster: writing the applied mark: %w", err)
		}
	}
	s.stats.Applied.Add(1)
	s.amu.Lock()
	s.applied = seq
	close(s.advance)
	s.advance = make(chan struct{})
	s.amu.Unlock()
	if h := msg.Headers(); h != nil {
		if id := h.Get(nats.MsgIdHdr); id != "" {
			s.wmu.Lock()
			w := s.waiters[id]
			s.wmu.Unlock()
			if w != nil {
				select {
				case w <- r:
				default: // answered already (a duplicate delivery)
				}
			}
		}
	}
	return nil
}

// exec runs one entry against the badger view with the entry's time as
// the view's clock, then tells this node's hub about revocations and
// changes of access.
func (s *Store) exec(e *entry) (r result) {
	s.cfg.Clock.set(e.at())
	defer s.cfg.Clock.clear()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	l := s.local
	switch e.Kind {
	case kCommit:
		ops, err := decodeOps(e.Ops)
		if err != nil {
			return result{err: err}
		}
		res, err := l.Commit(ctx, ops)
		return result{val: res, err: err}
	case kCreateUser:
		return result{err: l.CreateUser(ctx, e.User)}
	case kPutUser:
		err := l.PutUser(ctx, e.User)
		if err == nil && e.User.Disabled {
			s.accessChanged(e.User.ID)
		}
		return result{err: err}
	case kCreateSpace:
		return result{err: l.CreateSpace(ctx, e.Space)}
	case kPutMember:
		err := l.PutMember(ctx, *e.Member)
		if err == nil {
			s.accessChanged(e.Member.User)
		}
		return result{err: err}
	case kDeleteMember:
		err := l.DeleteMember(ctx, e.ID, e.ID2)
		if err == nil {
			s.accessChanged(e.ID2)
		}
		return result{err: err}
	case kCreateSession:
		return result{err: l.CreateSession(ctx, e.Session)}
	case kDeleteSession:
		err := l.DeleteSession(ctx, e.Hash)
		if err == nil {
			s.revoked(e.Hash)
		}
		return result{err: err}
	case kDeleteUserSessions:
		hs, err := l.DeleteUserSessions(ctx, e.ID, e.Hash)
		for _, h := range hs {
			s.revoked(h)
		}
		return result{val: hs, err: err}
	case kTouchSession:
		return result{err: l.TouchSession(ctx, e.Hash, e.Time)}
	case kBindDevice:
		return result{err: l.BindDevice(ctx, e.ID, e.Session, e.N)}
	case kCreateCredential:
		return result{err: l.CreateCredential(ctx, e.Credential)}
	case kSetCredentialHash:
		return result{err: l.SetCredentialHash(ctx, e.Str, e.Str2)}
	case kCreateInvite:
		return result{err: l.CreateInvite(ctx, e.Invite)}
	case kFailInvite:
		burned, err := l.FailInvite(ctx, e.Str, e.N)
		return result{val: burned, err: err}
	case kClaimInvite:
		err := l.ClaimInvite(ctx, e.Str, e.Time, e.Claim)
		if err == nil && e.Claim != nil && e.Claim.NewUser == nil {
			for _, m := range e.Claim.Members {
				s.accessChanged(m.User)
			}
		}
		return result{err: err}
	case kRevokeInvite:
		inv, err := l.RevokeInvite(ctx, e.Str, e.Time, e.ID)
		return result{val: inv, err: err}
	case kCreateSetupCode:
		return result{err: l.CreateSetupCode(ctx, e.SetupCode)}
	case kUseSetupCode:
		sc, err := l.UseSetupCode(ctx, e.Hash, e.Time, e.Str)
		return result{val: sc, err: err}
	case kPutSettings:
		return result{err: l.PutSettings(ctx, e.ID, e.Settings)}
	}
	// An entry from a newer build: every node of this build skips it alike.
	s.log.Error("cluster: log entry of an unknown kind; skipped (is a newer build writing this log?)", "kind", e.Kind)
	return result{err: fmt.Errorf("cluster: unknown entry kind %q", e.Kind)}
}

func (s *Store) revoked(h [32]byte) {
	if fn := s.revoke.Load(); fn != nil && *fn != nil {
		(*fn)(h)
	}
}

func (s *Store) accessChanged(u uuid.UUID) {
	if fn := s.access.Load(); fn != nil && *fn != nil {
		(*fn)(u)
	}
}
