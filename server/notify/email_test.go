package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

func hhmm(t time.Time) string { return t.UTC().Format("15:04") }

// The email path end to end: a teacher's note, the parent's quiet hours
// (on the fake clock), the message through a real SMTP server, parsed:
// Spanish, the exact link, no session token, no plan text, no reply token
// in the body; sent once.
func TestEmailQuietHoursLanguageLinkNoToken(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}, ReplyDomain: "reply.school.example.org"})
	defer w.stop()
	now := w.clock.Now()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", QuietStart: hhmm(now.Add(-time.Hour)),
		QuietEnd: hhmm(now.Add(2 * time.Hour)), TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	session, err := w.auth.StartSession(context.Background(), w.parent.ID, "phone")
	must(t, err)

	noteID := w.note(w.teacher.ID, "Ana read a whole chapter aloud today (plan-text-7731)")
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("in quiet hours: sent %d, %v; want nothing", n, err)
	}
	if got := sink.messages(); len(got) != 0 {
		t.Fatalf("the SMTP server got %d messages in quiet hours", len(got))
	}

	w.clock.Add(2*time.Hour + time.Minute)
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("after quiet hours: sent %d, %v; want 1", n, err)
	}
	msgs := sink.messages()
	if len(msgs) != 1 {
		t.Fatalf("the SMTP server got %d messages, want 1", len(msgs))
	}
	if len(msgs[0].to) != 1 || msgs[0].to[0] != "rosa@example.org" {
		t.Errorf("envelope recipients %v", msgs[0].to)
	}
	msg, body := parseMail(t, msgs[0])
	if l := msg.Header.Get("Content-Language"); l != "es" {
		t.Errorf("Content-Language %q, want es", l)
	}
	if want := "Ms. Lee escribió una nota en el plan de Ana."; !strings.Contains(body, want) {
		t.Errorf("body lacks %q:\n%s", want, body)
	}
	link := fmt.Sprintf("https://plans.example.org/#/s/%s/notes/%s", w.plan.ID, noteID)
	if !strings.Contains(body, link) {
		t.Errorf("body lacks the link %s:\n%s", link, body)
	}
	replyTo := msg.Header.Get("Reply-To")
	m := regexp.MustCompile(`reply\+([a-z2-7]{32})@reply\.school\.example\.org`).FindStringSubmatch(replyTo)
	if m == nil {
		t.Fatalf("Reply-To %q is not a reply address", replyTo)
	}
	raw := string(msgs[0].raw)
	for what, secret := range map[string]string{"session token": session, "note text": "plan-text-7731"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the message carries the %s", what)
		}
	}
	if strings.Contains(body, m[1]) {
		t.Error("the body carries the reply token")
	}
	if strings.Contains(link, "token") || strings.Contains(body, "?") {
		t.Errorf("the link carries a query: %s", body)
	}

	w.clock.Add(time.Hour)
	if n, _ := svc.DispatchOnce(context.Background()); n != 0 || len(sink.messages()) != 1 {
		t.Fatalf("sent again: %d more, %d in all", n, len(sink.messages()))
	}
}

// A reply to the email lands in the plan as the parent's note answering
// the teacher's, through the reply SMTP server; a reply address nobody
// was given is refused at RCPT with 550.
func TestEmailReplyLandsAsNote(t *testing.T) {
	w := newWorld(t)
	sink := newSMTPSink(t)
	svc := w.start(Options{Channels: []Channel{w.emailChannel(sink)}, ReplyDomain: "reply.school.example.org"})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanEmail}, Email: "rosa@example.org", TimeZone: "UTC", Digest: DigestNow, Lang: "es"})
	noteID := w.note(w.teacher.ID, "Can you come on Tuesday?")
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}
	msg, _ := parseMail(t, sink.messages()[0])
	replyTo := msg.Header.Get("Reply-To")
	replyTo = strings.Trim(replyTo[strings.Index(replyTo, "<")+1:], "<> ")

	srv := svc.ReplyServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, gosmtp.ErrServerClosed) {
			t.Log(err)
		}
	}()
	defer func() { _ = srv.Close(); <-done }()

	reply := "From: rosa@example.org\r\nTo: " + replyTo + "\r\nSubject: Re: Plansync: Ana\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Sí, allí estaré.\r\n\r\nOn Fri, Dec 4, 2026 at 9:00 PM Plansync <plansync@school.example.org> wrote:\r\n> Ms. Lee escribió una nota\r\n"
	must(t, smtp.SendMail(ln.Addr().String(), nil, "rosa@example.org", []string{replyTo}, []byte(reply)))
	w.waitConsumed()

	var found bool
	for _, n := range w.notes() {
		f := n.Fields["text"]
		if f == nil || f.Author != w.parent.ID {
			continue
		}
		found = true
		if f.Value != "Sí, allí estaré." {
			t.Errorf("reply text %q", f.Value)
		}
		if rt := n.Value("reply_to"); rt != noteID.String() {
			t.Errorf("reply_to %v, want %s", rt, noteID)
		}
		if l := n.Value("lang"); l != "es" {
			t.Errorf("lang %v", l)
		}
		if an := n.Value("author_name"); an != "Rosa García" {
			t.Errorf("author_name %v", an)
		}
	}
	if !found {
		t.Fatal("no note by the parent after the reply")
	}

	bogus := "reply+" + strings.Repeat("a", 32) + "@reply.school.example.org"
	err = smtp.SendMail(ln.Addr().String(), nil, "someone@example.org", []string{bogus}, []byte("Subject: x\r\n\r\nhello\r\n"))
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("an unmatched reply address: %v, want a 550", err)
	}
	if c := svc.Stats().RepliesRefused; c < 1 {
		t.Errorf("refusals counted %d", c)
	}

}
