package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/wneessen/go-mail"
)

// Channel sends one message. Channels are configured by the operator;
// a server with none still queues nothing it cannot send (the call list).
type Channel interface {
	// Name is the channel's name in preferences (ChanEmail, ...).
	Name() string
	// Send hands msg to the channel. An error wrapping ErrPermanent will
	// not get better by retrying (a refused address); any other is
	// retried with backoff.
	Send(ctx context.Context, msg *Message) error
	// Idempotent reports whether sending the same Message.Key twice
	// reaches the person once, so that a message the server may have
	// sent before a crash can be sent again safely.
	Idempotent() bool
}

// ErrPermanent marks a send that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// EmailConfig is the operator's SMTP relay.
type EmailConfig struct {
	Host     string
	Port     int    // 587 when zero
	Username string // no authentication when empty
	Password string
	From     string // the From address
	// TLS is "mandatory" (STARTTLS, the default), "opportunistic" or
	// "none" (a relay on the same host).
	TLS     string
	Timeout time.Duration
}

// Email sends through an SMTP relay with go-mail.
type Email struct{ cfg EmailConfig }

// NewEmail checks cfg and returns the channel.
func NewEmail(cfg EmailConfig) (*Email, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, errors.New("notify: email needs a relay host and a From address")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Email{cfg: cfg}, nil
}

func (*Email) Name() string { return ChanEmail }

// Idempotent is false: the Message-ID is stable across attempts, but few
// mailboxes drop a repeat by it.
func (*Email) Idempotent() bool { return false }

func (e *Email) Send(ctx context.Context, msg *Message) error {
	m := mail.NewMsg()
	if err := m.From(e.cfg.From); err != nil {
		return fmt.Errorf("notify: email From: %w", err)
	}
	if err := m.To(msg.To); err != nil {
		return fmt.Errorf("notify: email address: %v: %w", err, ErrPermanent)
	}
	if msg.ReplyTo != "" {
		if err := m.ReplyTo(msg.ReplyTo); err != nil {
			return fmt.Errorf("notify: email Reply-To: %w", err)
		}
	}
	m.Subject(msg.Subject)
	m.SetMessageIDWithValue(msg.Key + "@plansync")
	m.SetDate()
	m.SetGenHeader(mail.HeaderContentLang, msg.Lang)
	if msg.Urgent {
		m.SetImportance(mail.ImportanceHigh)
	}
	m.SetBodyString(mail.TypeTextPlain, msg.Text)
	opts := []mail.Option{mail.WithTimeout(e.cfg.Timeout)}
	switch e.cfg.TLS {
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	opts = append(opts, mail.WithPort(e.cfg.Port))
	if e.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(e.cfg.Username), mail.WithPassword(e.cfg.Password))
	}
	c, err := mail.NewClient(e.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("notify: email client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("notify: sending email: %w", err)
	}
	return nil
}

// PushConfig is the server's VAPID identity (RFC 8292).
type PushConfig struct {
	PublicKey, PrivateKey string // base64url, as webpush.GenerateVAPIDKeys makes them
	Subscriber            string // a mailto: or https: contact for push services
	HTTPClient            *http.Client
}

// Push sends Web Push messages (RFC 8030), encrypted for the subscription
// (RFC 8291) and signed with VAPID, with webpush-go.
type Push struct{ cfg PushConfig }

// NewPush checks cfg and returns the channel.
func NewPush(cfg PushConfig) (*Push, error) {
	if cfg.PublicKey == "" || cfg.PrivateKey == "" || cfg.Subscriber == "" {
		return nil, errors.New("notify: push needs VAPID keys and a subscriber contact")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Push{cfg: cfg}, nil
}

func (*Push) Name() string { return ChanPush }

// PublicKey is the VAPID public key a browser subscribes with.
func (p *Push) PublicKey() string { return p.cfg.PublicKey }

// Idempotent is true: the Topic header (from the message key) makes a
// push service replace an undelivered repeat, and the service worker
// shows one notification per tag.
func (*Push) Idempotent() bool { return true }

// pushBody is what the service worker receives: the words and the link,
// nothing else.
type pushBody struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
	Tag   string `json:"tag"`
	Lang  string `json:"lang"`
}

func (p *Push) Send(ctx context.Context, msg *Message) error {
	var sub webpush.Subscription
	if err := json.Unmarshal([]byte(msg.To), &sub); err != nil {
		return fmt.Errorf("notify: push subscription: %v: %w", err, ErrPermanent)
	}
	body, err := json.Marshal(pushBody{Title: msg.Subject, Body: msg.Text, URL: msg.Link, Tag: topic(msg.Key), Lang: msg.Lang})
	if err != nil {
		return err
	}
	urgency := webpush.UrgencyNormal
	if msg.Urgent {
		urgency = webpush.UrgencyHigh
	}
	resp, err := webpush.SendNotificationWithContext(ctx, body, &sub, &webpush.Options{
		HTTPClient:      p.cfg.HTTPClient,
		Subscriber:      p.cfg.Subscriber,
		Topic:           topic(msg.Key),
		TTL:             int((7 * 24 * time.Hour).Seconds()),
		Urgency:         urgency,
		VAPIDPublicKey:  p.cfg.PublicKey,
		VAPIDPrivateKey: p.cfg.PrivateKey,
	})
	if err != nil {
		return fmt.Errorf("notify: push: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		// RFC 8030 §7.3: the subscription is gone.
		return fmt.Errorf("notify: push subscription expired (%d): %w", resp.StatusCode, ErrPermanent)
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("notify: push service refused (%d): %w", resp.StatusCode, ErrPermanent)
	case resp.StatusCode >= 300:
		return fmt.Errorf("notify: push service answered %d", resp.StatusCode)
	}
	return nil
}

// topic is an RFC 8030 Topic (at most 32 URL-safe base64 characters) for
// a message key.
func topic(key string) string {
	h := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h[:24])
}
