// Package plan is the schema of the two kinds of space (a student's plan and a
// school's directory) and the validation of writes against it.
//
// The same code runs in the browser (as wasm) and on the server: the client
// validates so that a family finds out at once, offline, that a text is too
// long, and the server validates again because it cannot trust any client.
// That is why this package uses only the standard library and does no I/O.
//
// Validation works on one write at a time, on values as msgpack decodes them
// (nil, bool, string, any integer or float kind, []any, map[string]any),
// because ops are field-level: most writes set a single field, and a nil value
// clears a field. Only ValidateRecord, used when a record is created, demands
// the required fields.
//
// The schema is also data (Lookup, Collections) so that the UI can build forms
// and the role layer can decide per field, without a second copy of the rules
// that could drift from this one.
package plan

// SpaceKind says which schema a space follows; a space's kind is fixed when it
// is made.
type SpaceKind string

const (
	// Student is one student's plan space, shared by the family and school.
	Student SpaceKind = "student"
	// School is a school's space: its support-services directory and events.
	School SpaceKind = "school"
)

// FieldType is a string so that the schema can be sent to the UI as plain
// data and read there without a table of numbers.
type FieldType string

const (
	TypeString    FieldType = "string"    // free text, bounded by Field.MaxLen runes
	TypeEnum      FieldType = "enum"      // one of Field.Enum
	TypeBool      FieldType = "bool"      // true or false
	TypeInt       FieldType = "int"       // whole number within Field.Min..Field.Max
	TypeNumber    FieldType = "number"    // finite number, fractions allowed, within Field.Min..Field.Max
	TypeDate      FieldType = "date"      // calendar date "YYYY-MM-DD", no time zone
	TypeTimestamp FieldType = "timestamp" // RFC 3339 instant with its offset
	TypeID        FieldType = "id"        // another record's id: lowercase UUID text
	TypeLang      FieldType = "lang"      // BCP 47 language tag such as "es-MX"
	TypeList      FieldType = "list"      // up to Field.MaxItems values shaped like Field.Elem
	TypeObject    FieldType = "object"    // map with exactly the keys in Field.Fields
)

// DeletedField is the reserved field that marks a record deleted (a
// tombstone). It must equal record.DeletedField; it is repeated here so that
// the schema depends on nothing but the standard library.
const DeletedField = "_deleted"

// Limits shared by every collection. They are exported so the UI can size its
// inputs the same way the validator does.
const (
	// MaxLangTagLen is the longest language tag accepted; BCP 47 recommends
	// that implementations support at least 35 characters.
	MaxLangTagLen = 35
	// MaxTimestampLen bounds timestamp text before it is parsed at all.
	MaxTimestampLen = 40
	// MaxDepth is how deep values may nest: a list of objects of scalars is
	// depth 2, and nothing in the schema goes further, so anything deeper is
	// refused before it can cost stack or time.
	MaxDepth = 2
)

// Field describes one field of a collection, or of a nested object, or the
// elements of a list.
type Field struct {
	Name string
	Type FieldType
	// MaxLen bounds the length in runes (what a person counts as characters,
	// near enough), not bytes, so that a limit means the same in Arabic as in
	// English. For enum, date, id, timestamp and lang it is informational.
	MaxLen int
	// MaxItems bounds a list, so a hostile client cannot make the server walk
	// a million items.
	MaxItems int
	// Min and Max bound a TypeInt or TypeNumber field.
	Min, Max int64
	// Enum lists the allowed values of a TypeEnum field, in display order.
	Enum []string
	// Required fields must be present and not blank when a record is created
	// and can never be cleared; see ValidateRecord.
	Required bool
	// Unique refuses a list that names the same value twice: such lists are
	// sets (a row of checkboxes), and a duplicate is a client bug.
	Unique bool
	// Text marks prose a person writes, as opposed to names, codes and
	// addresses, so that a later layer can demand a language for it, offer
	// translation and lay it out right to left when needed.
	Text bool
	// LangField names the top-level field of the same record that holds the
	// language of this text; set only when Text is.
	LangField string
	// Elem is the shape of each item of a TypeList field; its Name is empty.
	Elem *Field
	// Fields are the keys of a TypeObject field.
	Fields []Field
}

// Collection is one kind of record in a space.
type Collection struct {
	Name   string
	Kind   SpaceKind
	Fields []Field
}

// Field finds a top-level field by name. Reserved fields such as DeletedField
// are not part of any collection's Fields.
func (c *Collection) Field(name string) (*Field, bool) {
	for i := range c.Fields {
		if c.Fields[i].Name == name {
			return &c.Fields[i], true
		}
	}
	return nil, false
}

// Lookup returns a copy of a collection's schema, so that no caller (a UI
// building a form, say) can loosen the rules the validator enforces.
func Lookup(kind SpaceKind, collection string) (*Collection, bool) {
	e, ok := schema[kind][collection]
	if !ok {
		return nil, false
	}
	return e.c.clone(), true
}

// Collections returns copies of every collection of a kind, in a stable order
// the UI can show as is. An unknown kind has none.
func Collections(kind SpaceKind) []*Collection {
	var defs []*Collection
	switch kind {
	case Student:
		defs = studentCollections
	case School:
		defs = schoolCollections
	}
	out := make([]*Collection, len(defs))
	for i, c := range defs {
		out[i] = c.clone()
	}
	return out
}

func (c *Collection) clone() *Collection {
	n := &Collection{Name: c.Name, Kind: c.Kind, Fields: make([]Field, len(c.Fields))}
	for i := range c.Fields {
		n.Fields[i] = c.Fields[i].clone()
	}
	return n
}

func (f Field) clone() Field {
	if f.Enum != nil {
		f.Enum = append([]string(nil), f.Enum...)
	}
	if f.Elem != nil {
		e := f.Elem.clone()
		f.Elem = &e
	}
	if f.Fields != nil {
		fs := make([]Field, len(f.Fields))
		for i := range f.Fields {
			fs[i] = f.Fields[i].clone()
		}
		f.Fields = fs
	}
	return f
}

// Shared vocabularies. Enum values are stable identifiers stored in records;
// the UI translates them, so they never change once released.
var (
	whereValues = []string{"school", "home"}
	areaValues  = []string{"reading", "writing", "math", "communication", "social_emotional",
		"behavior", "motor", "independence", "attendance", "other"}
	goalStatusValues = []string{"not_started", "in_progress", "met", "paused", "discontinued"}
	progressValues   = []string{"no_progress", "some_progress", "on_track", "met"}
	aboutKindValues  = []string{"strengths", "interests", "works_at_home", "hopes", "school_should_know"}
	noteKindValues   = []string{"praise", "question", "concern", "update"}
	placeValues      = []string{"school", "home_visit", "phone_call", "video_call", "community", "other"}
	meetingStatus    = []string{"proposed", "scheduled", "held", "cancelled"}
	contactValues    = []string{"phone_call", "text_message", "email", "app_message", "in_person", "home_visit"}
	barrierValues    = []string{"transport", "work_hours", "childcare", "data_limits", "phone_limits",
		"language", "disability", "other"}
	serviceKindValues = []string{"counselor", "social_worker", "psychologist", "nurse", "support_group",
		"community_partner", "tutoring", "other"}
	costValues      = []string{"free", "sliding_scale", "paid", "unknown"}
	eventKindValues = []string{"workshop", "family_meeting", "open_house", "support_group", "other"}

	// Added with issue 13 (co-authoring the plan).
	suggestionKinds    = []string{"new_goal", "change_goal"}
	suggestionStatus   = []string{"open", "accepted", "declined"}
	suggestedFields    = []string{"description", "target"}
	meetingAnswers     = []string{"works", "does_not_work", "suggest_other"}
	maxMeasure         = int64(1_000_000_000)
	maxProposedAnswers = 3
)

// Builders keep the tables below short enough to read as a form.

func text(name string, maxLen int, lang string) Field {
	return Field{Name: name, Type: TypeString, MaxLen: maxLen, Text: true, LangField: lang}
}

func str(name string, maxLen int) Field {
	return Field{Name: name, Type: TypeString, MaxLen: maxLen}
}

func enum(name string, values []string) Field {
	return Field{Name: name, Type: TypeEnum, Enum: values, MaxLen: longest(values)}
}

func lang(name string) Field { return Field{Name: name, Type: TypeLang, MaxLen: MaxLangTagLen} }
func date(name string) Field { return Field{Name: name, Type: TypeDate, MaxLen: len("2006-01-02")} }
func id(name string) Field   { return Field{Name: name, Type: TypeID, MaxLen: uuidLen} }
func boolean(name string) Field {
	return Field{Name: name, Type: TypeBool}
}

func timestamp(name string) Field {
	return Field{Name: name, Type: TypeTimestamp, MaxLen: MaxTimestampLen}
}

func integer(name string, lo, hi int64) Field {
	return Field{Name: name, Type: TypeInt, Min: lo, Max: hi}
}

func number(name string, lo, hi int64) Field {
	return Field{Name: name, Type: TypeNumber, Min: lo, Max: hi}
}

func list(name string, maxItems int, elem Field) Field {
	return Field{Name: name, Type: TypeList, MaxItems: maxItems, Elem: &elem}
}

// set is a list that may not repeat a value.
func set(name string, maxItems int, elem Field) Field {
	f := list(name, maxItems, elem)
	f.Unique = true
	return f
}

func object(fields ...Field) Field { return Field{Type: TypeObject, Fields: fields} }

func required(f Field) Field {
	f.Required = true
	return f
}

func longest(values []string) int {
	n := 0
	for _, v := range values {
		n = max(n, len(v))
	}
	return n
}

var studentCollections = []*Collection{
	{Name: "about", Kind: Student, Fields: []Field{
		// One record per text, so that each text carries its own language:
		// a family may write strengths in Spanish and hopes in English.
		required(enum("kind", aboutKindValues)),
		required(text("text", 4000, "lang")),
		required(lang("lang")),
	}},
	{Name: "goals", Kind: Student, Fields: []Field{
		enum("area", areaValues),
		text("description", 4000, "description_lang"),
		lang("description_lang"),
		// The target is written together with the description, in its language.
		text("target", 1000, "description_lang"),
		enum("status", goalStatusValues),
		date("start_date"),
		date("target_date"),
		// A measure makes progress a number and a chart (issue 13): what
		// is counted, in what unit, from where to where, by when. Flat
		// fields, not an object, so that two people setting the unit and
		// the target offline do not collide.
		text("measure_name", 200, "description_lang"),
		text("measure_unit", 50, "description_lang"),
		number("measure_baseline", -maxMeasure, maxMeasure),
		number("measure_target", -maxMeasure, maxMeasure),
		date("measure_target_date"),
	}},
	{Name: "actions", Kind: Student, Fields: []Field{
		required(id("goal_id")),
		enum("where", whereValues),
		text("who", 200, "lang"),
		text("what", 2000, "lang"),
		text("how_often", 200, "lang"),
		lang("lang"),
		// An action agreed at a meeting names it, and the member who owns
		// it (a user id; who stays the words shown).
		id("meeting_id"),
		id("owner_id"),
	}},
	{Name: "checkins", Kind: Student, Fields: []Field{
		required(id("goal_id")),
		date("date"),
		enum("where", whereValues),
		text("what_happened", 4000, "lang"),
		enum("progress", progressValues),
		str("by", 200),
		lang("lang"),
		// The reading of the goal's measure (goals.measure_unit).
		number("value", -maxMeasure, maxMeasure),
	}},
	{Name: "notes", Kind: Student, Fields: []Field{
		str("author_name", 200),
		required(lang("lang")),
		required(enum("kind", noteKindValues)),
		required(text("text", 8000, "lang")),
		id("reply_to"),
		// A note about a goal sits in that goal's thread; a note without
		// one is a general note. A reply takes its thread's goal_id.
		id("goal_id"),
		// urgent is the school's mark (only staff may set it, see
		// fieldWriters): server/notify sends an urgent note at once,
		// past digests and quiet hours.
		boolean("urgent"),
	}},
	{Name: "meetings", Kind: Student, Fields: []Field{
		text("title", 200, "lang"),
		list("proposed_times", 10, object(
			required(timestamp("start")),
			enum("place", placeValues),
			text("place_detail", 200, "lang"),
		)),
		// Families plan around work and transport; how long matters as much
		// as when.
		integer("duration_minutes", 5, 480),
		text("agenda", 4000, "lang"),
		list("attendees", 30, str("", 200)),
		boolean("interpreter_needed"),
		lang("interpreter_language"),
		text("notes", 8000, "lang"),
		text("agreed_actions", 4000, "lang"),
		enum("status", meetingStatus),
		lang("lang"),
		// The time chosen from proposed_times (its start), and who chose it
		// and when, as shown; the field's version also carries the
		// chooser's account and clock, stamped by the server.
		timestamp("chosen_start"),
		str("chosen_by_name", 200),
		timestamp("chosen_at"),
	}},
	{Name: "family", Kind: Student, Fields: []Field{
		lang("preferred_language"),
		set("contact_methods", len(contactValues), enum("", contactValues)),
		text("best_times", 500, "lang"),
		set("barriers", len(barrierValues), enum("", barrierValues)),
		text("barriers_detail", 2000, "lang"),
		lang("lang"),
	}},
	// A translation of one version of one text field of another record
	// (translation.go says why it is a record of its own).
	{Name: Translations, Kind: Student, Fields: []Field{
		required(str("of_collection", 64)),
		required(id("of_id")),
		required(str("of_field", 64)),
		required(str("source_hash", SourceHashLen)),
		lang("source_lang"),
		required(lang("lang")),
		required(text("text", MaxTranslationLen, "lang")),
		required(enum("by", TranslatedBy)),
		// The engine's name, on machine translations only.
		str("engine", 100),
	}},
	{Name: TranslationFlags, Kind: Student, Fields: []Field{
		required(id("translation_id")),
		text("note", 1000, "lang"),
		lang("lang"),
	}},
	// One record per member and meeting: each person's answers to the
	// proposed times. Separate records, so that two members answering
	// offline never touch the same field.
	{Name: "meeting_answers", Kind: Student, Fields: []Field{
		required(id("meeting_id")),
		list("answers", maxProposedAnswers*3, object(
			required(timestamp("start")), // which proposed time (its start)
			required(enum("answer", meetingAnswers)),
			timestamp("suggested_start"), // with suggest_other
		)),
		str("author_name", 200),
		text("comment", 1000, "lang"),
		lang("lang"),
	}},
	// A family member or support worker suggests a goal or a change to
	// one, in their language; a teacher accepts (the goal takes the text,
	// accepted_goal_id names it, and the suggestion's author is the goal's
	// co-author) or declines with a reason. The decision fields are
	// written only by roles that may decide (see the role table).
	{Name: "suggestions", Kind: Student, Fields: []Field{
		required(enum("kind", suggestionKinds)),
		id("goal_id"),                  // change_goal: the goal to change
		enum("field", suggestedFields), // change_goal: which text (description by default)
		enum("area", areaValues),       // new_goal
		required(text("text", 4000, "lang")),
		text("reason", 2000, "lang"),
		// The goal's text the suggestion was written against, so the
		// teacher sees what it would change.
		text("current_text", 4000, "lang"),
		required(lang("lang")),
		str("author_name", 200),
		enum("status", suggestionStatus), // decision; absent means open
		text("decline_reason", 2000, "decision_lang"),
		lang("decision_lang"),
		id("accepted_goal_id"),
		str("decided_by_name", 200),
		timestamp("decided_at"),
	}},
}

var schoolCollections = []*Collection{
	{Name: "services", Kind: School, Fields: []Field{
		// A proper name, shown as written in every language.
		required(str("name", 200)),
		enum("kind", serviceKindValues),
		text("offers", 4000, "lang"),
		str("contact", 500),
		set("languages", 20, lang("")),
		enum("cost", costValues),
		lang("lang"),
	}},
	{Name: "events", Kind: School, Fields: []Field{
		required(text("title", 200, "lang")),
		enum("kind", eventKindValues),
		timestamp("starts_at"),
		timestamp("ends_at"),
		str("place", 500),
		text("description", 4000, "lang"),
		set("languages", 20, lang("")),
		lang("lang"),
	}},
}

type entry struct {
	c      *Collection
	fields map[string]*Field
}

// schema indexes the tables once so that validating a write is map lookups.
var schema = func() map[SpaceKind]map[string]*entry {
	m := map[SpaceKind]map[string]*entry{}
	for _, defs := range [][]*Collection{studentCollections, schoolCollections} {
		for _, c := range defs {
			if m[c.Kind] == nil {
				m[c.Kind] = map[string]*entry{}
			}
			e := &entry{c: c, fields: make(map[string]*Field, len(c.Fields))}
			for i := range c.Fields {
				e.fields[c.Fields[i].Name] = &c.Fields[i]
			}
			m[c.Kind][c.Name] = e
		}
	}
	return m
}()
