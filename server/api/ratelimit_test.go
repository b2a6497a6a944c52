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
