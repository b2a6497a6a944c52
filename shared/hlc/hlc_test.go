package hlc

import (
	"testing"
	"time"
)

func TestNowIsStrictlyIncreasingWhenWallStandsStill(t *testing.T) {
	fixed := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return fixed }, 0)
	prev := c.Now()
	for i := 0; i < 70000; i++ { // past the 16-bit counter: must carry, not wrap
		next := c.Now()
		if next <= prev {
			t.Fatalf("step %d: %v not after %v", i, next, prev)
		}
		prev = next
	}
}

func TestNowSurvivesWallClockGoingBack(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	a := c.Now()
	wall = wall.Add(-time.Hour)
	if b := c.Now(); b <= a {
		t.Fatalf("clock went backwards: %v then %v", a, b)
	}
}

func TestRestartNeverReusesATimestamp(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	last := c.Now()
	c2 := NewClock(func() time.Time { return wall.Add(-time.Minute) }, last)
	if got := c2.Now(); got <= last {
		t.Fatalf("restarted clock issued %v, not after %v", got, last)
	}
}

func TestUpdate(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	remote := New(wall.Add(time.Minute).UnixMilli(), 7)
	if err := c.Update(remote); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); got <= remote {
		t.Fatalf("Now %v not after remote %v", got, remote)
	}
	far := New(wall.Add(MaxDrift+time.Hour).UnixMilli(), 0)
	if err := c.Update(far); err != ErrDrift {
		t.Fatalf("far-future remote: got %v, want ErrDrift", err)
	}
	if c.Last() >= far {
		t.Fatal("refused timestamp moved the clock")
	}
}

// TestObserveOwnTimestamps: a timestamp this device issued (another tab's,
// made before the wall clock was set back by days) moves the clock even
// past the drift bound, so the next one sorts after it.
func TestObserveOwnTimestamps(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	own := New(wall.Add(MaxDrift+time.Hour).UnixMilli(), 3)
	c.Observe(own)
	if got := c.Now(); got <= own {
		t.Fatalf("Now %v not after the device's own %v", got, own)
	}
	c.Observe(New(wall.UnixMilli(), 0)) // an older one changes nothing
	if c.Last() <= own {
		t.Fatal("an older timestamp moved the clock back")
	}
}

func TestParts(t *testing.T) {
	ts := New(1234567, 89)
	if ts.Millis() != 1234567 || ts.Logical() != 89 {
		t.Fatalf("got %d/%d", ts.Millis(), ts.Logical())
	}
	if !Timestamp(0).IsZero() || ts.IsZero() {
		t.Fatal("IsZero wrong")
	}
}
