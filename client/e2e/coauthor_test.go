package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// build says which app version a device runs: an earlier build sends no
// base texts (client.Options.MergesText nil) and knows no schema of issue
// 13; the engine below it is what every build shares.
type build int

const (
	earlier build = iota
	current
)

func (s *school) deviceOf(b build, token string) *client.Engine {
	s.t.Helper()
	s.n++
	st, err := diskstore.Open(filepath.Join(s.dir, fmt.Sprintf("device%d", s.n)))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = st.Close() })
	o := client.Options{Store: st, Transport: &wsdial.Transport{URL: "ws://" + s.App.Addr() + "/sync"}, Token: token}
	if b == current {
		o.MergesText = plan.MergesTextAnyKind
	}
	e := client.New(o)
	if err := e.Open(ctx); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = e.Close() })
	return e
}

func refused(r protocol.Result) bool { return r.Code == protocol.CodeForbidden }

// TestSuggestionRolesOnServer: the server enforces the role table's
// suggestion rules over real sockets: a family member suggests, but may
// not accept it; support staff may not decide; a teacher declines without
// rewriting; the decided suggestion is no longer the family's to change;
// and nobody edits another member's meeting answers.
func TestSuggestionRolesOnServer(t *testing.T) {
	s := newSchool(t)
	ana := s.Ana.ID
	fam, teacher, support := s.MustDial(s.Family.Token), s.MustDial(s.Teacher.Token), s.MustDial(s.Support.Token)
	id := uuid.Must(uuid.NewV7())
	create := fam.Op(ana, "suggestions", id, map[string]any{"kind": "change_goal", "text": "Leer con su hermana cada noche", "lang": "es"})
	if r := fam.PushOne(create); r.Code != "" {
		t.Fatalf("family suggests: %+v", r)
	}
	if r := fam.PushOne(fam.Op(ana, "suggestions", id, map[string]any{"status": "accepted"})); !refused(r) {
		t.Errorf("family accepted its own suggestion: %+v", r)
	}
	if r := support.PushOne(support.Op(ana, "suggestions", id, map[string]any{"status": "declined"})); !refused(r) {
		t.Errorf("support staff decided: %+v", r)
	}
	if r := teacher.PushOne(teacher.Op(ana, "suggestions", id, map[string]any{"text": "Ms. Lee's words", "status": "accepted"})); !refused(r) {
		t.Errorf("teacher rewrote the family's suggestion: %+v", r)
	}
	newID := uuid.Must(uuid.NewV7())
	if r := teacher.PushOne(teacher.Op(ana, "suggestions", newID, map[string]any{"kind": "new_goal", "text": "x", "lang": "en", "status": "accepted"})); !refused(r) {
		t.Errorf("a suggestion was born accepted: %+v", r)
	}
	if r := teacher.PushOne(teacher.Op(ana, "suggestions", id, map[string]any{"status": "declined", "decline_reason": "Hablemos en la reunión", "decision_lang": "es"})); r.Code != "" {
		t.Fatalf("teacher declines: %+v", r)
	}
	if r := fam.PushOne(fam.Op(ana, "suggestions", id, map[string]any{"text": "otra cosa"})); !refused(r) {
		t.Errorf("family edited a decided suggestion: %+v", r)
	}
	k := record.Key{Space: ana, Collection: "suggestions", ID: id}
	// Wait's condition runs under the Sock's lock, so it only signals;
	// Record is read outside it.
	declined := func() bool { r := fam.Record(k); return r != nil && r.Value("status") == "declined" }
	for deadline := time.Now().Add(waitLimit); !declined() && time.Now().Before(deadline); {
		fam.Wait(100*time.Millisecond, func() bool { return false })
	}
	if !declined() {
		t.Fatalf("the family does not read the answer: %+v", fam.Record(k))
	}
	if got := fam.Record(k).Value("decline_reason"); got != "Hablemos en la reunión" {
		t.Errorf("reason %v", got)
	}

	ans := uuid.Must(uuid.NewV7())
	if r := fam.PushOne(fam.Op(ana, "meeting_answers", ans, map[string]any{"meeting_id": id.String(),
		"answers": []any{map[string]any{"start": "2025-10-14T17:30:00-05:00", "answer": "works"}}})); r.Code != "" {
		t.Fatalf("family answers: %+v", r)
	}
	if r := teacher.PushOne(teacher.Op(ana, "meeting_answers", ans, map[string]any{"comment": "changed"})); !refused(r) {
		t.Errorf("teacher changed the family's answers: %+v", r)
	}
	if r := fam.PushOne(fam.Op(ana, "goals", uuid.Must(uuid.NewV7()), map[string]any{"description": "a goal"})); !refused(r) {
		t.Errorf("family wrote a goal rather than suggesting one: %+v", r)
	}
}

// TestSchema1OpsSyncOnCurrentServer: the ops an earlier build wrote
// (shared/testdata/schema1, recorded before issue 13's schema) are taken by
// today's server, and a member's device reads the records they make.
func TestSchema1OpsSyncOnCurrentServer(t *testing.T) {
	s := newSchool(t)
	ana := s.Ana.ID
	b, err := os.ReadFile("../../shared/testdata/schema1/student-push.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	teacher := s.MustDial(s.Teacher.Token)
	ops := m.(*protocol.Push).Ops
	want := map[record.Key][]string{}
	for i := range ops {
		ops[i].Space = ana
		for _, w := range ops[i].Writes {
			want[ops[i].Key()] = append(want[ops[i].Key()], w.Name)
		}
	}
	ack := teacher.Push(ops...)
	for i, r := range ack.Results {
		if r.Code != "" {
			t.Errorf("golden op %d (%s) refused: %+v", i, ops[i].Collection, r)
		}
	}
	fam := s.deviceOf(earlier, s.Family.Token)
	waitSynced(t, fam)
	for k, names := range want {
		r := fam.Get(k)
		if r == nil {
			t.Errorf("%s not synced", k.Collection)
			continue
		}
		for _, n := range names {
			if _, ok := r.Fields[n]; !ok {
				t.Errorf("%s.%s lost", k.Collection, n)
			}
		}
	}
}

// TestEarlierBuildBesideCurrent: a family's device on an earlier build
// syncs beside current ones. It keeps, and passes through untouched, the
// fields and collections it has no schema for (a goal's measure, a
// suggestion), and its own edits land without dropping them. Two current
// devices editing different words of one goal offline both stand, the same
// text on every device; the earlier build's device reads the merged text
// too (a merged change travels as a record, which it adopts).
func TestEarlierBuildBesideCurrent(t *testing.T) {
	s := newSchool(t)
	ana := s.Ana.ID
	lee := s.deviceOf(current, s.Teacher.Token)
	tok, err := app.AddSession(ctx, s.App.Store, s.Teacher.ID, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	laptop := s.deviceOf(current, tok)
	old := s.deviceOf(earlier, s.Family.Token)

	base := "Ana reads aloud every night with her sister for ten minutes."
	goal, err := lee.Create(ctx, ana, "goals", map[string]any{"description": base, "description_lang": "en",
		"measure_name": "Words read correctly in a minute", "measure_unit": "wpm", "measure_baseline": int64(42), "measure_target": 90.5})
	mustDo(t, err)
	sugg, err := old.Create(ctx, ana, "notes", map[string]any{"kind": "question", "lang": "es", "text": "¿Cuántas palabras?"})
	mustDo(t, err)
	waitSynced(t, lee, laptop, old)
	gk := record.Key{Space: ana, Collection: "goals", ID: goal}
	if r := old.Get(gk); r == nil || r.Value("measure_target") != 90.5 || r.Value("measure_unit") != "wpm" {
		t.Fatalf("the earlier build does not hold the measure: %+v", r)
	}
	// A new collection reaches it too, whole.
	sid, err := old.Create(ctx, ana, "suggestions", map[string]any{"kind": "new_goal", "text": "Contar hasta cien en casa", "lang": "es"})
	mustDo(t, err)
	waitSynced(t, old, lee)
	if r := lee.Get(record.Key{Space: ana, Collection: "suggestions", ID: sid}); r == nil || r.Value("text") != "Contar hasta cien en casa" {
		t.Fatalf("suggestion did not travel: %+v", r)
	}
	_ = sugg

	// Both teacher devices go offline and edit different words.
	lee.SetOnline(false)
	laptop.SetOnline(false)
	mustDo(t, lee.Put(ctx, ana, "goals", goal, map[string]any{"description": "Ana reads aloud every evening with her sister for ten minutes."}))
	mustDo(t, laptop.Put(ctx, ana, "goals", goal, map[string]any{"description": "Ana reads aloud every night with her sister for twenty minutes."}))
	want := "Ana reads aloud every evening with her sister for twenty minutes."
	lee.SetOnline(true)
	waitSynced(t, lee)
	laptop.SetOnline(true)
	waitSynced(t, laptop, lee, old)
	eventually(t, func() bool {
		for _, e := range []*client.Engine{lee, laptop, old} {
			if e.Get(gk).Value("description") != want {
				return false
			}
		}
		return true
	})
	for name, e := range map[string]*client.Engine{"lee": lee, "laptop": laptop, "earlier build": old} {
		r := e.Get(gk)
		if r == nil || r.Value("description") != want || r.HasConflicts() {
			t.Errorf("%s reads %q (conflicts %v), want %q", name, r.Value("description"), r.Fields["description"].Conflicts, want)
		}
		if r.Value("measure_target") != 90.5 || r.Value("measure_baseline") != int64(42) {
			t.Errorf("%s lost the measure: %v %v", name, r.Value("measure_target"), r.Value("measure_baseline"))
		}
	}
	noRejections(t, lee, laptop, old)

	// Overlapping edits stay a kept conflict with both versions.
	lee.SetOnline(false)
	laptop.SetOnline(false)
	mustDo(t, lee.Put(ctx, ana, "goals", goal, map[string]any{"description": "Ana reads aloud every morning with her sister for twenty minutes."}))
	mustDo(t, laptop.Put(ctx, ana, "goals", goal, map[string]any{"description": "Ana reads aloud every afternoon with her sister for twenty minutes."}))
	lee.SetOnline(true)
	waitSynced(t, lee)
	laptop.SetOnline(true)
	waitSynced(t, laptop, lee, old)
	eventually(t, func() bool {
		for _, e := range []*client.Engine{lee, laptop, old} {
			if len(e.Get(gk).Fields["description"].Conflicts) != 1 {
				return false
			}
		}
		return true
	})
	var seen []string
	for name, e := range map[string]*client.Engine{"lee": lee, "laptop": laptop, "earlier build": old} {
		f := e.Get(gk).Fields["description"]
		vals := []any{f.Value}
		for _, c := range f.Conflicts {
			vals = append(vals, c.Value)
		}
		if len(vals) != 2 {
			t.Errorf("%s: overlapping edits gave %v, want both kept", name, vals)
		}
		seen = append(seen, fmt.Sprint(vals))
	}
	if !reflect.DeepEqual(seen[0], seen[1]) || !reflect.DeepEqual(seen[1], seen[2]) {
		t.Errorf("devices disagree on the conflict: %v", seen)
	}

	// The earlier build edits the goal's about-the-family fields it knows
	// (here a note): the measure is untouched on every device.
	mustDo(t, old.Put(ctx, ana, "notes", sugg, map[string]any{"text": "¿Cuántas palabras por minuto?"}))
	waitSynced(t, old, lee)
	if r := lee.Get(gk); r.Value("measure_unit") != "wpm" {
		t.Errorf("measure lost after the earlier build's edit: %+v", r.Fields)
	}
	_ = server.RoleFamily
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to waitLimit: other members' changes reach
// a synced device a moment after its own outbox empties.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
}

// TestBaseTextOnlyOnProse: the server takes a base text with prose and
// refuses it with anything else (a date merged from two edits would be a
// day nobody chose).
func TestBaseTextOnlyOnProse(t *testing.T) {
	s := newSchool(t)
	ana := s.Ana.ID
	teacher := s.MustDial(s.Teacher.Token)
	id := uuid.Must(uuid.NewV7())
	create := teacher.Op(ana, "goals", id, map[string]any{"description": "Read every night", "target_date": "2026-02-28"})
	if r := teacher.PushOne(create); r.Code != "" {
		t.Fatalf("create: %+v", r)
	}
	k := record.Key{Space: ana, Collection: "goals", ID: id}
	if !teacher.HasRecord(k, waitLimit) {
		t.Fatal("goal not sent back")
	}
	rec := teacher.Record(k)
	write := func(name string, v, base string) record.Op {
		op := teacher.Op(ana, "goals", id, nil)
		ref := rec.Fields[name].Ref()
		op.Writes = []record.Write{{Name: name, Value: v, Base: &ref, BaseText: base}}
		return op
	}
	if r := teacher.PushOne(write("target_date", "2026-03-31", "2026-02-28")); r.Code != protocol.CodeInvalid {
		t.Errorf("a base text with a date: %+v", r)
	}
	if r := teacher.PushOne(write("description", "Read every evening", "Read every night")); r.Code != "" {
		t.Errorf("a base text with prose: %+v", r)
	}
}
