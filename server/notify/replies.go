package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Errors a reply is refused with; each has a clean answer at its door
// (an SMTP 550, an HTTP 404 or 429).
var (
	ErrReplyUnmatched = errors.New("this reply matches no message we sent (or its reply address expired)")
	ErrReplyLimited   = errors.New("too many replies: wait a minute and send again")
	ErrReplyEmpty     = errors.New("the reply has no text above the quoted message")
	ErrReplyForbidden = errors.New("the person may no longer write in this plan")
)

// maxReplyRunes is the notes' own limit (shared/plan: notes.text).
const maxReplyRunes = 8000

// Land writes a reply as a note of the token's person in the token's plan
// (answering the note the message was about), and returns the note's id.
// via names the door ("email", "sms") for the log.
func (s *Service) Land(ctx context.Context, rb *store.ReplyBinding, body, via string) (uuid.UUID, error) {
	now := s.o.Clock.Now()
	if !s.replyLimits.allow("user:"+rb.User.String(), now) {
		s.stats.refused.Add(1)
		return uuid.Nil, ErrReplyLimited
	}
	text := replyText(body)
	if text == "" {
		s.stats.refused.Add(1)
		return uuid.Nil, ErrReplyEmpty
	}
	if utf8.RuneCountInString(text) > maxReplyRunes {
		text = string([]rune(text)[:maxReplyRunes])
	}
	members, err := s.o.Store.Members(ctx, rb.Space)
	if err != nil {
		return uuid.Nil, err
	}
	role := roleMap(members)[rb.User]
	if role == "" || plan.AccessOf(plan.Student, "notes", string(role)).Write == plan.WriteNone {
		s.stats.refused.Add(1)
		return uuid.Nil, ErrReplyForbidden
	}
	u, err := s.o.Store.User(ctx, rb.User)
	if err != nil {
		return uuid.Nil, err
	}
	if u.Disabled {
		s.stats.refused.Add(1)
		return uuid.Nil, ErrReplyForbidden
	}
	lang := rb.Lang
	if !plan.ValidLanguageTag(lang) {
		lang = "und"
	}
	fields := map[string]any{"author_name": u.Name, "lang": lang, "kind": "update", "text": text}
	if rb.Item != uuid.Nil {
		fields["reply_to"] = rb.Item.String()
	}
	if err := plan.ValidateRecord(plan.Student, "notes", fields); err != nil {
		return uuid.Nil, fmt.Errorf("notify: reply is not a valid note: %w", err)
	}
	id := uuid.Must(uuid.NewV7())
	s.hlcMu.Lock()
	ts := s.hlc.Now()
	s.hlcMu.Unlock()
	op := record.Op{Space: rb.Space, Collection: "notes", ID: id, HLC: ts, Node: s.node, Author: rb.User}
	for _, k := range []string{"author_name", "kind", "lang", "reply_to", "text"} {
		if v, ok := fields[k]; ok {
			op.Writes = append(op.Writes, record.Write{Name: k, Value: v})
		}
	}
	if err := op.Validate(); err != nil {
		return uuid.Nil, err
	}
	res, err := s.o.Store.Commit(ctx, []record.Op{op})
	if err != nil {
		return uuid.Nil, err
	}
	if res[0].Err != nil {
		return uuid.Nil, res[0].Err
	}
	s.stats.replies.Add(1)
	s.log.Info("notify: reply landed as a note", "via", via, "user", rb.User, "space", rb.Space, "note", id)
	return id, nil
}

// replyAddrRe reads reply+TOKEN@domain.
var replyAddrRe = regexp.MustCompile(`^reply\+([a-z2-7]{32})@(.+)$`)

// ReplyServer receives email replies over SMTP (the reply domain's MX
// points at it), with go-smtp: a recipient that is not a live reply
// address is refused at RCPT with 550, before any message is taken.
func (s *Service) ReplyServer() *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		host, _, _ := net.SplitHostPort(c.Conn().RemoteAddr().String())
		return &replySession{s: s, client: host}, nil
	}))
	srv.Domain = s.o.ReplyDomain
	srv.MaxRecipients = 1
	srv.MaxMessageBytes = 256 << 10
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	return srv
}

type replySession struct {
	s      *Service
	client string
	rb     *store.ReplyBinding
}

func (r *replySession) Reset()        { r.rb = nil }
func (r *replySession) Logout() error { return nil }

func (r *replySession) Mail(from string, _ *smtp.MailOptions) error { return nil }

func smtpRefuse(code int, enh smtp.EnhancedCode, err error) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: err.Error()}
}

func (r *replySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s := r.s
	if !s.replyLimits.allow("client:"+r.client, s.o.Clock.Now()) {
		s.stats.refused.Add(1)
		return smtpRefuse(450, smtp.EnhancedCode{4, 7, 1}, ErrReplyLimited)
	}
	m := replyAddrRe.FindStringSubmatch(strings.ToLower(to))
	if m == nil || !strings.EqualFold(m[2], s.o.ReplyDomain) {
		s.stats.refused.Add(1)
		return smtpRefuse(550, smtp.EnhancedCode{5, 1, 1}, ErrReplyUnmatched)
	}
	rb, err := s.o.Store.ReplyToken(context.Background(), m[1], s.o.Clock.Now())
	if err != nil {
		s.stats.refused.Add(1)
		s.log.Info("notify: email reply refused: unmatched", "client", r.client)
		return smtpRefuse(550, smtp.EnhancedCode{5, 1, 1}, ErrReplyUnmatched)
	}
	r.rb = rb
	return nil
}

func (r *replySession) Data(rd io.Reader) error {
	if r.rb == nil {
		return smtpRefuse(554, smtp.EnhancedCode{5, 5, 1}, ErrReplyUnmatched)
	}
	msg, err := mail.ReadMessage(rd)
	if err != nil {
		return smtpRefuse(554, smtp.EnhancedCode{5, 6, 0}, fmt.Errorf("unreadable message: %w", err))
	}
	body, err := plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return smtpRefuse(554, smtp.EnhancedCode{5, 6, 0}, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch _, err := r.s.Land(ctx, r.rb, body, "email"); {
	case errors.Is(err, ErrReplyLimited):
		return smtpRefuse(450, smtp.EnhancedCode{4, 7, 1}, err)
	case errors.Is(err, ErrReplyEmpty), errors.Is(err, ErrReplyForbidden):
		return smtpRefuse(550, smtp.EnhancedCode{5, 7, 1}, err)
	case errors.Is(err, server.ErrUnavailable):
		return smtpRefuse(451, smtp.EnhancedCode{4, 3, 0}, errors.New("try again later"))
	case err != nil:
		r.s.log.Error("notify: landing an email reply", "err", err)
		return smtpRefuse(451, smtp.EnhancedCode{4, 3, 0}, errors.New("try again later"))
	}
	return nil
}

// plainText finds the text/plain part of a message body (the first, in
// a multipart message), decoded.
func plainText(ctype, cte string, body io.Reader) (string, error) {
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return "", fmt.Errorf("content type: %w", err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for range 20 {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			// NextPart decodes quoted-printable itself.
			if t, err := plainText(p.Header.Get("Content-Type"), "", p); err == nil && t != "" {
				return t, nil
			}
		}
		return "", errors.New("no plain text part")
	}
	if mt != "text/plain" {
		return "", nil
	}
	var r io.Reader = io.LimitReader(body, 256<<10)
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", errors.New("reply text is not UTF-8")
	}
	return string(b), nil
}
