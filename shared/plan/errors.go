package plan

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Code is a stable, machine-readable reason. Codes travel in acks and the UI
// picks its translated message by code, so a code never changes meaning once
// released; the English text of Error() may.
type Code string

const (
	CodeUnknownCollection Code = "unknown_collection" // no such collection in this kind of space (or no such kind)
	CodeUnknownField      Code = "unknown_field"      // no such field, or a reserved "_" name
	CodeWrongType         Code = "wrong_type"         // e.g. a number where text belongs, or nesting the schema has no room for
	CodeTooLong           Code = "too_long"           // more runes than Field.MaxLen
	CodeNotInEnum         Code = "not_in_enum"        // not one of Field.Enum
	CodeRequired          Code = "required"           // a required field missing, blank, or being cleared
	CodeInvalidUTF8       Code = "invalid_utf8"       // text is not valid UTF-8
	CodeInvalidDate       Code = "invalid_date"       // not YYYY-MM-DD, not RFC 3339, or no such day
	CodeInvalidID         Code = "invalid_id"         // not a lowercase UUID
	CodeTooManyItems      Code = "too_many_items"     // a list longer than Field.MaxItems
	CodeBadLanguageTag    Code = "bad_language_tag"   // not a BCP 47 language tag
	CodeControlChar       Code = "control_char"       // a control character other than newline or tab
	CodeOutOfRange        Code = "out_of_range"       // a number outside Field.Min..Field.Max
	CodeDuplicateItem     Code = "duplicate_item"     // a set (Field.Unique) names a value twice
)

// Error says which field of which collection was refused and why. It is the
// only error type this package returns, so callers can errors.As it and send
// Code to the client.
type Error struct {
	Code Code
	// Collection is the collection written to. A name the client made up is
	// clipped and quoted when it is not a plain lowercase name, so that it
	// cannot forge a message; the same goes for Field.
	Collection string
	// Field is the path of the refused value: "description",
	// "proposed_times[2].start", "attendees[4]". Empty when the collection
	// itself was refused.
	Field string
	// Limit is the bound that was broken (runes, items, or the crossed end
	// of a number range); zero when no bound applies.
	Limit int
	// Got is the measured size or number that broke Limit.
	Got int
	// Detail is the English reason, without the "collection.field: " prefix.
	Detail string
}

func (e *Error) Error() string {
	if e.Code == CodeUnknownCollection || e.Collection == "" {
		return e.Detail
	}
	where := e.Collection
	if e.Field != "" {
		where += "." + e.Field
	}
	return where + ": " + e.Detail
}

// CodeOf returns the code of a validation error, or "" for nil or for any
// other error, so a server can fill an ack without a type assertion.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// maxEcho bounds how much of a refused value an error repeats. Values echoed
// are short codes, dates and tags, never prose, but a client may send prose
// where a code belongs, and errors end up in logs.
const maxEcho = 40

// quote shows a client-supplied string safely in a message: clipped, with
// anything unprintable or invalid escaped.
func quote(s string) string {
	return strconv.Quote(clip(s, maxEcho))
}

// clip cuts s to at most n bytes without splitting a rune, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// label shows a field or collection name as is when it looks like one, and
// quoted otherwise, so that a hostile name cannot forge a message.
func label(s string) string {
	if s == "" || len(s) > 64 {
		return quote(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return quote(s)
		}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
