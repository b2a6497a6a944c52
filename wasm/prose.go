// Code generated from shared/plan by wasm/prose_test.go; DO NOT EDIT.

//go:build js

// Regenerate with: go test ./wasm -run TestProseMirror -update-prose

package main

// proseFields are the fields whose edits carry their base text, so that
// concurrent edits of other words merge (plan.MergesText).
var proseFields = map[string]bool{
	"about.text":                 true,
	"actions.how_often":          true,
	"actions.what":               true,
	"actions.who":                true,
	"checkins.what_happened":     true,
	"events.description":         true,
	"events.title":               true,
	"family.barriers_detail":     true,
	"family.best_times":          true,
	"goals.description":          true,
	"goals.measure_name":         true,
	"goals.measure_unit":         true,
	"goals.target":               true,
	"meeting_answers.comment":    true,
	"meetings.agenda":            true,
	"meetings.agreed_actions":    true,
	"meetings.notes":             true,
	"meetings.title":             true,
	"notes.text":                 true,
	"services.offers":            true,
	"suggestions.current_text":   true,
	"suggestions.decline_reason": true,
	"suggestions.reason":         true,
	"suggestions.text":           true,
	"translation_flags.note":     true,
	"translations.text":          true,
}

func mergesText(collection, field string) bool { return proseFields[collection+"."+field] }
