// Package secevent is the security event log: failed logins and claims,
// burned invites, forbidden ops, rate-limit hits, quarantined records,
// refused device ids and clocks. An operator reads it to see an attack;
// an attacker must not be able to use it to fill the disk or drown the
// rest of the log, so events pass a process-wide rate limit and what is
// dropped is counted and reported with the next event that passes.
//
// Events never carry a token, a password or an invite secret: callers pass
// only ids, names of events and the client key (an address grouped the way
// rate limits group it). A login someone typed is logged only when it
// names an account; otherwise, as Typed's digest.
package secevent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Names of the events, one per kind of attack or mistake worth an
// operator's attention. Dashboards and tests key on them.
const (
	FailedLogin       = "failed_login"
	FailedClaim       = "failed_claim"
	BurnedInvite      = "burned_invite"
	ForbiddenOp       = "forbidden_op"
	RateLimited       = "rate_limited"
	QuarantinedRecord = "quarantined_record"
	DeviceRefused     = "device_refused"
	ClockRefused      = "clock_refused"
	ConnectionRefused = "connection_refused"
	QuotaExceeded     = "quota_exceeded"
	// Account management by admins, and wrong setup codes.
	AccountDisabled = "account_disabled"
	AccountEnabled  = "account_enabled"
	PasswordReset   = "password_reset"
	FailedSetup     = "failed_setup"
	MemberRemoved   = "member_removed"
)

// DefaultRate and DefaultBurst bound the events written per second for the
// whole process: enough to see every event of an honest school's day, far
// below what would fill a disk during a flood.
const (
	DefaultRate  = 20
	DefaultBurst = 100
)

// eventsTotal is process-wide, like the rate limit, so that every Log of
// a process adds to one count; each app registers it on its own registry
// through Collector (one collector may sit in several registries).
var eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "plansync_security_events_total",
	Help: "Security events by name, counted whether or not the log line was rate-limited away.",
}, []string{"event"})

// Collector is the events counter, for the registry the admin listener
// serves as /metrics.
func Collector() prometheus.Collector { return eventsTotal }

// Log writes security events to a slog.Logger within a rate limit.
type Log struct {
	log *slog.Logger
	lim *rate.Limiter

	mu      sync.Mutex
	dropped int
}

// New returns a Log writing to l at DefaultRate. A nil l means slog.Default.
func New(l *slog.Logger) *Log {
	if l == nil {
		l = slog.Default()
	}
	return &Log{log: l, lim: rate.NewLimiter(DefaultRate, DefaultBurst)}
}

// Event records one event: always in the metric, in the log when the rate
// allows. attrs are slog key-value pairs (ids, client key, reason).
// A nil Log only counts.
func (l *Log) Event(event string, attrs ...any) {
	eventsTotal.WithLabelValues(event).Inc()
	if l == nil {
		return
	}
	l.mu.Lock()
	if !l.lim.AllowN(time.Now(), 1) {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	args := make([]any, 0, len(attrs)+4)
	args = append(args, "event", event)
	if dropped > 0 {
		args = append(args, "dropped_before", dropped)
	}
	args = append(args, attrs...)
	l.log.Warn("security event", args...)
}

// Typed stands for text a person typed where a secret may have landed (a
// login field holding a password typed one field too early): a keyed
// digest that lets an operator see that attempts repeat without the log
// ever holding what was typed. The key is made once per process, so the
// tag cannot be reversed by hashing guesses, and tags correlate within a
// run, which is what reading one attack needs.
func Typed(s string) string {
	typedOnce.Do(func() {
		if _, err := rand.Read(typedKey[:]); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
	})
	m := hmac.New(sha256.New, typedKey[:])
	m.Write([]byte(s))
	return "typed:" + hex.EncodeToString(m.Sum(nil)[:8])
}

var (
	typedOnce sync.Once
	typedKey  [32]byte
)
