package plan

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidateFields checks one write: only the fields present, because an op
// usually sets a single field of an existing record. A nil value clears a
// field, which is allowed unless the field is required. Fields are checked in
// name order so that the same write always yields the same error.
func ValidateFields(kind SpaceKind, collection string, fields map[string]any) error {
	e, err := lookup(kind, collection)
	if err != nil {
		return err
	}
	if err := e.validate(fields); err != nil {
		return err
	}
	return nil
}

// ValidateRecord checks a new record: everything ValidateFields checks, and
// also that every required field is present and not blank, since a create is
// the one moment the whole record is known.
func ValidateRecord(kind SpaceKind, collection string, fields map[string]any) error {
	e, err := lookup(kind, collection)
	if err != nil {
		return err
	}
	if err := e.validate(fields); err != nil {
		return err
	}
	for i := range e.c.Fields {
		f := &e.c.Fields[i]
		if !f.Required {
			continue
		}
		if v, ok := fields[f.Name]; !ok || v == nil {
			return &Error{Code: CodeRequired, Collection: e.c.Name, Field: f.Name, Detail: "required"}
		}
	}
	return nil
}

func lookup(kind SpaceKind, collection string) (*entry, *Error) {
	cols, ok := schema[kind]
	if !ok {
		return nil, &Error{Code: CodeUnknownCollection, Collection: label(collection),
			Detail: "unknown space kind " + quote(string(kind))}
	}
	e, ok := cols[collection]
	if !ok {
		return nil, &Error{Code: CodeUnknownCollection, Collection: label(collection),
			Detail: "unknown collection " + quote(collection) + " in a " + string(kind) + " space"}
	}
	return e, nil
}

func (e *entry) validate(fields map[string]any) *Error {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := fields[name]
		if strings.HasPrefix(name, "_") {
			if err := reserved(name, v); err != nil {
				err.Collection = e.c.Name
				return err
			}
			continue
		}
		f, ok := e.fields[name]
		if !ok {
			return &Error{Code: CodeUnknownField, Collection: e.c.Name, Field: label(name), Detail: "unknown field"}
		}
		var err *Error
		if v == nil {
			if f.Required {
				err = &Error{Code: CodeRequired, Detail: "required, cannot be cleared"}
			}
		} else {
			err = check(f, v, 0)
		}
		if err != nil {
			err.Collection = e.c.Name
			err.Field = name + err.Field
			return err
		}
	}
	return nil
}

// reserved admits the system fields every collection shares. Only the
// tombstone exists today; refusing every other "_" name keeps the namespace
// free for the sync layer to grow into.
func reserved(name string, v any) *Error {
	if name != DeletedField {
		return &Error{Code: CodeUnknownField, Field: label(name), Detail: "reserved system field"}
	}
	if _, ok := v.(bool); !ok {
		return &Error{Code: CodeWrongType, Field: name, Detail: wrongType(v, "true or false")}
	}
	return nil
}

// check validates one non-nil value against f; depth counts the lists and
// objects around v. The returned error's Field is the path below f ("",
// "[3]", "[3].start"); callers prefix their part.
func check(f *Field, v any, depth int) *Error {
	switch f.Type {
	case TypeBool:
		if _, ok := v.(bool); !ok {
			return &Error{Code: CodeWrongType, Detail: wrongType(v, "true or false")}
		}
		return nil
	case TypeInt:
		return checkInt(f, v)
	case TypeNumber:
		return checkNumber(f, v)
	case TypeList:
		return checkList(f, v, depth)
	case TypeObject:
		return checkObject(f, v, depth)
	}

	s, ok := v.(string)
	if !ok {
		return &Error{Code: CodeWrongType, Detail: wrongType(v, "text")}
	}
	n, err := scan(s)
	if err != nil {
		return err
	}
	if f.Required && strings.TrimSpace(s) == "" {
		return &Error{Code: CodeRequired, Detail: "required, cannot be blank"}
	}
	switch f.Type {
	case TypeString:
		if n > f.MaxLen {
			return &Error{Code: CodeTooLong, Limit: f.MaxLen, Got: n,
				Detail: "too long (" + itoa(n) + " runes, limit " + itoa(f.MaxLen) + ")"}
		}
	case TypeEnum:
		if !slices.Contains(f.Enum, s) {
			return &Error{Code: CodeNotInEnum, Detail: quote(s) + " is not one of " + strings.Join(f.Enum, ", ")}
		}
	case TypeDate:
		if !validDate(s) {
			return &Error{Code: CodeInvalidDate, Detail: quote(s) + " is not a date as YYYY-MM-DD"}
		}
	case TypeTimestamp:
		if !validTimestamp(s) {
			return &Error{Code: CodeInvalidDate,
				Detail: quote(s) + " is not a time as RFC 3339, like 2025-03-14T16:30:00-05:00"}
		}
	case TypeID:
		if !validID(s) {
			return &Error{Code: CodeInvalidID, Detail: quote(s) + " is not a lowercase UUID"}
		}
	case TypeLang:
		if !ValidLanguageTag(s) {
			return &Error{Code: CodeBadLanguageTag, Detail: quote(s) + ` is not a language tag like "en" or "es-MX"`}
		}
	default:
		return &Error{Code: CodeWrongType, Detail: "field has unknown type " + quote(string(f.Type))}
	}
	return nil
}

// scan checks text a person could not have meant to send — invalid UTF-8,
// control characters other than newline and tab (which break layouts, logs
// and terminals) — and counts runes in the same pass.
func scan(s string) (int, *Error) {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\t' {
				return 0, &Error{Code: CodeControlChar,
					Detail: "control character U+" + hex4(rune(c)) + " at rune " + itoa(n) +
						" (only newline and tab are allowed)"}
			}
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, &Error{Code: CodeInvalidUTF8, Detail: "not valid UTF-8 (at byte " + itoa(i) + ")"}
		}
		i += size
		n++
	}
	return n, nil
}

func hex4(r rune) string {
	h := strings.ToUpper(strconv.FormatInt(int64(r), 16))
	return strings.Repeat("0", 4-len(h)) + h
}

func checkInt(f *Field, v any) *Error {
	n, ok, big := toInt64(v)
	if !ok {
		return &Error{Code: CodeWrongType, Detail: wrongType(v, "a whole number")}
	}
	rng := " out of range (" + strconv.FormatInt(f.Min, 10) + " to " + strconv.FormatInt(f.Max, 10) + ")"
	switch {
	case big > 0:
		return &Error{Code: CodeOutOfRange, Limit: int(f.Max), Got: math.MaxInt, Detail: "number" + rng}
	case big < 0:
		return &Error{Code: CodeOutOfRange, Limit: int(f.Min), Got: math.MinInt, Detail: "number" + rng}
	case n < f.Min:
		return &Error{Code: CodeOutOfRange, Limit: int(f.Min), Got: int(n), Detail: strconv.FormatInt(n, 10) + rng}
	case n > f.Max:
		return &Error{Code: CodeOutOfRange, Limit: int(f.Max), Got: int(n), Detail: strconv.FormatInt(n, 10) + rng}
	}
	return nil
}

// checkNumber accepts any integer kind or a finite float within Min..Max:
// a reading of "words per minute" or "3.5 hours" alike.
func checkNumber(f *Field, v any) *Error {
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case float32:
		x = float64(n)
	default:
		i, ok, big := toInt64(v)
		if !ok {
			return &Error{Code: CodeWrongType, Detail: wrongType(v, "a number")}
		}
		if big != 0 {
			return &Error{Code: CodeOutOfRange, Limit: int(f.Max), Detail: "number out of range"}
		}
		x = float64(i)
	}
	rng := " out of range (" + strconv.FormatInt(f.Min, 10) + " to " + strconv.FormatInt(f.Max, 10) + ")"
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return &Error{Code: CodeWrongType, Detail: wrongType(v, "a finite number")}
	case x < float64(f.Min):
		return &Error{Code: CodeOutOfRange, Limit: int(f.Min), Detail: strconv.FormatFloat(x, 'g', 6, 64) + rng}
	case x > float64(f.Max):
		return &Error{Code: CodeOutOfRange, Limit: int(f.Max), Detail: strconv.FormatFloat(x, 'g', 6, 64) + rng}
	}
	return nil
}

// toInt64 accepts every integer kind alike, since msgpack picks the smallest
// encoding for a number and the decoder's Go type says nothing about meaning.
// Floats are accepted when whole, because JavaScript has no integers. big is
// +1 or -1 for a whole number beyond int64.
func toInt64(v any) (n int64, ok bool, big int) {
	switch x := v.(type) {
	case int:
		return int64(x), true, 0
	case int8:
		return int64(x), true, 0
	case int16:
		return int64(x), true, 0
	case int32:
		return int64(x), true, 0
	case int64:
		return x, true, 0
	case uint:
		return fromUint(uint64(x))
	case uint8:
		return int64(x), true, 0
	case uint16:
		return int64(x), true, 0
	case uint32:
		return int64(x), true, 0
	case uint64:
		return fromUint(x)
	case uintptr:
		return fromUint(uint64(x))
	case float32:
		return fromFloat(float64(x))
	case float64:
		return fromFloat(x)
	}
	return 0, false, 0
}

func fromUint(u uint64) (int64, bool, int) {
	if u > math.MaxInt64 {
		return 0, true, 1
	}
	return int64(u), true, 0
}

func fromFloat(x float64) (int64, bool, int) {
	if math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) {
		return 0, false, 0
	}
	switch {
	case x >= 1<<63:
		return 0, true, 1
	case x < -(1 << 63):
		return 0, true, -1
	}
	return int64(x), true, 0
}

func checkList(f *Field, v any, depth int) *Error {
	if depth >= MaxDepth {
		return tooDeep()
	}
	var n int
	var at func(int) any
	switch l := v.(type) {
	case []any:
		n, at = len(l), func(i int) any { return l[i] }
	case []string:
		n, at = len(l), func(i int) any { return l[i] }
	case []map[string]any:
		n, at = len(l), func(i int) any { return l[i] }
	default:
		return &Error{Code: CodeWrongType, Detail: wrongType(v, "a list")}
	}
	// Count before looking inside, so a huge list costs nothing.
	if n > f.MaxItems {
		return &Error{Code: CodeTooManyItems, Limit: f.MaxItems, Got: n,
			Detail: "too many items (" + itoa(n) + ", limit " + itoa(f.MaxItems) + ")"}
	}
	for i := 0; i < n; i++ {
		item := at(i)
		var err *Error
		if item == nil {
			err = &Error{Code: CodeWrongType, Detail: wrongType(nil, describeType(f.Elem))}
		} else {
			err = check(f.Elem, item, depth+1)
		}
		if err == nil && f.Unique {
			err = duplicate(f, at, i)
		}
		if err != nil {
			err.Field = "[" + itoa(i) + "]" + err.Field
			return err
		}
	}
	return nil
}

// duplicate compares item i with those before it. Sets are short (tens of
// items), so a quadratic scan beats allocating a map. Language tags compare
// without case, as BCP 47 says they should.
func duplicate(f *Field, at func(int) any, i int) *Error {
	s, _ := at(i).(string)
	for j := 0; j < i; j++ {
		t, _ := at(j).(string)
		if s == t || f.Elem.Type == TypeLang && strings.EqualFold(s, t) {
			return &Error{Code: CodeDuplicateItem, Detail: quote(s) + " is listed twice"}
		}
	}
	return nil
}

func checkObject(f *Field, v any, depth int) *Error {
	if depth >= MaxDepth {
		return tooDeep()
	}
	m, ok := v.(map[string]any)
	if !ok {
		return &Error{Code: CodeWrongType, Detail: wrongType(v, "a map")}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sub := fieldOf(f.Fields, k)
		if sub == nil {
			return &Error{Code: CodeUnknownField, Field: "." + label(k), Detail: "unknown field"}
		}
		if m[k] == nil {
			continue // absent; required keys are checked below
		}
		if err := check(sub, m[k], depth+1); err != nil {
			err.Field = "." + k + err.Field
			return err
		}
	}
	// An object is always written whole, so its required keys are checked
	// on every write, not only on create.
	for i := range f.Fields {
		if f.Fields[i].Required && m[f.Fields[i].Name] == nil {
			return &Error{Code: CodeRequired, Field: "." + f.Fields[i].Name, Detail: "required"}
		}
	}
	return nil
}

// tooDeep cannot happen with today's schema, whose nesting stops at a list of
// objects; it guards the recursion should a later schema nest further.
func tooDeep() *Error {
	return &Error{Code: CodeWrongType, Detail: "nested more than " + itoa(MaxDepth) + " deep"}
}

func fieldOf(fields []Field, name string) *Field {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
}

func wrongType(v any, want string) string {
	return "wrong type (got " + describeValue(v) + ", want " + want + ")"
}

func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case bool:
		return "true or false"
	case string:
		return "text"
	case []any, []string, []map[string]any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	if _, ok, _ := toInt64(v); ok {
		return "a whole number"
	}
	switch v.(type) {
	case float32, float64:
		return "a fraction"
	}
	return "an unsupported value"
}

func describeType(f *Field) string {
	switch f.Type {
	case TypeBool:
		return "true or false"
	case TypeInt:
		return "a whole number"
	case TypeNumber:
		return "a number"
	case TypeList:
		return "a list"
	case TypeObject:
		return "a map"
	}
	return "text"
}

// Dates before minYear or after maxYear are typos (a year of 0202), not plans.
const (
	minYear = 1900
	maxYear = 2999
)

// validDate accepts only the canonical form, so that dates sort and compare
// as text, and only days that exist (no February 30).
func validDate(s string) bool {
	if len(s) != len("2006-01-02") {
		return false
	}
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Year() >= minYear && t.Year() <= maxYear
}

// validTimestamp wants an explicit offset, because a meeting time means
// nothing to a family in another time zone without one.
func validTimestamp(s string) bool {
	if len(s) > MaxTimestampLen {
		return false
	}
	t, err := time.Parse(time.RFC3339, s)
	return err == nil && t.Year() >= minYear && t.Year() <= maxYear
}

const uuidLen = 36

// validID wants the canonical lowercase form because ids are compared as
// text: "ABC…" and "abc…" would otherwise name two different records.
func validID(s string) bool {
	if len(s) != uuidLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// ValidLanguageTag reports whether s has the shape of a BCP 47 tag: a 2 or 3
// letter language, then subtags of 1 to 8 letters or digits ("es-MX",
// "zh-Hant-TW", "es-419"). It checks shape, not the registry, so a new
// language needs no code change; case is free, as in BCP 47.
func ValidLanguageTag(s string) bool {
	if len(s) == 0 || len(s) > MaxLangTagLen {
		return false
	}
	first := true
	for s != "" {
		sub, rest, more := strings.Cut(s, "-")
		if more && rest == "" {
			return false // trailing hyphen
		}
		if first {
			if len(sub) < 2 || len(sub) > 3 || !allASCII(sub, false) {
				return false
			}
			first = false
		} else if len(sub) < 1 || len(sub) > 8 || !allASCII(sub, true) {
			return false
		}
		s = rest
	}
	return true
}

func allASCII(s string, digits bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower-case letters; digits are unchanged
		if !(c >= 'a' && c <= 'z' || digits && s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// MergesText reports whether a write of field in collection may carry a
// base text (record.Write.BaseText) so that concurrent edits merge word by
// word: prose a person writes (Field.Text), in a collection of kind. Not
// names, codes, dates or ids, whose words do not combine.
func MergesText(kind SpaceKind, collection, field string) bool {
	e, ok := schema[kind][collection]
	if !ok {
		return false
	}
	f, ok := e.fields[field]
	return ok && f.Type == TypeString && f.Text
}

// MergesTextAnyKind is MergesText for a device that knows a collection by
// name only: collection names are unique across kinds.
func MergesTextAnyKind(collection, field string) bool {
	return MergesText(Student, collection, field) || MergesText(School, collection, field)
}
