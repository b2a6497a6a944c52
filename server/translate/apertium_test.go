package translate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func apertium(t *testing.T, o ApertiumOptions) *Apertium {
	t.Helper()
	a, err := NewApertium(context.Background(), o)
	if errors.Is(err, ErrNotInstalled) {
		t.Skip("apertium is not installed: make test installs it (apt-get install -y apertium apertium-eng-spa)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestApertiumRoundTrip translates a real teacher's note to Spanish and
// the Spanish back to English with the real apertium-eng-spa.
func TestApertiumRoundTrip(t *testing.T) {
	a := apertium(t, ApertiumOptions{})
	ctx := context.Background()
	for _, pair := range [][2]string{{"en", "es-MX"}, {"es", "en"}} {
		if ok, _ := a.Supports(ctx, pair[0], pair[1]); !ok {
			t.Fatalf("apertium does not support %s to %s: is apertium-eng-spa installed?", pair[0], pair[1])
		}
	}
	note := "Ana read two books this week. The meeting is on Tuesday."
	es, err := a.Translate(ctx, note, "en", "es-MX")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("es: %q", es)
	for _, w := range []string{"Ana", "leyó", "dos", "libros", "semana", "reunión", "martes"} {
		if !strings.Contains(es, w) {
			t.Errorf("Spanish %q lacks %q", es, w)
		}
	}
	if strings.Contains(es, "*") || strings.HasSuffix(es, "\n") {
		t.Errorf("Spanish %q carries unknown-word marks or a newline the note did not have", es)
	}
	en, err := a.Translate(ctx, es, "es", "en")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("back: %q", en)
	for _, w := range []string{"Ana", "two", "books", "week", "meeting", "Tuesday"} {
		if !strings.Contains(en, w) {
			t.Errorf("English %q lacks %q", en, w)
		}
	}
	if _, err := a.Translate(ctx, note, "en", "ja"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("en to ja: %v, want ErrUnsupported", err)
	}
	if ok, _ := a.Supports(ctx, "en", "ja"); ok {
		t.Error("Supports(en, ja) = true")
	}
}

// TestApertiumLimits: input past MaxInput is refused before any process
// starts, a process past Timeout is killed (its whole pipeline), and a
// text that finds every slot taken past QueueWait gets ErrBusy. A script
// standing in for apertium makes the slow process: it answers -l like
// apertium and then sleeps.
func TestApertiumLimits(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "child-alive")
	script := "#!/bin/sh\nif [ \"$1\" = -l ]; then echo eng-spa; exit 0; fi\n" +
		"(sleep 5; touch " + marker + ") &\nsleep 5\n"
	cmd := filepath.Join(dir, "slow-apertium")
	if err := os.WriteFile(cmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := NewApertium(context.Background(), ApertiumOptions{Command: cmd, Procs: 1, Timeout: 300 * time.Millisecond, QueueWait: 100 * time.Millisecond, MaxInput: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Translate(ctx, strings.Repeat("x", 101), "en", "es"); !errors.Is(err, ErrTooLong) {
		t.Errorf("101 bytes: %v, want ErrTooLong", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := time.Now()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				time.Sleep(30 * time.Millisecond) // the first holds the one slot
			}
			_, errs[i] = a.Translate(ctx, "hello", "en", "es")
		}()
	}
	wg.Wait()
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "took longer") {
		t.Errorf("slow process: %v, want a timeout", errs[0])
	}
	if !errors.Is(errs[1], ErrBusy) {
		t.Errorf("second text with the only slot taken: %v, want ErrBusy", errs[1])
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s: the timeout did not kill the process", d)
	}
	time.Sleep(5500*time.Millisecond - time.Since(start))
	if _, err := os.Stat(marker); err == nil {
		t.Error("the pipeline's child outlived the timeout: the process group was not killed")
	}
}
