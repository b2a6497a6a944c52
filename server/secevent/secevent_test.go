package secevent

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

// A flood of events writes at most the burst, and the next line that passes
// says how many were dropped.
func TestFloodIsBoundedAndCounted(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)))
	const n = 10 * DefaultBurst
	for range n {
		l.Event(FailedLogin, "client", "203.0.113.0")
	}
	lines := strings.Count(buf.String(), "\n")
	if lines > DefaultBurst+DefaultRate || lines < DefaultBurst {
		t.Fatalf("%d lines for %d events, want about the burst %d", lines, n, DefaultBurst)
	}
	if !strings.Contains(buf.String(), "event=failed_login") {
		t.Fatalf("no event name in %q", buf.String()[:200])
	}
	l.lim = rate.NewLimiter(rate.Inf, 1) // the flood is over
	l.Event(BurnedInvite, "invite", "x")
	if !strings.Contains(buf.String(), "dropped_before=") {
		t.Fatalf("the line after a flood does not say what was dropped")
	}
}
