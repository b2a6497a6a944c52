package plan

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

const (
	goalID  = "01936b2e-7c4a-7d3e-9f10-2a3b4c5d6e7f"
	replyID = "01936b2e-7c4a-7d3e-9f10-000000000001"
)

// validExamples holds one complete, realistic record per collection.
var validExamples = map[SpaceKind]map[string]map[string]any{
	Student: {
		"about": {"kind": "strengths", "text": "Sofía ayuda a su hermano con la tarea.\nLe encanta dibujar.", "lang": "es-MX"},
		"goals": {
			"area": "reading", "description": "Read grade-level texts aloud with expression.",
			"description_lang": "en", "target": "90 words per minute", "status": "in_progress",
			"start_date": "2025-09-02", "target_date": "2026-02-28",
			"measure_name": "Words read correctly in a minute", "measure_unit": "words per minute",
			"measure_baseline": int64(42), "measure_target": 90.5, "measure_target_date": "2026-02-28",
		},
		"actions": {"goal_id": goalID, "where": "home", "who": "Mamá", "what": "Leer juntos 15 minutos",
			"how_often": "cada noche", "lang": "es",
			"meeting_id": replyID, "owner_id": "01936b2e-7c4a-7d3e-9f10-000000000002"},
		"checkins": {"goal_id": goalID, "date": "2024-02-29", "where": "school",
			"what_happened": "Read two pages\twithout help.", "progress": "on_track", "by": "Ms. Lee", "lang": "en",
			"value": uint8(57)},
		"notes": {"author_name": "أم ليلى", "lang": "ar", "kind": "praise",
			"text": "شكراً على الاجتماع", "reply_to": replyID, "goal_id": goalID, "urgent": false},
		"meetings": {
			"title": "Fall conference",
			"proposed_times": []any{
				map[string]any{"start": "2025-10-14T17:30:00-05:00", "place": "home_visit", "place_detail": "after work"},
				map[string]any{"start": "2025-10-15T12:00:00Z", "place": "phone_call"},
			},
			"duration_minutes": int8(30), "agenda": "Reading progress", "attendees": []any{"Ms. Lee", "Mr. García"},
			"interpreter_needed": true, "interpreter_language": "es", "notes": "", "agreed_actions": "Weekly reading log",
			"status": "scheduled", "lang": "en",
			"chosen_start": "2025-10-14T17:30:00-05:00", "chosen_by_name": "Ms. Lee", "chosen_at": "2025-10-10T08:00:00Z",
		},
		"meeting_answers": {
			"meeting_id": replyID,
			"answers": []any{
				map[string]any{"start": "2025-10-14T17:30:00-05:00", "answer": "works"},
				map[string]any{"start": "2025-10-15T12:00:00Z", "answer": "suggest_other", "suggested_start": "2025-10-15T18:00:00Z"},
			},
			"author_name": "Mamá de Sofía", "comment": "Después del trabajo, por favor", "lang": "es",
		},
		"suggestions": {
			"kind": "change_goal", "goal_id": goalID, "field": "description", "area": "reading",
			"text":   "Leer en voz alta 15 minutos con su hermana, en español o inglés.",
			"reason": "En casa lee mejor en español", "current_text": "Read grade-level texts aloud with expression.",
			"lang": "es", "author_name": "Mamá de Sofía", "status": "declined",
			"decline_reason": "Let us talk at the meeting first", "decision_lang": "en",
			"accepted_goal_id": goalID, "decided_by_name": "Ms. Lee", "decided_at": "2025-10-10T08:00:00Z",
		},
		"family": {
			"preferred_language": "es", "contact_methods": []any{"text_message", "home_visit"},
			"best_times": "Evenings after 6", "barriers": []any{"work_hours", "transport"},
			"barriers_detail": "One car, used for work", "lang": "en",
		},
		"translations": {"of_collection": "notes", "of_id": replyID, "of_field": "text",
			"source_hash": SourceHash("Thank you for the meeting"), "source_lang": "en", "lang": "es",
			"text": "Gracias por la reunión", "by": "machine", "engine": "apertium"},
		"translation_flags": {"translation_id": goalID, "note": "Dice otra cosa", "lang": "es"},
	},
	School: {
		"services": {"name": "Family Resource Center", "kind": "community_partner",
			"offers": "Food, clothing, help with forms", "contact": "555-0100, 12 Main St",
			"languages": []any{"en", "es", "zh-Hant-TW"}, "cost": "free", "lang": "en"},
		"events": {"title": "Taller de lectura", "kind": "workshop", "starts_at": "2025-11-05T18:00:00-06:00",
			"ends_at": "2025-11-05T19:30:00-06:00", "place": "Library", "description": "Cómo leer con sus hijos",
			"languages": []string{"es", "en"}, "lang": "es"},
	},
}

func TestValidExamples(t *testing.T) {
	for _, kind := range []SpaceKind{Student, School} {
		for _, c := range Collections(kind) {
			rec, ok := validExamples[kind][c.Name]
			if !ok {
				t.Errorf("no valid example for %s", c.Name)
				continue
			}
			if err := ValidateRecord(kind, c.Name, rec); err != nil {
				t.Errorf("ValidateRecord(%s): %v", c.Name, err)
			}
			if err := ValidateFields(kind, c.Name, rec); err != nil {
				t.Errorf("ValidateFields(%s): %v", c.Name, err)
			}
			// Every field of the schema appears in its example, so the
			// example doubles as documentation.
			for _, f := range c.Fields {
				if _, ok := rec[f.Name]; !ok {
					t.Errorf("example %s lacks field %s", c.Name, f.Name)
				}
			}
			// Each field on its own is a valid partial update.
			for name, v := range rec {
				if err := ValidateFields(kind, c.Name, map[string]any{name: v}); err != nil {
					t.Errorf("partial %s.%s: %v", c.Name, name, err)
				}
			}
		}
	}
}

func runes(n int) string { return strings.Repeat("é", n) } // 2 bytes each: limits count runes

// allCodes lists every code; TestErrorCodes fails if a case for one is missing.
var allCodes = []Code{
	CodeUnknownCollection, CodeUnknownField, CodeWrongType, CodeTooLong, CodeNotInEnum,
	CodeRequired, CodeInvalidUTF8, CodeInvalidDate, CodeInvalidID, CodeTooManyItems,
	CodeBadLanguageTag, CodeControlChar, CodeOutOfRange, CodeDuplicateItem,
}

type errCase struct {
	name   string
	kind   SpaceKind
	coll   string
	fields map[string]any
	create bool   // ValidateRecord instead of ValidateFields
	code   Code   // "" for valid
	field  string // expected Error.Field
	limit  int
	msg    string // expected Error(), when set
}

func TestErrorCodes(t *testing.T) {
	cases := []errCase{
		// Collections and kinds.
		{name: "unknown collection", kind: Student, coll: "grades", fields: map[string]any{}, code: CodeUnknownCollection,
			msg: `unknown collection "grades" in a student space`},
		{name: "school collection in student space", kind: Student, coll: "events", code: CodeUnknownCollection},
		{name: "student collection in school space", kind: School, coll: "goals", code: CodeUnknownCollection},
		{name: "unknown kind", kind: "district", coll: "goals", code: CodeUnknownCollection,
			msg: `unknown space kind "district"`},
		{name: "unknown collection on create", kind: School, coll: "", create: true, code: CodeUnknownCollection},

		// Field names.
		{name: "unknown field", kind: Student, coll: "goals", fields: map[string]any{"colour": "red"},
			code: CodeUnknownField, field: "colour", msg: "goals.colour: unknown field"},
		{name: "unknown field with odd name is quoted", kind: Student, coll: "goals",
			fields: map[string]any{"a: b\n": "x"}, code: CodeUnknownField, field: `"a: b\n"`,
			msg: `goals."a: b\n": unknown field`},
		{name: "reserved field", kind: Student, coll: "goals", fields: map[string]any{"_owner": "x"},
			code: CodeUnknownField, field: "_owner", msg: "goals._owner: reserved system field"},
		{name: "deleted true", kind: Student, coll: "goals", fields: map[string]any{"_deleted": true}},
		{name: "deleted false", kind: School, coll: "events", fields: map[string]any{"_deleted": false}},
		{name: "deleted not bool", kind: Student, coll: "goals", fields: map[string]any{"_deleted": 1},
			code: CodeWrongType, field: "_deleted"},
		{name: "deleted nil", kind: Student, coll: "goals", fields: map[string]any{"_deleted": nil},
			code: CodeWrongType, field: "_deleted"},
		{name: "unknown key in object", kind: Student, coll: "meetings", fields: map[string]any{
			"proposed_times": []any{map[string]any{"start": "2025-10-14T17:30:00Z", "room": "5"}}},
			code: CodeUnknownField, field: "proposed_times[0].room"},

		// Types.
		{name: "number for text", kind: Student, coll: "goals", fields: map[string]any{"description": int64(5)},
			code: CodeWrongType, field: "description", msg: "goals.description: wrong type (got a whole number, want text)"},
		{name: "bool for enum", kind: Student, coll: "goals", fields: map[string]any{"status": true},
			code: CodeWrongType, field: "status"},
		{name: "text for bool", kind: Student, coll: "meetings", fields: map[string]any{"interpreter_needed": "yes"},
			code: CodeWrongType, field: "interpreter_needed"},
		{name: "text for list", kind: Student, coll: "meetings", fields: map[string]any{"attendees": "Ms. Lee"},
			code: CodeWrongType, field: "attendees"},
		{name: "map for text", kind: Student, coll: "notes", fields: map[string]any{"text": map[string]any{"en": "hi"}},
			code: CodeWrongType, field: "text", msg: "notes.text: wrong type (got a map, want text)"},
		{name: "list for text", kind: Student, coll: "notes", fields: map[string]any{"text": []any{"hi"}},
			code: CodeWrongType, field: "text"},
		{name: "fraction for int", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": 30.5},
			code: CodeWrongType, field: "duration_minutes"},
		{name: "NaN for int", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": math.NaN()},
			code: CodeWrongType, field: "duration_minutes"},
		{name: "text for int", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": "30"},
			code: CodeWrongType, field: "duration_minutes"},
		{name: "unsupported Go type", kind: Student, coll: "notes", fields: map[string]any{"text": struct{}{}},
			code: CodeWrongType, field: "text", msg: "notes.text: wrong type (got an unsupported value, want text)"},
		{name: "nil in list", kind: Student, coll: "meetings", fields: map[string]any{"attendees": []any{"a", nil}},
			code: CodeWrongType, field: "attendees[1]"},
		{name: "number in list of text", kind: Student, coll: "meetings", fields: map[string]any{"attendees": []any{"a", 7}},
			code: CodeWrongType, field: "attendees[1]"},
		{name: "text where object belongs", kind: Student, coll: "meetings",
			fields: map[string]any{"proposed_times": []any{"tomorrow"}}, code: CodeWrongType, field: "proposed_times[0]"},
		{name: "list in list", kind: Student, coll: "meetings", fields: map[string]any{"attendees": []any{[]any{"a"}}},
			code: CodeWrongType, field: "attendees[0]"},
		{name: "map in list of text", kind: School, coll: "services", fields: map[string]any{"languages": []any{map[string]any{}}},
			code: CodeWrongType, field: "languages[0]"},
		{name: "map with non-string keys", kind: Student, coll: "meetings",
			fields: map[string]any{"proposed_times": []any{map[any]any{"start": "x"}}}, code: CodeWrongType, field: "proposed_times[0]"},
		{name: "deep nesting in object", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []any{
			map[string]any{"start": "2025-10-14T17:30:00Z", "place_detail": map[string]any{"a": map[string]any{"b": []any{}}}}}},
			code: CodeWrongType, field: "proposed_times[0].place_detail"},

		// Lengths (the rune, not the byte, is the unit).
		{name: "description at limit", kind: Student, coll: "goals", fields: map[string]any{"description": runes(4000)}},
		{name: "description over limit", kind: Student, coll: "goals", fields: map[string]any{"description": runes(4012)},
			code: CodeTooLong, field: "description", limit: 4000, msg: "goals.description: too long (4012 runes, limit 4000)"},
		{name: "nested text over limit", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []any{
			map[string]any{"start": "2025-10-14T17:30:00Z", "place_detail": runes(201)}}},
			code: CodeTooLong, field: "proposed_times[0].place_detail", limit: 200},
		{name: "list item over limit", kind: Student, coll: "meetings", fields: map[string]any{"attendees": []any{"a", runes(201)}},
			code: CodeTooLong, field: "attendees[1]", limit: 200, msg: "meetings.attendees[1]: too long (201 runes, limit 200)"},

		// Enums.
		{name: "not in enum", kind: Student, coll: "goals", fields: map[string]any{"status": "done"},
			code: CodeNotInEnum, field: "status",
			msg: `goals.status: "done" is not one of not_started, in_progress, met, paused, discontinued`},
		{name: "enum is case sensitive", kind: Student, coll: "notes", fields: map[string]any{"kind": "Praise"},
			code: CodeNotInEnum, field: "kind"},
		{name: "empty enum", kind: Student, coll: "checkins", fields: map[string]any{"where": ""},
			code: CodeNotInEnum, field: "where"},
		{name: "enum in list", kind: Student, coll: "family", fields: map[string]any{"barriers": []any{"transport", "weather"}},
			code: CodeNotInEnum, field: "barriers[1]"},
		{name: "enum in object", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []any{
			map[string]any{"start": "2025-10-14T17:30:00Z", "place": "moon"}}},
			code: CodeNotInEnum, field: "proposed_times[0].place"},
		{name: "echo is clipped", kind: Student, coll: "goals", fields: map[string]any{"status": strings.Repeat("x", 1000)},
			code: CodeNotInEnum, field: "status",
			msg: `goals.status: "` + strings.Repeat("x", maxEcho) + `…" is not one of not_started, in_progress, met, paused, discontinued`},

		// Required.
		{name: "clear required", kind: Student, coll: "notes", fields: map[string]any{"text": nil},
			code: CodeRequired, field: "text", msg: "notes.text: required, cannot be cleared"},
		{name: "blank required", kind: Student, coll: "notes", fields: map[string]any{"text": " \n\t"},
			code: CodeRequired, field: "text", msg: "notes.text: required, cannot be blank"},
		{name: "clear optional", kind: Student, coll: "notes", fields: map[string]any{"reply_to": nil, "author_name": nil}},
		{name: "partial update without required", kind: Student, coll: "notes", fields: map[string]any{"author_name": "Ana"}},
		{name: "create without required", kind: Student, coll: "notes", create: true,
			fields: map[string]any{"lang": "en", "kind": "question"}, code: CodeRequired, field: "text", msg: "notes.text: required"},
		{name: "create with nil required", kind: School, coll: "services", create: true,
			fields: map[string]any{"name": nil}, code: CodeRequired, field: "name"},
		{name: "create with nil fields", kind: School, coll: "events", create: true, code: CodeRequired, field: "title"},
		{name: "create with no required fields", kind: Student, coll: "goals", create: true, fields: map[string]any{}},
		{name: "object lacks required key", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []any{
			map[string]any{"place": "school"}}}, code: CodeRequired, field: "proposed_times[0].start"},
		{name: "object key nil counts as absent", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []any{
			map[string]any{"start": "2025-10-14T17:30:00Z", "place": nil}}}},

		// UTF-8 and control characters.
		{name: "invalid utf8", kind: Student, coll: "about", fields: map[string]any{"text": "ok \xff"},
			code: CodeInvalidUTF8, field: "text", msg: "about.text: not valid UTF-8 (at byte 3)"},
		{name: "truncated rune", kind: Student, coll: "about", fields: map[string]any{"text": "é"[:1]},
			code: CodeInvalidUTF8, field: "text"},
		{name: "surrogate half", kind: Student, coll: "about", fields: map[string]any{"text": "\xed\xa0\x80"},
			code: CodeInvalidUTF8, field: "text"},
		{name: "invalid utf8 in list", kind: School, coll: "services", fields: map[string]any{"languages": []any{"en", "\xc0"}},
			code: CodeInvalidUTF8, field: "languages[1]"},
		{name: "invalid utf8 in enum", kind: Student, coll: "goals", fields: map[string]any{"area": "math\x80"},
			code: CodeInvalidUTF8, field: "area"},
		{name: "bell", kind: Student, coll: "about", fields: map[string]any{"text": "añ\ab"},
			code: CodeControlChar, field: "text", msg: "about.text: control character U+0007 at rune 2 (only newline and tab are allowed)"},
		{name: "NUL", kind: Student, coll: "notes", fields: map[string]any{"author_name": "a\x00"},
			code: CodeControlChar, field: "author_name"},
		{name: "carriage return", kind: Student, coll: "notes", fields: map[string]any{"text": "a\r\nb"},
			code: CodeControlChar, field: "text"},
		{name: "escape", kind: School, coll: "events", fields: map[string]any{"place": "\x1b[31m"},
			code: CodeControlChar, field: "place"},
		{name: "newline and tab allowed", kind: Student, coll: "notes", fields: map[string]any{"text": "a\n\tb\n"}},
		{name: "DEL and C1 are not C0", kind: Student, coll: "notes", fields: map[string]any{"text": "a\x7fb\u0085"}},
		{name: "control char in id", kind: Student, coll: "actions", fields: map[string]any{"goal_id": "\x00"},
			code: CodeControlChar, field: "goal_id"},

		// Dates and times.
		{name: "leap day", kind: Student, coll: "checkins", fields: map[string]any{"date": "2028-02-29"}},
		{name: "not a leap year", kind: Student, coll: "checkins", fields: map[string]any{"date": "2025-02-29"},
			code: CodeInvalidDate, field: "date", msg: `checkins.date: "2025-02-29" is not a date as YYYY-MM-DD`},
		{name: "month 13", kind: Student, coll: "goals", fields: map[string]any{"start_date": "2025-13-01"},
			code: CodeInvalidDate, field: "start_date"},
		{name: "day 31 in a 30-day month", kind: Student, coll: "goals", fields: map[string]any{"target_date": "2025-04-31"},
			code: CodeInvalidDate, field: "target_date"},
		{name: "unpadded date", kind: Student, coll: "goals", fields: map[string]any{"start_date": "2025-1-5"},
			code: CodeInvalidDate, field: "start_date"},
		{name: "date with time", kind: Student, coll: "goals", fields: map[string]any{"start_date": "2025-01-05T00:00:00Z"},
			code: CodeInvalidDate, field: "start_date"},
		{name: "US date", kind: Student, coll: "goals", fields: map[string]any{"start_date": "01/05/2025"},
			code: CodeInvalidDate, field: "start_date"},
		{name: "typo year", kind: Student, coll: "goals", fields: map[string]any{"start_date": "0202-01-05"},
			code: CodeInvalidDate, field: "start_date"},
		{name: "empty date", kind: Student, coll: "goals", fields: map[string]any{"start_date": ""},
			code: CodeInvalidDate, field: "start_date"},
		{name: "timestamp with fraction", kind: School, coll: "events", fields: map[string]any{"starts_at": "2025-11-05T18:00:00.250+05:30"}},
		{name: "timestamp without offset", kind: School, coll: "events", fields: map[string]any{"starts_at": "2025-11-05T18:00:00"},
			code: CodeInvalidDate, field: "starts_at"},
		{name: "timestamp as date", kind: School, coll: "events", fields: map[string]any{"ends_at": "2025-11-05"},
			code: CodeInvalidDate, field: "ends_at"},
		{name: "timestamp hour 25", kind: School, coll: "events", fields: map[string]any{"ends_at": "2025-11-05T25:00:00Z"},
			code: CodeInvalidDate, field: "ends_at"},
		{name: "timestamp too long", kind: School, coll: "events", code: CodeInvalidDate, field: "ends_at",
			fields: map[string]any{"ends_at": "2025-11-05T18:00:00." + strings.Repeat("0", 40) + "Z"}},
		{name: "timestamp in object", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []any{
			map[string]any{"start": "next Tuesday"}}}, code: CodeInvalidDate, field: "proposed_times[0].start"},

		// Ids.
		{name: "uppercase id", kind: Student, coll: "actions", fields: map[string]any{"goal_id": strings.ToUpper(goalID)},
			code: CodeInvalidID, field: "goal_id"},
		{name: "id without hyphens", kind: Student, coll: "actions",
			fields: map[string]any{"goal_id": strings.ReplaceAll(goalID, "-", "") + "abcd"}, code: CodeInvalidID, field: "goal_id"},
		{name: "short id", kind: Student, coll: "checkins", fields: map[string]any{"goal_id": "42"},
			code: CodeInvalidID, field: "goal_id", msg: `checkins.goal_id: "42" is not a lowercase UUID`},
		{name: "id with non-hex", kind: Student, coll: "notes", fields: map[string]any{"reply_to": "01936b2e-7c4a-7d3e-9f10-2a3b4c5d6e7g"},
			code: CodeInvalidID, field: "reply_to"},
		{name: "id with braces", kind: Student, coll: "notes", fields: map[string]any{"reply_to": "{" + goalID[:34] + "}"},
			code: CodeInvalidID, field: "reply_to"},
		{name: "blank required id", kind: Student, coll: "actions", fields: map[string]any{"goal_id": ""},
			code: CodeRequired, field: "goal_id"},

		// Language tags.
		{name: "three-letter language", kind: Student, coll: "notes", fields: map[string]any{"lang": "haw"}},
		{name: "script and region", kind: Student, coll: "notes", fields: map[string]any{"lang": "zh-Hant-TW"}},
		{name: "numeric region", kind: Student, coll: "notes", fields: map[string]any{"lang": "es-419"}},
		{name: "language tag case is free", kind: Student, coll: "notes", fields: map[string]any{"lang": "ES-mx"}},
		{name: "language name", kind: Student, coll: "notes", fields: map[string]any{"lang": "english"},
			code: CodeBadLanguageTag, field: "lang", msg: `notes.lang: "english" is not a language tag like "en" or "es-MX"`},
		{name: "underscore tag", kind: Student, coll: "about", fields: map[string]any{"lang": "es_MX"},
			code: CodeBadLanguageTag, field: "lang"},
		{name: "one letter", kind: Student, coll: "family", fields: map[string]any{"preferred_language": "e"},
			code: CodeBadLanguageTag, field: "preferred_language"},
		{name: "trailing hyphen", kind: Student, coll: "goals", fields: map[string]any{"description_lang": "en-"},
			code: CodeBadLanguageTag, field: "description_lang"},
		{name: "empty subtag", kind: Student, coll: "meetings", fields: map[string]any{"interpreter_language": "en--US"},
			code: CodeBadLanguageTag, field: "interpreter_language"},
		{name: "subtag over 8", kind: Student, coll: "meetings", fields: map[string]any{"lang": "en-abcdefghi"},
			code: CodeBadLanguageTag, field: "lang"},
		{name: "tag over 35", kind: Student, coll: "meetings", fields: map[string]any{"lang": "en" + strings.Repeat("-abcdefgh", 4)},
			code: CodeBadLanguageTag, field: "lang"},
		{name: "empty tag", kind: Student, coll: "meetings", fields: map[string]any{"lang": ""},
			code: CodeBadLanguageTag, field: "lang"},
		{name: "tag in list", kind: School, coll: "events", fields: map[string]any{"languages": []any{"en", "Spanish"}},
			code: CodeBadLanguageTag, field: "languages[1]"},

		// Lists.
		{name: "huge list", kind: Student, coll: "meetings", fields: map[string]any{"attendees": make([]any, 1_000_000)},
			code: CodeTooManyItems, field: "attendees", limit: 30, msg: "meetings.attendees: too many items (1000000, limit 30)"},
		{name: "huge list of maps", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": make([]map[string]any, 11)},
			code: CodeTooManyItems, field: "proposed_times", limit: 10},
		{name: "empty list", kind: Student, coll: "family", fields: map[string]any{"barriers": []any{}}},
		{name: "[]string list", kind: Student, coll: "meetings", fields: map[string]any{"attendees": []string{"a", "b"}}},
		{name: "[]map list", kind: Student, coll: "meetings", fields: map[string]any{"proposed_times": []map[string]any{
			{"start": "2025-10-14T17:30:00Z"}}}},
		{name: "duplicate in set", kind: Student, coll: "family", fields: map[string]any{"contact_methods": []any{"email", "phone_call", "email"}},
			code: CodeDuplicateItem, field: "contact_methods[2]", msg: `family.contact_methods[2]: "email" is listed twice`},
		{name: "duplicate language ignoring case", kind: School, coll: "services", fields: map[string]any{"languages": []any{"es-MX", "es-mx"}},
			code: CodeDuplicateItem, field: "languages[1]"},
		{name: "repeated name allowed in list", kind: Student, coll: "meetings", fields: map[string]any{"attendees": []any{"Ana", "Ana"}}},

		// Numbers.
		{name: "int below range", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": int64(4)},
			code: CodeOutOfRange, field: "duration_minutes", limit: 5, msg: "meetings.duration_minutes: 4 out of range (5 to 480)"},
		{name: "int above range", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": uint16(481)},
			code: CodeOutOfRange, field: "duration_minutes", limit: 480},
		{name: "negative", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": int8(-1)},
			code: CodeOutOfRange, field: "duration_minutes", limit: 5},
		{name: "uint64 beyond int64", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": uint64(math.MaxUint64)},
			code: CodeOutOfRange, field: "duration_minutes", limit: 480},
		{name: "huge float", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": 1e300},
			code: CodeOutOfRange, field: "duration_minutes", limit: 480},
		{name: "huge negative float", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": -1e300},
			code: CodeOutOfRange, field: "duration_minutes", limit: 5},
		{name: "infinity", kind: Student, coll: "meetings", fields: map[string]any{"duration_minutes": math.Inf(1)},
			code: CodeWrongType, field: "duration_minutes"},
	}

	seen := map[Code]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.code] = true
			checkCase(t, tc)
		})
	}
	for _, c := range allCodes {
		if !seen[c] {
			t.Errorf("no test case for code %s", c)
		}
	}
}

func checkCase(t *testing.T, tc errCase) {
	t.Helper()
	validate := ValidateFields
	if tc.create {
		validate = ValidateRecord
	}
	err := validate(tc.kind, tc.coll, tc.fields)
	if tc.code == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error with code %s, got %T %v", tc.code, err, err)
	}
	if e.Code != tc.code || e.Field != tc.field || e.Limit != tc.limit {
		t.Errorf("got code %s field %q limit %d (%v); want code %s field %q limit %d",
			e.Code, e.Field, e.Limit, e, tc.code, tc.field, tc.limit)
	}
	if tc.msg != "" && e.Error() != tc.msg {
		t.Errorf("message\n got %s\nwant %s", e.Error(), tc.msg)
	}
	if tc.code != CodeUnknownCollection && e.Collection != tc.coll {
		t.Errorf("Collection = %q, want %q", e.Collection, tc.coll)
	}
	if CodeOf(err) != tc.code {
		t.Errorf("CodeOf = %q", CodeOf(err))
	}
}

// TestEveryLimit walks the schema, so a field added later is covered without
// a new test: every string, list, enum, number and required field is tried at
// and just past its bound.
func TestEveryLimit(t *testing.T) {
	for _, kind := range []SpaceKind{Student, School} {
		for _, c := range Collections(kind) {
			for _, f := range c.Fields {
				wrap := func(v any) map[string]any { return map[string]any{f.Name: v} }
				limitCases(t, kind, c.Name, f.Name, &f, wrap)
				if f.Type == TypeList {
					item := func(v any) map[string]any { return map[string]any{f.Name: []any{v}} }
					limitCases(t, kind, c.Name, f.Name+"[0]", f.Elem, item)
					if f.Elem.Type == TypeObject {
						for _, sub := range f.Elem.Fields {
							obj := func(v any) map[string]any {
								m := validObject(f.Elem)
								m[sub.Name] = v
								return map[string]any{f.Name: []any{m}}
							}
							limitCases(t, kind, c.Name, f.Name+"[0]."+sub.Name, &sub, obj)
						}
					}
				}
				if f.Required {
					rec := copyMap(validExamples[kind][c.Name])
					delete(rec, f.Name)
					checkCase(t, errCase{kind: kind, coll: c.Name, fields: rec, create: true, code: CodeRequired, field: f.Name})
					checkCase(t, errCase{kind: kind, coll: c.Name, fields: wrap(nil), code: CodeRequired, field: f.Name})
				}
			}
		}
	}
}

func limitCases(t *testing.T, kind SpaceKind, coll, path string, f *Field, wrap func(any) map[string]any) {
	t.Helper()
	ok := func(v any) {
		t.Helper()
		checkCase(t, errCase{kind: kind, coll: coll, fields: wrap(v)})
	}
	bad := func(v any, code Code, limit int) {
		t.Helper()
		checkCase(t, errCase{kind: kind, coll: coll, fields: wrap(v), code: code, field: path, limit: limit})
	}
	switch f.Type {
	case TypeString:
		ok(runes(f.MaxLen))
		ok("x")
		bad(runes(f.MaxLen+1), CodeTooLong, f.MaxLen)
		bad(int64(1), CodeWrongType, 0)
		bad("\x01", CodeControlChar, 0)
		bad("\xfe", CodeInvalidUTF8, 0)
	case TypeEnum:
		for _, v := range f.Enum {
			ok(v)
		}
		bad("not_a_value", CodeNotInEnum, 0)
		bad(false, CodeWrongType, 0)
	case TypeLang:
		ok("es-MX")
		bad("es MX", CodeBadLanguageTag, 0)
	case TypeDate:
		ok("2026-06-30")
		bad("2026-06-31", CodeInvalidDate, 0)
	case TypeTimestamp:
		ok("2026-06-30T08:00:00+02:00")
		bad("2026-06-30 08:00", CodeInvalidDate, 0)
	case TypeID:
		ok(goalID)
		bad("not-an-id", CodeInvalidID, 0)
	case TypeBool:
		ok(true)
		bad("true", CodeWrongType, 0)
	case TypeInt:
		ok(f.Min)
		ok(f.Max)
		bad(f.Min-1, CodeOutOfRange, int(f.Min))
		bad(f.Max+1, CodeOutOfRange, int(f.Max))
	case TypeNumber:
		ok(f.Min)
		ok(float64(f.Max))
		ok(0.5)
		bad(float64(f.Min)-0.5, CodeOutOfRange, int(f.Min))
		bad(float64(f.Max)+0.5, CodeOutOfRange, int(f.Max))
		bad(math.NaN(), CodeWrongType, 0)
		bad(math.Inf(1), CodeWrongType, 0)
		bad("3", CodeWrongType, 0)
	case TypeList:
		full := make([]any, f.MaxItems)
		for i := range full {
			full[i] = validItem(f.Elem, i)
		}
		ok(full)
		ok([]any{})
		bad(append(full, validItem(f.Elem, f.MaxItems)), CodeTooManyItems, f.MaxItems)
		bad(map[string]any{}, CodeWrongType, 0)
	case TypeObject:
		ok(validObject(f))
		bad("x", CodeWrongType, 0)
	default:
		t.Fatalf("%s: no limit cases for %s", path, f.Type)
	}
}

// validItem makes the i-th item of a list, distinct from the others so that
// sets accept it, for any list with up to a few hundred items.
func validItem(f *Field, i int) any {
	switch f.Type {
	case TypeEnum:
		return f.Enum[i%len(f.Enum)]
	case TypeLang:
		return "en-x" + strconv.Itoa(i)
	case TypeObject:
		return validObject(f)
	}
	return "item " + strconv.Itoa(i)
}

func validObject(f *Field) map[string]any {
	m := map[string]any{}
	for _, sub := range f.Fields {
		if sub.Required {
			m[sub.Name] = "2026-06-30T08:00:00Z"
			if sub.Type == TypeEnum {
				m[sub.Name] = sub.Enum[0]
			}
		}
	}
	return m
}

func copyMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestIntegerKinds(t *testing.T) {
	for _, v := range []any{
		int(60), int8(60), int16(60), int32(60), int64(60),
		uint(60), uint8(60), uint16(60), uint32(60), uint64(60), uintptr(60),
		float32(60), float64(60),
	} {
		if err := ValidateFields(Student, "meetings", map[string]any{"duration_minutes": v}); err != nil {
			t.Errorf("%T: %v", v, err)
		}
		// A number is never text, whatever its kind.
		err := ValidateFields(Student, "meetings", map[string]any{"title": v})
		if CodeOf(err) != CodeWrongType {
			t.Errorf("%T as title: %v", v, err)
		}
	}
	for _, v := range []any{
		int(1000), int16(1000), int32(-1000), int64(math.MinInt64), int64(math.MaxInt64),
		uint(1000), uint32(math.MaxUint32), uint64(math.MaxUint64), float32(1e20),
	} {
		if err := ValidateFields(Student, "meetings", map[string]any{"duration_minutes": v}); CodeOf(err) != CodeOutOfRange {
			t.Errorf("%T(%v): want out_of_range, got %v", v, v, err)
		}
	}
	for _, v := range []any{float32(30.5), math.Inf(-1), true, "60", []any{60}} {
		if err := ValidateFields(Student, "meetings", map[string]any{"duration_minutes": v}); CodeOf(err) != CodeWrongType {
			t.Errorf("%T(%v): want wrong_type, got %v", v, v, err)
		}
	}
}

func TestPartialUpdates(t *testing.T) {
	// One field at a time, as ops arrive; no required field in sight.
	writes := []struct {
		kind SpaceKind
		coll string
		f    map[string]any
	}{
		{Student, "goals", map[string]any{"status": "met"}},
		{Student, "goals", map[string]any{"target_date": nil}},
		{Student, "notes", map[string]any{"_deleted": true}},
		{Student, "actions", map[string]any{"how_often": "cada lunes"}},
		{Student, "about", map[string]any{"lang": "en"}},
		{Student, "family", map[string]any{"barriers": nil, "barriers_detail": nil}},
		{School, "services", map[string]any{"cost": "sliding_scale"}},
		{School, "events", map[string]any{}},
		{School, "events", nil},
	}
	for _, w := range writes {
		if err := ValidateFields(w.kind, w.coll, w.f); err != nil {
			t.Errorf("%s %v: %v", w.coll, w.f, err)
		}
	}
	// The same writes are not creates.
	if err := ValidateRecord(Student, "notes", map[string]any{"_deleted": true}); CodeOf(err) != CodeRequired {
		t.Errorf("create of notes with only _deleted: %v", err)
	}
}

// TestDeterministic: with several bad fields, the first by name is reported,
// so a client retrying a push sees the same error every time.
func TestDeterministic(t *testing.T) {
	fields := map[string]any{"where": "garden", "what": 7, "who": "\x00", "goal_id": "x", "lang": "??"}
	for range 50 {
		err := ValidateFields(Student, "actions", fields)
		var e *Error
		if !errors.As(err, &e) || e.Field != "goal_id" || e.Code != CodeInvalidID {
			t.Fatalf("got %v", err)
		}
	}
}

func TestCodeOf(t *testing.T) {
	if CodeOf(nil) != "" || CodeOf(errors.New("x")) != "" {
		t.Error("CodeOf of a non-validation error is not empty")
	}
	wrapped := errors.Join(errors.New("push"), &Error{Code: CodeTooLong})
	if CodeOf(wrapped) != CodeTooLong {
		t.Error("CodeOf does not unwrap")
	}
}

func TestValidLanguageTag(t *testing.T) {
	for _, s := range []string{"en", "es", "es-MX", "ar", "ar-EG", "zh-Hans", "sr-Latn-RS", "es-419", "fil", "en-US-x-twain"} {
		if !ValidLanguageTag(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "e", "engl", "-en", "en-", "en--us", "en_US", "e1", "en-US!", "ñe", "x-klingon", "en-123456789"} {
		if ValidLanguageTag(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func BenchmarkValidateRecord(b *testing.B) {
	rec := validExamples[Student]["meetings"]
	for b.Loop() {
		if err := ValidateRecord(Student, "meetings", rec); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNumberKinds is a measure's reading (TypeNumber) as the wire hands
// it over: any integer kind, fractions of either float size, negative
// zero, and the edges of the range; a number beyond int64 or a float
// NaN is refused by code, never wrapped into range.
func TestNumberKinds(t *testing.T) {
	ok := []any{int8(-3), uint8(57), int64(-1_000_000_000), uint32(1_000_000_000), float32(2.5), 62.5, math.Copysign(0, -1),
		math.SmallestNonzeroFloat64, -1e9, 1e9, 999_999_999.999}
	for _, v := range ok {
		if err := ValidateFields(Student, "checkins", map[string]any{"value": v}); err != nil {
			t.Errorf("%T(%v): %v", v, v, err)
		}
	}
	for _, c := range []struct {
		v    any
		code Code
	}{
		{uint64(math.MaxUint64), CodeOutOfRange}, {int64(math.MaxInt64), CodeOutOfRange}, {int64(math.MinInt64), CodeOutOfRange},
		{1e9 + 0.001, CodeOutOfRange}, {-1e9 - 0.001, CodeOutOfRange}, {float32(1e20), CodeOutOfRange},
		{float32(math.NaN()), CodeWrongType}, {math.Inf(-1), CodeWrongType}, {"2,5", CodeWrongType}, {true, CodeWrongType}, {[]any{1}, CodeWrongType},
	} {
		if err := ValidateFields(Student, "checkins", map[string]any{"value": c.v}); CodeOf(err) != c.code {
			t.Errorf("%T(%v): got %v, want %s", c.v, c.v, err, c.code)
		}
	}
}
