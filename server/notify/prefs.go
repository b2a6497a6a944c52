package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/record"
)

// Channel names, as preferences and the outbox store them.
const (
	ChanPush  = "push"
	ChanEmail = "email"
	ChanSMS   = "sms"
	// ChanCall is no channel: the office rings the person (the call list).
	ChanCall = "call"
)

// Digest rhythms.
const (
	DigestNow    = "now"
	DigestDaily  = "daily"
	DigestWeekly = "weekly"
)

// Prefs are one person's choices: which channels (most wanted first), the
// addresses for them, quiet hours in their time zone, the digest rhythm and
// the language messages are written in. Stored as JSON, the shape the
// settings API reads and writes.
type Prefs struct {
	Channels []string `json:"channels"`
	Email    string   `json:"email,omitempty"`
	// Phone is an E.164 number (+15551234567), for text messages.
	Phone string            `json:"phone,omitempty"`
	Push  *PushSubscription `json:"push,omitempty"`
	// QuietStart and QuietEnd ("21:00", "08:00") bound the hours nothing
	// but an urgent item is sent; the range may wrap midnight, and equal
	// values mean no quiet hours.
	QuietStart string `json:"quiet_start,omitempty"`
	QuietEnd   string `json:"quiet_end,omitempty"`
	TimeZone   string `json:"time_zone,omitempty"` // IANA name; the school's (Options.TimeZone) when empty
	Digest     string `json:"digest"`
	Lang       string `json:"lang,omitempty"`
	// FromProfile is set (read-only) when these are defaults drawn from
	// the family's profile, not choices the person saved.
	FromProfile bool `json:"from_profile,omitempty"`
	// EmailVerified and PhoneVerified (read-only) say the person proved
	// the address theirs with a code sent to it (verify.go); a channel is
	// used only for a verified address, so nobody can point a plan's
	// messages at someone else's inbox or phone.
	EmailVerified bool `json:"email_verified,omitempty"`
	PhoneVerified bool `json:"phone_verified,omitempty"`
	// Verify is the code waiting to be entered; stored, never shown.
	Verify *verifyCode `json:"verify,omitempty"`
}

// PushSubscription is the browser's PushSubscription.toJSON().
type PushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// Defaults for a person who chose nothing and has no family profile.
const (
	defaultQuietStart = "21:00"
	defaultQuietEnd   = "08:00"
)

var (
	emailRe = regexp.MustCompile(`^[^@\s<>,;"]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}$`)
	phoneRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Validate says what is wrong with prefs a person sent, in words the
// settings screen can show.
func (p *Prefs) Validate() error {
	if len(p.Channels) > 4 {
		return errors.New("at most four channels")
	}
	for _, c := range p.Channels {
		switch c {
		case ChanPush, ChanEmail, ChanSMS, ChanCall:
		default:
			return fmt.Errorf("unknown channel %q (push, email, sms or call)", c)
		}
	}
	if p.Email != "" && !emailRe.MatchString(p.Email) {
		return errors.New("email: not an email address")
	}
	if p.Phone != "" && !phoneRe.MatchString(p.Phone) {
		return errors.New("phone: write the number with its country code, such as +15551234567")
	}
	if p.Push != nil && (!strings.HasPrefix(p.Push.Endpoint, "https://") || len(p.Push.Endpoint) > 1000 || p.Push.Keys.P256dh == "" || p.Push.Keys.Auth == "") {
		return errors.New("push: not a push subscription")
	}
	for _, t := range []string{p.QuietStart, p.QuietEnd} {
		if _, err := clockMinutes(t); t != "" && err != nil {
			return fmt.Errorf("quiet hours: %w", err)
		}
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil {
		return fmt.Errorf("time zone %q unknown", p.TimeZone)
	}
	switch p.Digest {
	case DigestNow, DigestDaily, DigestWeekly:
	default:
		return errors.New("digest: now, daily or weekly")
	}
	if p.Lang != "" && !plan.ValidLanguageTag(p.Lang) {
		return errors.New("lang: not a language tag")
	}
	return nil
}

func decodePrefs(b []byte) (*Prefs, error) {
	p := new(Prefs)
	if err := json.Unmarshal(b, p); err != nil {
		return nil, err
	}
	return p, nil
}

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time such as 18:00", s)
	}
	return hh*60 + mm, nil
}

func (p *Prefs) location() *time.Location {
	if loc, err := time.LoadLocation(p.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// quiet reports whether t falls in the person's quiet hours.
func (p *Prefs) quiet(t time.Time) bool {
	start, err1 := clockMinutes(p.QuietStart)
	end, err2 := clockMinutes(p.QuietEnd)
	if err1 != nil || err2 != nil || start == end {
		return false
	}
	lt := t.In(p.location())
	m := lt.Hour()*60 + lt.Minute()
	if start < end {
		return m >= start && m < end
	}
	return m >= start || m < end
}

// nextAllowed is the first minute at or after t outside quiet hours.
func (p *Prefs) nextAllowed(t time.Time) time.Time {
	if !p.quiet(t) {
		return t
	}
	end, _ := clockMinutes(p.QuietEnd)
	lt := t.In(p.location())
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, lt.Location())
	at := day.Add(time.Duration(end) * time.Minute)
	if !at.After(t) {
		at = day.AddDate(0, 0, 1).Add(time.Duration(end) * time.Minute)
	}
	return at
}

// due is when an item made at now goes out: at once (outside quiet hours)
// for the "now" rhythm, at the next digest time otherwise; urgent items go
// at once whatever the rhythm and the hour.
func (p *Prefs) due(now time.Time, urgent bool) time.Time {
	if urgent {
		return now
	}
	switch p.Digest {
	case DigestDaily, DigestWeekly:
		// The digest goes when the person's day opens: the end of their
		// quiet hours (18:00 for "after 6 pm"), or 18:00 without any.
		at := 18 * 60
		if end, err := clockMinutes(p.QuietEnd); err == nil && p.QuietStart != p.QuietEnd {
			at = end
		}
		lt := now.In(p.location())
		d := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, lt.Location()).Add(time.Duration(at) * time.Minute)
		if !d.After(now) {
			d = d.AddDate(0, 0, 1)
		}
		if p.Digest == DigestWeekly {
			// Weekly digests go on Sunday, when working families plan
			// their week.
			for d.Weekday() != time.Sunday {
				d = d.AddDate(0, 0, 1)
			}
		}
		return p.nextAllowed(d)
	}
	return p.nextAllowed(now)
}

// timesRe finds "after 6 pm", "after 18:00", "después de las 6", "desde las
// 7 pm", "before 8 am", "antes de las 8" in a family's best times.
var timesRe = regexp.MustCompile(`(?i)\b(after|from|después de|despues de|desde|before|antes de)\s+(?:las\s+|la\s+)?(\d{1,2})(?::(\d{2}))?\s*(p\.?\s?m\.?|a\.?\s?m\.?|de la tarde|de la noche|de la mañana)?`)

// quietFromBestTimes turns a family's own words about good times into
// quiet hours: "after 6 pm" makes 21:00 to 18:00 quiet (the evening is
// theirs, the night is not), "before 8 am" makes 08:00 to 06:00 quiet. It
// understands English and Spanish phrasings and gives up (false) on
// anything else rather than guess.
func quietFromBestTimes(s string) (start, end string, ok bool) {
	m := timesRe.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	h, _ := strconv.Atoi(m[2])
	mm := 0
	if m[3] != "" {
		mm, _ = strconv.Atoi(m[3])
	}
	suffix := strings.ToLower(strings.NewReplacer(".", "", " ", "").Replace(m[4]))
	switch {
	case strings.HasPrefix(suffix, "p") || suffix == "delatarde" || suffix == "delanoche":
		if h < 12 {
			h += 12
		}
	case strings.HasPrefix(suffix, "a") || suffix == "delamañana":
		if h == 12 {
			h = 0
		}
	case suffix == "" && h >= 1 && h <= 7:
		// "after 6" with no am or pm, said of contact with a school: the
		// evening.
		h += 12
	}
	if h > 23 || mm > 59 {
		return "", "", false
	}
	at := fmt.Sprintf("%02d:%02d", h, mm)
	switch strings.ToLower(m[1]) {
	case "before", "antes de":
		// Mornings only: from the stated hour until 6 am is quiet.
		return at, "06:00", true
	}
	// From the stated hour until three hours later (at least 21:00).
	stop := max(h+3, 21)
	if stop > 23 {
		stop = 23
	}
	return fmt.Sprintf("%02d:%02d", stop, mm), at, true
}

// profileDefaults fills prefs from a family's profile record (the
// "family" collection): contact methods become channels, best times
// become quiet hours, the preferred language the messages' language.
func profileDefaults(p *Prefs, fam *record.Record) {
	if fam == nil || fam.Deleted() {
		return
	}
	if methods, ok := fam.Value("contact_methods").([]any); ok {
		var chans []string
		for _, m := range methods {
			var c string
			switch m {
			case "text_message":
				c = ChanSMS
			case "email":
				c = ChanEmail
			case "app_message":
				c = ChanPush
			case "phone_call", "in_person", "home_visit":
				c = ChanCall
			}
			if c != "" && !slices.Contains(chans, c) {
				chans = append(chans, c)
			}
		}
		if len(chans) > 0 {
			p.Channels = chans
			p.FromProfile = true
		}
	}
	if bt, ok := fam.Value("best_times").(string); ok {
		if s, e, ok := quietFromBestTimes(bt); ok {
			p.QuietStart, p.QuietEnd = s, e
			p.FromProfile = true
		}
	}
	if l, ok := fam.Value("preferred_language").(string); ok && l != "" {
		p.Lang = l
		p.FromProfile = true
	}
}
