package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// Storage quotas. A plan's log only grows (it is the plan's history, kept
// so that nothing anyone wrote is lost), so what a space or a person costs
// the disk is the bytes of the log entries their ops added: a record can
// never hold more than the ops that built it. The free-space guard keeps
// the whole disk from filling; the quotas keep one hostile member, or one
// runaway script, from taking the disk everyone else needs. Usage is
// counted from the first commit of a build that counts it: logs written
// before count as zero.
const (
	// DefaultSpaceQuota is what one plan's log may hold. A busy plan writes
	// about a megabyte a school year (a few thousand notes, check-ins and
	// edits of a few hundred bytes each); 256 MiB is two hundred years of
	// that, and well below a small server's disk.
	DefaultSpaceQuota = 256 << 20 // bytes
	// DefaultUserQuota is what one person's ops may add across all spaces:
	// a teacher writes in every plan of their class, so it is a few
	// spaces' worth.
	DefaultUserQuota = 1 << 30 // bytes
	// quotaEntryOverhead is charged per op on top of its log entry, for the
	// keys that index it (history, op index, head).
	quotaEntryOverhead = 96 // bytes
)

// usage tracks the bytes charged to spaces and users. The committer alone
// touches it; entries are read from badger on first use and written with
// the group's other keys, so they are as durable as the ops they count.
type usage struct {
	space map[uuid.UUID]int64
	user  map[uuid.UUID]int64
}

func newUsage() usage {
	return usage{space: map[uuid.UUID]int64{}, user: map[uuid.UUID]int64{}}
}

// forget drops the cache after a failed group, whose charges may not have
// reached the disk.
func (u *usage) forget() {
	clear(u.space)
	clear(u.user)
}

func spaceUsageKey(space uuid.UUID) []byte { return idKey(kindSpaceUsage, space) }
func userUsageKey(user uuid.UUID) []byte   { return idKey(kindUserUsage, user) }

func (u *usage) get(txn *badger.Txn, m map[uuid.UUID]int64, key []byte, id uuid.UUID) (int64, error) {
	if n, ok := m[id]; ok {
		return n, nil
	}
	raw, err := getRaw(txn, key)
	var n int64
	switch {
	case errors.Is(err, server.ErrNotFound):
	case err != nil:
		return 0, err
	case len(raw) != 8:
		return 0, fmt.Errorf("store: usage of %s is %d bytes long", id, len(raw))
	default:
		n = int64(binary.BigEndian.Uint64(raw))
	}
	m[id] = n
	return n, nil
}

// charge checks that an op adding cost bytes to space, written by user,
// fits both quotas. It returns server.ErrQuotaExceeded when it does not;
// otherwise it counts the cost in the cache and returns the writes that
// record the new usage, which the caller commits with the op (a failed
// group forgets the cache).
func (s *Store) charge(txn *badger.Txn, space, user uuid.UUID, cost int64) ([]kv, error) {
	su, err := s.usage.get(txn, s.usage.space, spaceUsageKey(space), space)
	if err != nil {
		return nil, err
	}
	uu, err := s.usage.get(txn, s.usage.user, userUsageKey(user), user)
	if err != nil {
		return nil, err
	}
	if q := s.opts.SpaceQuota; q > 0 && su+cost > q {
		return nil, fmt.Errorf("%w: this plan holds %d of %d bytes", server.ErrQuotaExceeded, su, q)
	}
	if q := s.opts.UserQuota; q > 0 && uu+cost > q {
		return nil, fmt.Errorf("%w: this person has written %d of %d bytes", server.ErrQuotaExceeded, uu, q)
	}
	s.usage.space[space] = su + cost
	s.usage.user[user] = uu + cost
	return []kv{
		{spaceUsageKey(space), binary.BigEndian.AppendUint64(nil, uint64(su+cost))},
		{userUsageKey(user), binary.BigEndian.AppendUint64(nil, uint64(uu+cost))},
	}, nil
}
