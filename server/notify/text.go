package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/plansync/plansync/shared/uuid"
)

// Events that make a message. They are stored in queued items, so they
// never change once released.
const (
	EvNote            = "note"             // a new note in the person's plan
	EvReply           = "reply"            // a reply to the person's note
	EvMeetingProposed = "meeting_proposed" // a meeting was proposed
	EvMeetingChanged  = "meeting_changed"  // its times, place or status changed
	EvMeetingReminder = "meeting_reminder" // the day before it
	EvSuggestion      = "suggestion"       // a suggestion the person made was answered
	EvCheckinRequest  = "checkin_request"  // the school asks how it goes at home
)

// payload is what a queued item says, encoded in the item: just enough to
// write the message (what, where, a link), never the text of the plan.
type payload struct {
	Event      string    `msgpack:"e"`
	Space      uuid.UUID `msgpack:"s"`
	Where      string    `msgpack:"w"` // the plan's name, such as the student's
	Collection string    `msgpack:"c"`
	Record     uuid.UUID `msgpack:"r"`
	From       string    `msgpack:"f,omitempty"` // who wrote it
	When       time.Time `msgpack:"t,omitempty"` // a meeting's start
	Urgent     bool      `msgpack:"u,omitempty"`
	Lang       string    `msgpack:"l"`
	TimeZone   string    `msgpack:"z,omitempty"`
}

// catalogs hold the messages' words, by language and key. Only the
// languages here are written in; anything else falls back to English
// (base language first: "es-MX" reads "es").
var catalogs = map[string]map[string]string{
	"en": {
		EvNote:            "%[1]s wrote a note in %[2]s's plan.",
		EvReply:           "%[1]s replied to your note in %[2]s's plan.",
		EvMeetingProposed: "%[1]s proposed a meeting about %[2]s: %[3]s.",
		EvMeetingChanged:  "The meeting about %[2]s changed: now %[3]s.",
		EvMeetingReminder: "Reminder: meeting about %[2]s tomorrow, %[3]s.",
		EvSuggestion:      "%[1]s answered your suggestion in %[2]s's plan.",
		EvCheckinRequest:  "%[1]s asks how things are going at home for %[2]s.",
		"urgent":          "Urgent",
		"open":            "Open",
		"reply_hint":      "Reply to this message to answer in the plan.",
		"digest":          "%d updates in Plansync:",
		"subject":         "Plansync: %s",
		"someone":         "Someone",
		"time":            "Mon Jan 2, 3:04 PM",
		"call":            "Call about: %s",
		"verify":          "Your Plansync code is %s. Enter it in Settings to get messages here.",
		"verify_subject":  "Your Plansync code",
	},
	"es": {
		EvNote:            "%[1]s escribió una nota en el plan de %[2]s.",
		EvReply:           "%[1]s respondió a su nota en el plan de %[2]s.",
		EvMeetingProposed: "%[1]s propuso una reunión sobre %[2]s: %[3]s.",
		EvMeetingChanged:  "La reunión sobre %[2]s cambió: ahora %[3]s.",
		EvMeetingReminder: "Recordatorio: reunión sobre %[2]s mañana, %[3]s.",
		EvSuggestion:      "%[1]s respondió a su sugerencia en el plan de %[2]s.",
		EvCheckinRequest:  "%[1]s pregunta cómo van las cosas en casa con %[2]s.",
		"urgent":          "Urgente",
		"open":            "Abrir",
		"reply_hint":      "Responda a este mensaje para contestar en el plan.",
		"digest":          "%d novedades en Plansync:",
		"subject":         "Plansync: %s",
		"someone":         "Alguien",
		"time":            "02/01 15:04",
		"call":            "Llamar por: %s",
		"verify":          "Su código de Plansync es %s. Escríbalo en Ajustes para recibir mensajes aquí.",
		"verify_subject":  "Su código de Plansync",
	},
}

var weekdays = map[string][7]string{
	"en": {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	"es": {"dom", "lun", "mar", "mié", "jue", "vie", "sáb"},
}

// catalogLang picks the catalog for a language tag.
func catalogLang(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(tag), "-")
	if _, ok := catalogs[base]; ok {
		return base
	}
	return "en"
}

func tr(lang, key string) string {
	if s, ok := catalogs[catalogLang(lang)][key]; ok {
		return s
	}
	return catalogs["en"][key]
}

// line is the one sentence saying what happened and where.
func (p *payload) line() string {
	lang := catalogLang(p.Lang)
	from := p.From
	if from == "" {
		from = tr(lang, "someone")
	}
	when := ""
	if !p.When.IsZero() {
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		t := p.When.In(loc)
		when = weekdays[lang][t.Weekday()] + " " + t.Format(tr(lang, "time"))
		if lang == "en" {
			when = t.Format(tr(lang, "time"))
		}
	}
	s := fmt.Sprintf(tr(lang, p.Event), from, p.Where, when)
	if p.Urgent {
		s = tr(lang, "urgent") + ": " + s
	}
	return s
}

// link is the exact item in the web app. It carries no token: the app
// asks the person to sign in if the device is not.
func (p *payload) link(base string) string {
	tab := p.Collection
	if tab == "" {
		tab = "notes"
	}
	return strings.TrimRight(base, "/") + "/#/s/" + p.Space.String() + "/" + tab + "/" + p.Record.String()
}

// Message is one message handed to a channel.
type Message struct {
	To      string // an email address, a phone number, or a push subscription (JSON)
	Lang    string
	Subject string
	Text    string
	Link    string
	// Key is the same for every attempt at this message: channels that
	// can (email's Message-ID, push's Topic, a provider's idempotency
	// header) pass it on, so a repeat is recognised downstream.
	Key string
	// ReplyTo is the address a reply goes to (email), empty when replies
	// are off.
	ReplyTo string
	Urgent  bool
}

// compose writes the message for the items of one recipient and channel:
// one line and its link, or a digest of up to maxDigestLines lines, each
// with its link.
func compose(ps []*payload, base string) (subject, text, link string) {
	lang := catalogLang(ps[0].Lang)
	if len(ps) == 1 {
		l := ps[0].line()
		return fmt.Sprintf(tr(lang, "subject"), ps[0].Where), l + "\n" + ps[0].link(base), ps[0].link(base)
	}
	var b strings.Builder
	fmt.Fprintf(&b, tr(lang, "digest"), len(ps))
	for i, p := range ps {
		if i == maxDigestLines {
			break
		}
		b.WriteString("\n- " + p.line() + "\n  " + p.link(base))
	}
	return fmt.Sprintf(tr(lang, "subject"), fmt.Sprintf(tr(lang, "digest"), len(ps))), b.String(), strings.TrimRight(base, "/") + "/"
}

// maxDigestLines bounds a digest: past it the person opens the app.
const maxDigestLines = 20
