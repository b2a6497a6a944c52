package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Translations are kept beside the plan, never in it: a translation is a
// record of the "translations" collection of the same space, one per
// (record, field, version of the text, target language), so that
//
//   - the text a person wrote is never touched (a translation is not an
//     edit of their record, and its history stays theirs alone);
//   - translations sync and are read offline like every other record,
//     through the same log, filter and client store;
//   - a translation is computed once: its id is derived from what it
//     translates (TranslationID), so the server can tell it exists;
//   - a new version of the text has a new hash, so an old translation is
//     never shown for a new text (the page matches source_hash).
//
// The server writes machine translations (by "machine", with the engine's
// name) by committing them itself; interpreters add or replace them (by
// "human", the author stamped by the server). Flags ("this translation is
// wrong") are records of their own so that any reader may write one
// without being able to touch the translation.
const (
	Translations     = "translations"
	TranslationFlags = "translation_flags"
	// SourceHashLen is the length of SourceHash's hex text.
	SourceHashLen = 2 * sha256.Size
	// MaxTranslationLen bounds a translation in runes: the longest text
	// (a note, 8,000) may grow in another language.
	MaxTranslationLen = 12000
	ByMachine         = "machine"
	ByHuman           = "human"
)

// TranslatedBy are the values of a translation's "by".
var TranslatedBy = []string{ByMachine, ByHuman}

// SourceHash names one version of a text: the hex SHA-256 of its UTF-8
// bytes (the page computes the same with crypto.subtle).
func SourceHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// TranslationID is the id of the translation of one version of one field
// of a record into a language: the same inputs give the same id on every
// server, so "already translated" is one record read.
func TranslationID(collection string, rec uuid.UUID, field, sourceHash, lang string) uuid.UUID {
	h := sha256.New()
	for _, s := range []string{"plansync translation", collection, rec.String(), field, sourceHash, strings.ToLower(lang)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var id uuid.UUID
	copy(id[:], h.Sum(nil))
	// Shaped as the UUIDv7 every record id must be; its time bits are
	// hash bits, which nothing reads as a time.
	id[6] = id[6]&0x0f | 0x70
	id[8] = id[8]&0x3f | 0x80
	return id
}

// BaseLang is the primary language subtag of a BCP 47 tag, lowercased:
// "es" for "es-MX".
func BaseLang(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(base)
}

// TextFields names the top-level text fields of a collection with the
// field holding each one's language: what a translation may be of.
func TextFields(kind SpaceKind, collection string) map[string]string {
	e, ok := schema[kind][collection]
	if !ok || collection == Translations || collection == TranslationFlags {
		return nil
	}
	out := map[string]string{}
	for _, f := range e.c.Fields {
		if f.Text && f.Type == TypeString {
			out[f.Name] = f.LangField
		}
	}
	return out
}

// translationKeyFields are what a translation's id is derived from.
var translationKeyFields = []string{"of_collection", "of_id", "of_field", "source_hash", "lang"}

// checkTranslation refuses a member's write of a translation that would
// pass for the server's (what a person writes is marked human, and only
// the server names an engine), or that names what it translates other
// than its id says: those fields are written together, once, as the id
// derives them, so a translation can never move to another record (its
// readers are those of the record it translates, see ReadsTranslation).
func checkTranslation(op *record.Op) *Forbidden {
	human, text := false, false
	key := map[string]string{}
	for _, w := range op.Writes {
		if slices.Contains(translationKeyFields, w.Name) {
			s, _ := w.Value.(string)
			key[w.Name] = s
		}
		switch w.Name {
		case "by":
			if w.Value != ByHuman {
				return forbidden("a translation a person writes is marked human (%s.by)", op.Collection)
			}
			human = true
		case "engine":
			if w.Value != nil {
				return forbidden("only the server names a translation engine (%s.engine)", op.Collection)
			}
		case "text":
			text = true
		}
	}
	if text && !human {
		return forbidden("a translation a person writes is marked human (%s.by)", op.Collection)
	}
	if len(key) > 0 {
		rec, err := uuid.Parse(key["of_id"])
		if len(key) != len(translationKeyFields) || err != nil ||
			TranslationID(key["of_collection"], rec, key["of_field"], key["source_hash"], key["lang"]) != op.ID {
			return forbidden("a translation's id is derived from what it translates, written once (%s.of_id)", op.Collection)
		}
	}
	return nil
}

// ReadsTranslation reports whether a role may read a translation record
// (or anything else): a translation is read by those who read the text
// it translates.
func ReadsTranslation(kind SpaceKind, role string, rec *record.Record) bool {
	if rec.Collection != Translations {
		return true
	}
	of, _ := rec.Value("of_collection").(string)
	return AccessOf(kind, of, role).Read
}
