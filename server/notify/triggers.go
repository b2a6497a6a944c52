package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/vmihailenco/msgpack/v5"
)

// newWindow is how recent a note's creation must be for it to count as
// new: an edit of an old note (or a server started with notifications
// long after the note was written) tells nobody.
const newWindow = 24 * time.Hour

// reminderBefore is how long before a meeting its reminder goes.
const reminderBefore = 24 * time.Hour

// consume turns one space's changed records into outbox items. A panic
// in it (a bug, a record shaped as no test foresaw) loses that group's
// messages, logged, never the server.
func (s *Service) consume(ctx context.Context, space uuid.UUID, recs []*record.Record) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("notify: panic while reading a commit; its messages are lost", "space", space, "panic", v)
		}
	}()
	var sp *server.Space
	for _, rec := range recs {
		switch rec.Collection {
		case "notes", "meetings", "checkins", "suggestions":
		default:
			continue
		}
		if sp == nil {
			var err error
			if sp, err = s.o.Store.Space(ctx, space); err != nil {
				s.log.Error("notify: reading space", "space", space, "err", err)
				return
			}
			if sp.Kind != server.KindStudent {
				return
			}
		}
		var err error
		switch rec.Collection {
		case "notes":
			err = s.onNote(ctx, sp, rec)
		case "meetings":
			err = s.onMeeting(ctx, sp, rec)
		case "checkins":
			err = s.onCheckin(ctx, sp, rec)
		case "suggestions":
			err = s.onSuggestion(ctx, sp, rec)
		}
		if err != nil {
			s.log.Error("notify: queueing", "space", space, "collection", rec.Collection, "record", rec.ID, "err", err)
		}
	}
}

// created is the clock of a record's oldest visible field: when it was
// made, near enough (every field of a note is written at creation).
func created(rec *record.Record) hlc.Timestamp {
	var t hlc.Timestamp
	for name, f := range rec.Fields {
		if name == record.DeletedField {
			continue
		}
		if t == 0 || f.HLC < t {
			t = f.HLC
		}
	}
	return t
}

// lastAuthor is who wrote the record's newest visible field.
func lastAuthor(rec *record.Record) uuid.UUID {
	var best *record.Field
	for _, f := range rec.Fields {
		if best == nil || best.Ref().Less(f.Ref()) {
			best = f
		}
	}
	if best == nil {
		return uuid.Nil
	}
	return best.Author
}

// urgent reports whether the school marked the record urgent: an "urgent"
// field set to true by a staff member (a family's own note is never
// urgent to the school's channels).
func urgent(rec *record.Record, roles map[uuid.UUID]server.Role) bool {
	f := rec.Fields["urgent"]
	if f == nil {
		return false
	}
	if b, _ := f.Value.(bool); !b {
		return false
	}
	switch roles[f.Author] {
	case server.RoleTeacher, server.RoleAdmin, server.RoleSupport:
		return true
	}
	return false
}

func (s *Service) onNote(ctx context.Context, sp *server.Space, rec *record.Record) error {
	if rec.Deleted() || s.o.Clock.Now().Sub(created(rec).Time()) > newWindow {
		return nil
	}
	author := rec.Fields["text"]
	if author == nil {
		return nil
	}
	members, err := s.o.Store.Members(ctx, sp.ID)
	if err != nil {
		return err
	}
	roles := roleMap(members)
	from := s.userName(ctx, author.Author)
	var repliedTo uuid.UUID
	if id, ok := rec.Value("reply_to").(string); ok {
		if rid, err := uuid.Parse(id); err == nil {
			if parent, err := s.o.Store.Record(ctx, record.Key{Space: sp.ID, Collection: "notes", ID: rid}); err == nil && parent.Fields["text"] != nil {
				repliedTo = parent.Fields["text"].Author
			}
		}
	}
	var items []*store.NotifyItem
	for _, m := range members {
		if m.User == author.Author {
			continue
		}
		ev := EvNote
		if m.User == repliedTo {
			ev = EvReply
		}
		it, err := s.item(ctx, sp, m, &payload{Event: ev, Space: sp.ID, Where: sp.Name, Collection: "notes", Record: rec.ID, From: from, Urgent: urgent(rec, roles)})
		if err != nil {
			return err
		}
		if it != nil {
			items = append(items, it)
		}
	}
	return s.enqueue(ctx, "note:"+rec.Key().Space.String()+":"+rec.ID.String(), items)
}

// onCheckin asks the family how it goes at home: a check-in at home that
// a staff member made and left for the family to fill in (what happened
// still empty) is the school's request.
func (s *Service) onCheckin(ctx context.Context, sp *server.Space, rec *record.Record) error {
	if rec.Deleted() || rec.Value("where") != "home" || s.o.Clock.Now().Sub(created(rec).Time()) > newWindow {
		return nil
	}
	if t, _ := rec.Value("what_happened").(string); strings.TrimSpace(t) != "" {
		return nil
	}
	goal, err := uuid.Parse(fmt.Sprint(rec.Value("goal_id")))
	if err != nil {
		return nil
	}
	members, err := s.o.Store.Members(ctx, sp.ID)
	if err != nil {
		return err
	}
	roles := roleMap(members)
	author := lastAuthor(rec)
	switch roles[author] {
	case server.RoleTeacher, server.RoleAdmin, server.RoleSupport:
	default:
		return nil
	}
	from := s.userName(ctx, author)
	var items []*store.NotifyItem
	for _, m := range members {
		if m.Role != server.RoleFamily {
			continue
		}
		// The link opens the goal, where its check-ins are written.
		it, err := s.item(ctx, sp, m, &payload{Event: EvCheckinRequest, Space: sp.ID, Where: sp.Name, Collection: "goal", Record: goal, From: from, Urgent: urgent(rec, roles)})
		if err != nil {
			return err
		}
		if it != nil {
			items = append(items, it)
		}
	}
	return s.enqueue(ctx, "checkin:"+sp.ID.String()+":"+rec.ID.String(), items)
}

// onSuggestion tells the person who suggested a goal or a change that it
// was answered (accepted or declined), once per answer: the event's id
// carries the decision, so a decision changed (declined, then accepted
// after all) tells them again, and the same decision synced twice does
// not. Only the suggester hears of it; a decision written by someone who
// may not decide is refused by the server before it reaches here.
func (s *Service) onSuggestion(ctx context.Context, sp *server.Space, rec *record.Record) error {
	if rec.Deleted() {
		return nil
	}
	status := rec.Fields["status"]
	text := rec.Fields["text"]
	if status == nil || text == nil || s.o.Clock.Now().Sub(status.HLC.Time()) > newWindow {
		return nil
	}
	decision, _ := status.Value.(string)
	if decision != "accepted" && decision != "declined" {
		return nil
	}
	if status.Author == text.Author {
		return nil // nobody answers their own suggestion
	}
	members, err := s.o.Store.Members(ctx, sp.ID)
	if err != nil {
		return err
	}
	var items []*store.NotifyItem
	for _, m := range members {
		if m.User != text.Author {
			continue
		}
		// The link opens the plan's suggestions, where the answer and
		// any reason are shown.
		it, err := s.item(ctx, sp, m, &payload{Event: EvSuggestion, Space: sp.ID, Where: sp.Name, Collection: "suggestions", Record: rec.ID, From: s.userName(ctx, status.Author)})
		if err != nil {
			return err
		}
		if it != nil {
			items = append(items, it)
		}
	}
	return s.enqueue(ctx, "suggestion:"+sp.ID.String()+":"+rec.ID.String()+":"+decision, items)
}

func (s *Service) onMeeting(ctx context.Context, sp *server.Space, rec *record.Record) error {
	members, err := s.o.Store.Members(ctx, sp.ID)
	if err != nil {
		return err
	}
	roles := roleMap(members)
	status, _ := rec.Value("status").(string)
	start := firstStart(rec)
	author := lastAuthor(rec)
	from := s.userName(ctx, author)
	now := s.o.Clock.Now()
	// What a person plans around: status, times, places. A change of
	// anything else (notes taken at the meeting) tells nobody.
	state, _ := json.Marshal([]any{status, rec.Value("proposed_times"), rec.Value("duration_minutes")})
	sum := sha256.Sum256(state)
	base := "meeting:" + rec.Key().Space.String() + ":" + rec.ID.String()
	newest := rec.Fields[newestField(rec)]
	if newest != nil && !rec.Deleted() && status != "held" && s.o.Clock.Now().Sub(newest.HLC.Time()) <= newWindow {
		ev := EvMeetingChanged
		if fresh, err := s.o.Store.EnqueueNotify(ctx, base+":seen", nil); err != nil {
			return err
		} else if fresh {
			ev = EvMeetingProposed
		}
		var items []*store.NotifyItem
		for _, m := range members {
			if m.User == author {
				continue
			}
			it, err := s.item(ctx, sp, m, &payload{Event: ev, Space: sp.ID, Where: sp.Name, Collection: "meetings", Record: rec.ID, From: from, When: start, Urgent: urgent(rec, roles)})
			if err != nil {
				return err
			}
			if it != nil {
				items = append(items, it)
			}
		}
		if err := s.enqueue(ctx, base+":"+hex.EncodeToString(sum[:8]), items); err != nil {
			return err
		}
	}
	// The day-before reminder follows the meeting: moved with it,
	// dropped when it is cancelled or gone.
	for _, m := range members {
		id := reminderID(rec.ID, m.User)
		if rec.Deleted() || status == "cancelled" || status == "held" || start.IsZero() || !start.After(now) {
			if err := s.o.Store.CancelNotify(ctx, id); err != nil {
				return err
			}
			continue
		}
		it, err := s.item(ctx, sp, m, &payload{Event: EvMeetingReminder, Space: sp.ID, Where: sp.Name, Collection: "meetings", Record: rec.ID, From: from, When: start})
		if err != nil {
			return err
		}
		if it == nil || it.State == store.NotifyCall {
			continue // the office's list carries the meeting itself
		}
		it.ID = id
		at := start.Add(-reminderBefore)
		if p, err := s.prefs(ctx, m.User, sp.ID); err == nil {
			if a := p.nextAllowed(at); a.Before(start) {
				at = a
			}
		}
		it.Due = maxTime(at, now)
		if _, err := s.o.Store.ReplaceNotify(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func newestField(rec *record.Record) string {
	best := ""
	var t hlc.Timestamp
	for name, f := range rec.Fields {
		if best == "" || f.HLC > t {
			best, t = name, f.HLC
		}
	}
	return best
}

// firstStart is the first proposed time of a meeting.
func firstStart(rec *record.Record) time.Time {
	times, _ := rec.Value("proposed_times").([]any)
	if len(times) == 0 {
		return time.Time{}
	}
	o, _ := times[0].(map[string]any)
	st, _ := o["start"].(string)
	t, err := time.Parse(time.RFC3339, st)
	if err != nil {
		return time.Time{}
	}
	return t
}

func reminderID(meeting, user uuid.UUID) uuid.UUID {
	h := sha256.Sum256(append(append([]byte("reminder"), meeting[:]...), user[:]...))
	u, _ := uuid.FromBytes(h[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8: derived
	u[8] = u[8]&0x3f | 0x80
	return u
}

func roleMap(members []server.Member) map[uuid.UUID]server.Role {
	m := make(map[uuid.UUID]server.Role, len(members))
	for _, mb := range members {
		m[mb.User] = mb.Role
	}
	return m
}

func (s *Service) userName(ctx context.Context, id uuid.UUID) string {
	u, err := s.o.Store.User(ctx, id)
	if err != nil {
		return ""
	}
	return u.Name
}

// item makes one member's item: their channel and time from their
// preferences (or their family profile's defaults), their language. It
// is nil for a staff member no channel reaches: the office's call list is
// for families; staff read it in the app.
func (s *Service) item(ctx context.Context, sp *server.Space, m server.Member, p *payload) (*store.NotifyItem, error) {
	user := m.User
	prefs, err := s.prefs(ctx, user, sp.ID)
	if err != nil {
		return nil, err
	}
	p.Lang, p.TimeZone = prefs.Lang, prefs.TimeZone
	b, err := msgpack.Marshal(p)
	if err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	it := &store.NotifyItem{ID: uuid.Must(uuid.NewV7()), School: sp.School, User: user, Created: now, Payload: b}
	it.Channel = s.channelFor(prefs)
	if it.Channel == ChanCall && m.Role != server.RoleFamily {
		return nil, nil
	}
	if it.Channel == ChanCall {
		it.State = store.NotifyCall
		return it, nil
	}
	it.State, it.Due = store.NotifyQueued, prefs.due(now, p.Urgent)
	return it, nil
}

// channelFor is the first of the person's channels the server has and the
// person has an address for; ChanCall when there is none.
func (s *Service) channelFor(p *Prefs) string {
	for _, c := range p.Channels {
		if s.chans[c] != nil && address(p, c) != "" {
			return c
		}
	}
	return ChanCall
}

// address is where a channel reaches the person, "" when it does not.
func address(p *Prefs, channel string) string {
	switch channel {
	case ChanEmail:
		if p.EmailVerified {
			return p.Email
		}
	case ChanSMS:
		if p.PhoneVerified {
			return p.Phone
		}
	case ChanPush:
		if p.Push != nil {
			b, _ := json.Marshal(p.Push)
			return string(b)
		}
	}
	return ""
}

func (s *Service) enqueue(ctx context.Context, event string, items []*store.NotifyItem) error {
	queued, err := s.o.Store.EnqueueNotify(ctx, event, items)
	if err != nil {
		return err
	}
	if queued {
		for _, it := range items {
			if it.State == store.NotifyCall {
				s.stats.called.Add(1)
			} else {
				s.stats.queued.Add(1)
			}
			s.log.Info("notify: queued", "item", it.ID, "user", it.User, "channel", it.Channel, "due", it.Due, "event", event)
		}
	}
	return nil
}

// prefs are the person's saved preferences, or their defaults: from the
// family profile of the plan (for a family member), else the server's.
func (s *Service) prefs(ctx context.Context, user, space uuid.UUID) (*Prefs, error) {
	b, err := s.o.Store.NotifyPrefs(ctx, user)
	if err == nil {
		if p, err := decodePrefs(b); err == nil {
			if p.TimeZone == "" {
				p.TimeZone = s.o.TimeZone
			}
			return p, nil
		}
		s.log.Error("notify: stored preferences unreadable; using defaults", "user", user)
	} else if !errors.Is(err, server.ErrNotFound) {
		return nil, err
	}
	return s.defaults(ctx, user, space)
}

func (s *Service) defaults(ctx context.Context, user, space uuid.UUID) (*Prefs, error) {
	p := &Prefs{Channels: []string{ChanPush, ChanEmail}, QuietStart: defaultQuietStart, QuietEnd: defaultQuietEnd, Digest: DigestNow, Lang: "en", TimeZone: s.o.TimeZone}
	u, err := s.o.Store.User(ctx, user)
	if err != nil {
		return nil, itemErr("reading user", err)
	}
	if len(u.Languages) > 0 {
		p.Lang = u.Languages[0]
	}
	if emailRe.MatchString(u.Login) {
		// A login the school gave out is the school's to vouch for.
		p.Email, p.EmailVerified = u.Login, true
	}
	if space == uuid.Nil {
		// The settings screen asks without a plan: the person's first
		// plan as family.
		ms, err := s.o.Store.Memberships(ctx, user)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Role == server.RoleFamily {
				if sp, err := s.o.Store.Space(ctx, m.Space); err == nil && sp.Kind == server.KindStudent {
					space = m.Space
					break
				}
			}
		}
	}
	if space == uuid.Nil {
		return p, nil
	}
	ms, err := s.o.Store.Members(ctx, space)
	if err != nil {
		return nil, err
	}
	if roleMap(ms)[user] != server.RoleFamily {
		return p, nil
	}
	fams, err := s.o.Store.CollectionRecords(ctx, space, "family", 4)
	if err != nil {
		return nil, err
	}
	for _, f := range fams {
		if !f.Deleted() {
			profileDefaults(p, f)
			break
		}
	}
	return p, nil
}

var quoteStart = regexp.MustCompile(`(?m)^(On .{1,200} wrote:|El .{1,200} escribió:|-----Original Message-----|________________________________)\s*$`)

// replyText is what a person wrote above the quoted message, trimmed.
func replyText(body string) string {
	if loc := quoteStart.FindStringIndex(body); loc != nil {
		body = body[:loc[0]]
	}
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), ">") {
			continue
		}
		lines = append(lines, strings.TrimRight(l, " \t"))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
