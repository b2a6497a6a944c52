package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// The notification outbox (server/notify) lives here because it must be
// as durable as the plan: a message the server decided to send survives a
// restart, and one it may have sent is never sent again.
//
// Keys, beside those of keys.go:
//
//	n|id             -> NotifyItem (every state; TTL once finished)
//	e|due(8)|id      -> empty: the due index of queued items
//	N|school|day(8)  -> messages sent that UTC day (8, big-endian; TTL 3 days)
//	w|user           -> the person's notification preferences (opaque to the store)
//	y|sha256(token)  -> ReplyBinding (TTL: its expiry)
//	Y|sha256(addr)   -> sha256 of the newest reply token sent to an address (same TTL)
//	f|sha256(event)  -> empty: this event was queued already (TTL: FiredKeep)
//	F|space          -> the seq up to which the notifier read the space (8, big-endian)
const (
	kindNotify      byte = 'n'
	kindNotifyDue   byte = 'e'
	kindNotifyCap   byte = 'N'
	kindNotifyPrefs byte = 'w'
	kindReplyToken  byte = 'y'
	kindReplyAddr   byte = 'Y'
	kindNotifyFired byte = 'f'
	kindNotifyRead  byte = 'F'
)

// Limits of the outbox, so that a flood of edits cannot fill the disk with
// messages nobody can send.
const (
	// MaxNotifyQueued bounds the items an EnqueueNotify may add to; past
	// it new items are refused (ErrOutboxFull) and the caller logs them.
	MaxNotifyQueued = 50000
	// NotifyFinishedKeep is how long a sent, failed or unsure item stays
	// readable (the call list, an operator's question "was it sent?").
	NotifyFinishedKeep = 14 * 24 * time.Hour
	// FiredKeep is how long the store remembers that an event was queued,
	// so that reprocessing a commit never queues it twice.
	FiredKeep = 60 * 24 * time.Hour
)

// ErrOutboxFull refuses new notification items past MaxNotifyQueued.
var ErrOutboxFull = errors.New("notification outbox full")

// NotifyState is where an item is in its life.
type NotifyState uint8

const (
	// NotifyQueued items wait in the due index for their time.
	NotifyQueued NotifyState = iota
	// NotifySending items were claimed by a sender, which marked them so
	// durably before it handed them to the channel.
	NotifySending
	// NotifySent items were accepted by the channel.
	NotifySent
	// NotifyFailed items ran out of attempts, or the channel refused them
	// for good.
	NotifyFailed
	// NotifyUnsure items were being sent when the server stopped, on a
	// channel that cannot tell a repeat from a new message: they are not
	// sent again (at most once), and the log says so.
	NotifyUnsure
	// NotifyCall items are for the office's call list: the person has no
	// channel the school can use.
	NotifyCall
)

func (s NotifyState) String() string {
	switch s {
	case NotifyQueued:
		return "queued"
	case NotifySending:
		return "sending"
	case NotifySent:
		return "sent"
	case NotifyFailed:
		return "failed"
	case NotifyUnsure:
		return "unsure"
	case NotifyCall:
		return "call"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// NotifyItem is one thing to tell one person on one channel. The store
// reads only its routing fields; Payload is server/notify's own encoding
// of what the message says.
type NotifyItem struct {
	ID      uuid.UUID   `msgpack:"i"`
	School  uuid.UUID   `msgpack:"sc"`
	User    uuid.UUID   `msgpack:"u"`
	Channel string      `msgpack:"ch"`
	Due     time.Time   `msgpack:"d"`
	State   NotifyState `msgpack:"st"`
	// Attempts counts the times a sender claimed the item.
	Attempts int       `msgpack:"at,omitempty"`
	Created  time.Time `msgpack:"c"`
	LastErr  string    `msgpack:"le,omitempty"`
	Payload  []byte    `msgpack:"p"`
}

// ReplyBinding is what a reply token lets its holder do: write one note,
// as User, into Space (answering Item when set).
type ReplyBinding struct {
	User    uuid.UUID `msgpack:"u"`
	Space   uuid.UUID `msgpack:"s"`
	Item    uuid.UUID `msgpack:"i,omitempty"`
	Lang    string    `msgpack:"l,omitempty"`
	Expires time.Time `msgpack:"e"`
}

func notifyKey(id uuid.UUID) []byte { return idKey(kindNotify, id) }

func notifyDueKey(due time.Time, id uuid.UUID) []byte {
	k := make([]byte, 0, 1+seqLen+idLen)
	k = append(k, kindNotifyDue)
	k = binary.BigEndian.AppendUint64(k, uint64(max(due.UnixNano(), 0)))
	return append(k, id[:]...)
}

func notifyCapKey(school uuid.UUID, day time.Time) []byte {
	d := day.UTC()
	return binary.BigEndian.AppendUint64(idKey(kindNotifyCap, school), uint64(d.Year()*10000+int(d.Month())*100+d.Day()))
}

func hashedKey(kind byte, s string) []byte {
	h := sha256.Sum256([]byte(s))
	return append([]byte{kind}, h[:]...)
}

// updateOutbox is update for the outbox's writes, one at a time.
func (s *Store) updateOutbox(fn func(txn *badger.Txn) error) error {
	s.outboxMu.Lock()
	defer s.outboxMu.Unlock()
	return s.update(fn)
}

func (s *Store) putItem(txn *badger.Txn, it *NotifyItem) error {
	b, err := marshal(it)
	if err != nil {
		return err
	}
	e := badger.NewEntry(notifyKey(it.ID), b)
	switch it.State {
	case NotifySent, NotifyFailed, NotifyUnsure, NotifyCall:
		e.ExpiresAt = uint64(time.Now().Add(NotifyFinishedKeep).Unix())
	}
	return txn.SetEntry(e)
}

func getItem(txn *badger.Txn, id uuid.UUID) (*NotifyItem, error) {
	b, err := getRaw(txn, notifyKey(id))
	if err != nil {
		return nil, err
	}
	it := new(NotifyItem)
	if err := unmarshal(b, it); err != nil {
		return nil, fmt.Errorf("decoding notification %s: %w", id, err)
	}
	return it, nil
}

// countPrefix counts keys under prefix, stopping at limit.
func countPrefix(txn *badger.Txn, prefix []byte, limit int) int {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid() && n < limit; it.Next() {
		n++
	}
	return n
}

// EnqueueNotify stores items (queued ones in the due index) and marks
// event fired, in one transaction; when event was fired already it writes
// nothing and reports false. An empty event is never remembered.
func (s *Store) EnqueueNotify(ctx context.Context, event string, items []*NotifyItem) (bool, error) {
	queued := false
	err := s.updateOutbox(func(txn *badger.Txn) error {
		queued = false
		if event != "" {
			if _, err := getRaw(txn, hashedKey(kindNotifyFired, event)); err == nil {
				return nil
			} else if !errors.Is(err, server.ErrNotFound) {
				return err
			}
		}
		if countPrefix(txn, []byte{kindNotifyDue}, MaxNotifyQueued) >= MaxNotifyQueued {
			return ErrOutboxFull
		}
		for _, it := range items {
			if err := s.putItem(txn, it); err != nil {
				return err
			}
			if it.State == NotifyQueued {
				if err := txn.Set(notifyDueKey(it.Due, it.ID), nil); err != nil {
					return err
				}
			}
		}
		if event != "" {
			e := badger.NewEntry(hashedKey(kindNotifyFired, event), nil)
			e.ExpiresAt = uint64(time.Now().Add(FiredKeep).Unix())
			if err := txn.SetEntry(e); err != nil {
				return err
			}
		}
		queued = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: queueing notifications: %w", err)
	}
	return queued, nil
}

// ReplaceNotify puts item in place of any queued item with the same id
// (a meeting's reminder, moved with its meeting). An item that is being
// sent or was sent is left alone and false is reported.
func (s *Store) ReplaceNotify(ctx context.Context, item *NotifyItem) (bool, error) {
	done := false
	err := s.updateOutbox(func(txn *badger.Txn) error {
		done = false
		old, err := getItem(txn, item.ID)
		switch {
		case err == nil && old.State != NotifyQueued:
			return nil
		case err == nil:
			if err := txn.Delete(notifyDueKey(old.Due, old.ID)); err != nil {
				return err
			}
		case !errors.Is(err, server.ErrNotFound):
			return err
		}
		if err := s.putItem(txn, item); err != nil {
			return err
		}
		if item.State == NotifyQueued {
			if err := txn.Set(notifyDueKey(item.Due, item.ID), nil); err != nil {
				return err
			}
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: replacing notification: %w", err)
	}
	return done, nil
}

// CancelNotify drops a queued item (a cancelled meeting's reminder);
// anything else is left as it is.
func (s *Store) CancelNotify(ctx context.Context, id uuid.UUID) error {
	err := s.updateOutbox(func(txn *badger.Txn) error {
		old, err := getItem(txn, id)
		if errors.Is(err, server.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if old.State != NotifyQueued {
			return nil
		}
		if err := txn.Delete(notifyDueKey(old.Due, id)); err != nil {
			return err
		}
		return txn.Delete(notifyKey(id))
	})
	if err != nil {
		return fmt.Errorf("store: cancelling notification: %w", err)
	}
	return nil
}

// ClaimNotify takes up to limit queued items due at or before now out of
// the due index and marks them NotifySending (Attempts counted), durably,
// before returning them: a sender hands a message to its channel only
// after this, so a crash while sending leaves it marked (RecoverNotify).
func (s *Store) ClaimNotify(ctx context.Context, now time.Time, limit int) ([]*NotifyItem, error) {
	var out []*NotifyItem
	err := s.updateOutbox(func(txn *badger.Txn) error {
		out = out[:0]
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte{kindNotifyDue}
		it := txn.NewIterator(opts)
		end := notifyDueKey(now, uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		var keys [][]byte
		for it.Rewind(); it.Valid() && len(keys) < limit; it.Next() {
			k := it.Item().KeyCopy(nil)
			if string(k) > string(end) {
				break
			}
			keys = append(keys, k)
		}
		it.Close()
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
			id, _ := uuid.FromBytes(k[1+seqLen:])
			item, err := getItem(txn, id)
			if errors.Is(err, server.ErrNotFound) {
				continue // a stale index entry
			} else if err != nil {
				return err
			}
			if item.State != NotifyQueued {
				continue
			}
			item.State = NotifySending
			item.Attempts++
			if err := s.putItem(txn, item); err != nil {
				return err
			}
			out = append(out, item)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claiming notifications: %w", err)
	}
	return out, nil
}

// FinishNotify records the outcome of a claimed item: NotifySent,
// NotifyFailed, or NotifyQueued again at retry (with errText). Items are
// finished together when they went out as one message (a digest).
func (s *Store) FinishNotify(ctx context.Context, ids []uuid.UUID, state NotifyState, retry time.Time, errText string) error {
	err := s.updateOutbox(func(txn *badger.Txn) error {
		for _, id := range ids {
			item, err := getItem(txn, id)
			if errors.Is(err, server.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			item.State, item.LastErr = state, errText
			if state == NotifyQueued {
				item.Due = retry
				if err := txn.Set(notifyDueKey(retry, id), nil); err != nil {
					return err
				}
			}
			if err := s.putItem(txn, item); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: finishing notifications: %w", err)
	}
	return nil
}

// RecoverNotify runs once at start, before any sender: items left
// NotifySending by a stopped server are queued again at now when their
// channel tells repeats apart (resend(channel), an idempotency key), and
// marked NotifyUnsure otherwise, never to be sent again. It returns both.
func (s *Store) RecoverNotify(ctx context.Context, now time.Time, resend func(channel string) bool) (requeued, unsure []*NotifyItem, err error) {
	err = s.updateOutbox(func(txn *badger.Txn) error {
		requeued, unsure = nil, nil
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{kindNotify}
		it := txn.NewIterator(opts)
		var stuck []*NotifyItem
		for it.Rewind(); it.Valid(); it.Next() {
			b, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return err
			}
			item := new(NotifyItem)
			if err := unmarshal(b, item); err != nil {
				continue // unreadable: left for an operator, never sent
			}
			if item.State == NotifySending {
				stuck = append(stuck, item)
			}
		}
		it.Close()
		for _, item := range stuck {
			if resend(item.Channel) {
				item.State, item.Due = NotifyQueued, now
				if err := txn.Set(notifyDueKey(now, item.ID), nil); err != nil {
					return err
				}
				requeued = append(requeued, item)
			} else {
				item.State, item.LastErr = NotifyUnsure, "the server stopped while sending; not sent again"
				unsure = append(unsure, item)
			}
			if err := s.putItem(txn, item); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: recovering notifications: %w", err)
	}
	return requeued, unsure, nil
}

// NotifyItems lists the kept items of a school in state (the call list
// reads NotifyCall), at most limit.
func (s *Store) NotifyItems(ctx context.Context, school uuid.UUID, state NotifyState, limit int) ([]*NotifyItem, error) {
	var out []*NotifyItem
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{kindNotify}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < limit; it.Next() {
			b, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			item := new(NotifyItem)
			if unmarshal(b, item) != nil || item.School != school || item.State != state {
				continue
			}
			out = append(out, item)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing notifications: %w", err)
	}
	return out, nil
}

// NotifyItem reads one item, or server.ErrNotFound.
func (s *Store) NotifyItem(ctx context.Context, id uuid.UUID) (*NotifyItem, error) {
	var out *NotifyItem
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = getItem(txn, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading notification: %w", err)
	}
	return out, nil
}

// TakeNotifyCap counts n more messages against a school's cap for day's
// UTC date and reports true, or reports false (counting nothing) when
// that would pass limit.
func (s *Store) TakeNotifyCap(ctx context.Context, school uuid.UUID, day time.Time, n, limit int) (bool, error) {
	ok := false
	err := s.updateOutbox(func(txn *badger.Txn) error {
		ok = false
		key := notifyCapKey(school, day)
		var used uint64
		b, err := getRaw(txn, key)
		switch {
		case err == nil && len(b) == seqLen:
			used = binary.BigEndian.Uint64(b)
		case err != nil && !errors.Is(err, server.ErrNotFound):
			return err
		}
		if used+uint64(n) > uint64(limit) {
			return nil
		}
		e := badger.NewEntry(key, encodeSeq(used+uint64(n)))
		e.ExpiresAt = uint64(day.Add(72 * time.Hour).Unix())
		ok = true
		return txn.SetEntry(e)
	})
	if err != nil {
		return false, fmt.Errorf("store: counting the notification cap: %w", err)
	}
	return ok, nil
}

// NotifyPrefs returns a person's stored preferences, or server.ErrNotFound.
func (s *Store) NotifyPrefs(ctx context.Context, user uuid.UUID) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = getRaw(txn, idKey(kindNotifyPrefs, user))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading notification preferences: %w", err)
	}
	return out, nil
}

// PutNotifyPrefs replaces a person's preferences.
func (s *Store) PutNotifyPrefs(ctx context.Context, user uuid.UUID, b []byte) error {
	if err := s.updateOutbox(func(txn *badger.Txn) error { return txn.Set(idKey(kindNotifyPrefs, user), b) }); err != nil {
		return fmt.Errorf("store: writing notification preferences: %w", err)
	}
	return nil
}

// PutReplyToken stores a reply token's binding (by the token's hash) and,
// when addr is set, makes it the newest binding of that address (a text
// message's reply names no token, only its sender's number). Only hashes
// of tokens are stored, like sessions: a copy of the database lets nobody
// write as a family.
func (s *Store) PutReplyToken(ctx context.Context, token, addr string, rb *ReplyBinding) error {
	b, err := marshal(rb)
	if err != nil {
		return err
	}
	exp := uint64(rb.Expires.Unix()) + 1
	k := hashedKey(kindReplyToken, token)
	err = s.updateOutbox(func(txn *badger.Txn) error {
		e := badger.NewEntry(k, b)
		e.ExpiresAt = exp
		if err := txn.SetEntry(e); err != nil {
			return err
		}
		if addr == "" {
			return nil
		}
		a := badger.NewEntry(hashedKey(kindReplyAddr, addr), k)
		a.ExpiresAt = exp
		return txn.SetEntry(a)
	})
	if err != nil {
		return fmt.Errorf("store: writing reply token: %w", err)
	}
	return nil
}

// ReplyToken returns the live binding of a token, or server.ErrNotFound.
func (s *Store) ReplyToken(ctx context.Context, token string, now time.Time) (*ReplyBinding, error) {
	return s.replyBinding(hashedKey(kindReplyToken, token), now)
}

func (s *Store) replyBinding(key []byte, now time.Time) (*ReplyBinding, error) {
	rb := new(ReplyBinding)
	if err := s.get(key, rb, "reply token"); err != nil {
		return nil, err
	}
	if !now.Before(rb.Expires) {
		return nil, fmt.Errorf("store: reply token expired: %w", server.ErrNotFound)
	}
	return rb, nil
}

// ReplyBindingFor returns the newest live binding sent to addr, or
// server.ErrNotFound.
func (s *Store) ReplyBindingFor(ctx context.Context, addr string, now time.Time) (*ReplyBinding, error) {
	var k []byte
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		k, err = getRaw(txn, hashedKey(kindReplyAddr, addr))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading reply address: %w", err)
	}
	if len(k) != 1+sha256.Size || k[0] != kindReplyToken {
		return nil, fmt.Errorf("store: reply address index damaged: %w", server.ErrNotFound)
	}
	return s.replyBinding(k, now)
}

// CollectionRecords returns up to limit records of one collection of a
// space, in id order: server/notify reads a plan's family profile with it
// (one record, of an id nobody can guess).
func (s *Store) CollectionRecords(ctx context.Context, space uuid.UUID, collection string, limit int) ([]*record.Record, error) {
	var out []*record.Record
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := append(append(idKey(kindRecord, space), collection...), 0)
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < limit; it.Next() {
			rec, err := getRecord(txn, it.Item().KeyCopy(nil))
			if err != nil {
				continue // quarantined: its own metrics say so
			}
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading %s of %s: %w", collection, space, err)
	}
	return out, nil
}

// NotifyCursor returns the seq up to which the notifier read a space's
// log, and false when it never recorded one.
func (s *Store) NotifyCursor(ctx context.Context, space uuid.UUID) (uint64, bool, error) {
	var b []byte
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		b, err = getRaw(txn, idKey(kindNotifyRead, space))
		return err
	})
	if errors.Is(err, server.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil || len(b) != seqLen {
		return 0, false, fmt.Errorf("store: reading the notifier's cursor: %w (%d bytes)", err, len(b))
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// PutNotifyCursors records, in one transaction, how far the notifier read
// each space.
func (s *Store) PutNotifyCursors(ctx context.Context, cursors map[uuid.UUID]uint64) error {
	err := s.updateOutbox(func(txn *badger.Txn) error {
		for sp, seq := range cursors {
			if err := txn.Set(idKey(kindNotifyRead, sp), encodeSeq(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: writing the notifier's cursors: %w", err)
	}
	return nil
}
