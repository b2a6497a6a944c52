package client

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffGrowsJittersAndResets(t *testing.T) {
	const base, ceil = 250 * time.Millisecond, 30 * time.Second
	b := &backoff{base: base, max: ceil, rand: rand.New(rand.NewPCG(1, 2))}
	const samples = 2000
	var prevMean time.Duration
	for attempt := 0; attempt < 12; attempt++ {
		want := min(base<<attempt, ceil)
		var sum, hi time.Duration
		lo := want
		for i := 0; i < samples; i++ {
			b.attempt = attempt
			d := b.next()
			if d < 0 || d > want {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, want)
			}
			sum += d
			hi, lo = max(hi, d), min(lo, d)
		}
		mean := sum / samples
		// Full jitter: uniform over [0, want], so the mean is near want/2
		// and the samples spread over nearly the whole window.
		if mean < want*4/10 || mean > want*6/10 {
			t.Errorf("attempt %d: mean %v, want about %v", attempt, mean, want/2)
		}
		if hi < want*9/10 || lo > want/10 {
			t.Errorf("attempt %d: samples in [%v, %v], not spread over [0, %v]", attempt, lo, hi, want)
		}
		if attempt > 0 && want < ceil && mean <= prevMean {
			t.Errorf("attempt %d: mean %v did not grow from %v", attempt, mean, prevMean)
		}
		prevMean = mean
	}
	if b.ceiling() != ceil {
		t.Fatalf("ceiling after many attempts %v, want cap %v", b.ceiling(), ceil)
	}
	b.reset()
	if b.ceiling() != base {
		t.Fatalf("ceiling after reset %v, want %v", b.ceiling(), base)
	}
	if d := b.next(); d > base {
		t.Fatalf("first delay after reset %v > base %v", d, base)
	}
}

func TestBackoffIsDeterministicForASeed(t *testing.T) {
	seq := func() []time.Duration {
		b := &backoff{base: time.Millisecond, max: time.Second, rand: rand.New(rand.NewPCG(7, 7))}
		var out []time.Duration
		for i := 0; i < 20; i++ {
			out = append(out, b.next())
		}
		return out
	}
	a, c := seq(), seq()
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("step %d: %v vs %v", i, a[i], c[i])
		}
	}
}
