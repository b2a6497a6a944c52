package api

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: Burst attempts at once, then one per Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// limiters is a bounded map of token buckets keyed by IP, login, invite or
// user. At Max keys the least recently used bucket is dropped: memory stays
// bounded whatever an attacker sends, at the price that someone cycling
// through more than Max keys resets the oldest buckets (the per-IP limit
// and the durable per-invite failure count still hold them back).
type limiters struct {
	rate Rate
	max  int

	mu  sync.Mutex
	m   map[string]*list.Element // key -> element of lru holding *bucket
	lru *list.List               // front: most recently used
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// newLimiters returns an empty set of buckets, each refilled at r, holding
// at most max keys.
func newLimiters(r Rate, max int) *limiters {
	return &limiters{rate: r, max: max, m: make(map[string]*list.Element), lru: list.New()}
}

// allow takes one token from key's bucket at now, reporting whether there
// was one.
func (l *limiters) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket).lim.AllowN(now, 1)
	}
	if l.lru.Len() >= l.max {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.m, old.Value.(*bucket).key)
	}
	b := &bucket{key: key, lim: rate.NewLimiter(rate.Every(l.rate.Every), l.rate.Burst)}
	l.m[key] = l.lru.PushFront(b)
	return b.lim.AllowN(now, 1)
}

// blocked reports whether key's bucket is empty at now, without taking a
// token: failure buckets are checked before an attempt and charged only
// when it fails, so an owner's correct attempts never count against them.
// It also returns how long until the bucket holds a token again.
func (l *limiters) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[key]
	if !ok {
		return false, 0
	}
	l.lru.MoveToFront(e)
	tokens := e.Value.(*bucket).lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) * float64(l.rate.Every))
}

// fail charges one failure to key's bucket at now. Two attempts racing
// past blocked may both fail and overdraw the bucket by one: the overdraft
// is bounded by the attempts in flight, which the hashing bound caps.
func (l *limiters) fail(key string, now time.Time) { l.allow(key, now) }

// len returns how many buckets are held.
func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
