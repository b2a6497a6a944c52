package api

import (
	"fmt"
	"testing"
	"time"
)

func TestLimitersStayBounded(t *testing.T) {
	l := newLimiters(Rate{Every: time.Minute, Burst: 1}, 3)
	now := time.Now()
	for i := range 100 {
		l.allow(fmt.Sprint(i), now)
	}
	if l.len() != 3 {
		t.Fatalf("%d buckets, bound 3", l.len())
	}
	if l.allow("99", now) {
		t.Fatal("a recent key's bucket was lost")
	}
	// The oldest key was evicted and starts afresh.
	if !l.allow("0", now) {
		t.Fatal("an evicted key did not start with a full bucket")
	}
	if !l.allow("99", now.Add(time.Minute)) {
		t.Fatal("a bucket did not refill")
	}
}

// Checking a failure bucket holds no memory: only failures make buckets,
// so a flood of correct or never-failing attempts cannot fill the map.
func TestFailureBucketsOnlyGrowOnFailure(t *testing.T) {
	l := newLimiters(Rate{Every: time.Minute, Burst: 2}, 10)
	now := time.Now()
	for i := range 100 {
		if no, _ := l.blocked(fmt.Sprint(i), now); no {
			t.Fatal("a fresh key is blocked")
		}
	}
	if l.len() != 0 {
		t.Fatalf("%d buckets after checks alone", l.len())
	}
	l.fail("a", now)
	if no, _ := l.blocked("a", now); no {
		t.Fatal("blocked after one failure of two")
	}
	l.fail("a", now)
	no, wait := l.blocked("a", now)
	if !no || wait <= 0 || wait > time.Minute {
		t.Fatalf("after two failures: blocked %v, wait %v", no, wait)
	}
	if no, _ := l.blocked("a", now.Add(time.Minute)); no {
		t.Fatal("still blocked after the refill")
	}
}
