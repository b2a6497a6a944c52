package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
)

// commitReq is one Commit call waiting for the committer.
type commitReq struct {
	ops  []record.Op
	done chan commitReply // buffered: the committer never waits for a caller
}

type commitReply struct {
	results []server.OpResult
	err     error
}

// Commit merges ops into their records and appends the changes to their
// spaces' logs. It returns once the group holding them is fsynced and
// published to the OnCommit hook, with one result per op, or an error
// wrapping server.ErrUnavailable (the disk is nearly full or the store is
// closing; nothing written).
//
// If ctx ends while the call waits, Commit returns ctx.Err(), but the ops
// may still be committed: the caller must not ack them, and a retry is
// harmless because re-applied ops change nothing. The ops must not be
// modified after the call, even when it returned early.
func (s *Store) Commit(ctx context.Context, ops []record.Op) ([]server.OpResult, error) {
	if len(ops) == 0 {
		return []server.OpResult{}, nil
	}
	req := &commitReq{ops: ops, done: make(chan commitReply, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return nil, err
	}
	select {
	case r := <-req.done:
		return r.results, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// enqueue hands req to the committer, waiting while the queue is full.
func (s *Store) enqueue(ctx context.Context, req *commitReq) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: closed: %w", server.ErrUnavailable)
	}
	select {
	case s.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runCommitter is the committer goroutine: it takes one request, drains
// whatever else is already queued (up to MaxGroupOps ops) and commits them
// as one group. It returns when Close has closed the queue and every queued
// request is answered.
func (s *Store) runCommitter() {
	defer s.wg.Done()
	for req := range s.reqs {
		group := []*commitReq{req}
		n := len(req.ops)
	drain:
		for n < s.opts.MaxGroupOps {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				group = append(group, r)
				n += len(r.ops)
			default:
				break drain
			}
		}
		s.commitGroup(group, n)
	}
}

// commitGroup merges, writes, syncs, publishes and answers one group.
// Only the committer goroutine calls it.
func (s *Store) commitGroup(group []*commitReq, nops int) {
	start := time.Now()
	s.stats.groups.Add(1)
	if err := s.checkSpace(); err != nil {
		s.stats.refused.Add(uint64(len(group)))
		s.metrics.refuse(len(group))
		s.replyAll(group, err)
		return
	}
	g, err := s.merge(group)
	mark := s.mark.Load()
	if err == nil {
		if mark != nil {
			// Last, so that it lands with (after) every op of the group.
			g.writes = append(g.writes, []kv{{mark.key, mark.val}})
		}
		s.synced.hold(g.committed)
		err = s.persist(g)
	}
	if err == nil && mark != nil {
		s.mark.CompareAndSwap(mark, nil)
	}
	if err != nil {
		// The cached heads may be ahead of what reached the disk; read them
		// again next time. Ops of this group that did reach it are found
		// applied when the callers retry.
		clear(s.heads)
		clear(s.opHigh)
		s.usage.forget()
		s.log.Error("store: group commit failed", "ops", nops, "err", err)
		s.replyAll(group, err)
		return
	}
	if len(g.committed) > 0 {
		if fn := s.hook.Load(); fn != nil && *fn != nil {
			(*fn)(g.committed)
		}
	}
	s.stats.ops.Add(uint64(g.changed))
	s.metrics.observeGroup(nops, time.Since(start).Seconds())
	// Counted before the replies, so that Stats read after a Commit
	// returns includes it.
	s.stats.commits.Add(uint64(len(group)))
	for i, req := range group {
		req.done <- commitReply{results: g.results[i]}
	}
}

// persist writes the group and syncs. It syncs even when the group wrote
// nothing if an earlier write was never synced: an op found already applied
// is acked, so it must be durable too.
func (s *Store) persist(g *group) error {
	if len(g.writes) > 0 {
		if err := s.write(g.writes); err != nil {
			return err
		}
	}
	if !s.dirty {
		s.synced.release() // nothing written is unsynced
		return nil
	}
	if err := s.syncDurable(); err != nil {
		return err
	}
	s.synced.release()
	if !s.opts.NoSync {
		s.stats.syncs.Add(1) // group syncs only: Stats compares them to Commits
	}
	s.dirty = false
	return nil
}

func (s *Store) replyAll(group []*commitReq, err error) {
	s.stats.commits.Add(uint64(len(group)))
	for _, req := range group {
		req.done <- commitReply{err: err}
	}
}

var errBadKey = errors.New("store: op has an empty collection or one containing 0x00")
