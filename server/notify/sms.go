package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// SMSProvider is an operator's text-message gateway. None is bundled: the
// operator names one (TwilioStyle speaks the most common HTTP API) and
// pays for it.
type SMSProvider interface {
	// SendSMS sends text to an E.164 number. key is the same for every
	// attempt at one message.
	SendSMS(ctx context.Context, to, text, key string) error
	// VerifyInbound checks that an inbound webhook request came from the
	// provider, given the public URL it was configured with and the
	// parsed form.
	VerifyInbound(r *http.Request, publicURL string) bool
}

// SMS is the text-message channel over a provider.
type SMS struct{ P SMSProvider }

func (SMS) Name() string { return ChanSMS }

// Idempotent is false: the common providers take no idempotency key for
// sending, so a message that may have gone out before a crash is not
// sent again.
func (SMS) Idempotent() bool { return false }

// maxSMSRunes keeps a message within three concatenated segments.
const maxSMSRunes = 300

func (s SMS) Send(ctx context.Context, msg *Message) error {
	text := msg.Text
	if r := []rune(text); len(r) > maxSMSRunes {
		// A digest too long for a text: its first lines and the app.
		cut := max(maxSMSRunes-len([]rune(msg.Link))-2, 0)
		text = string(r[:cut]) + "…\n" + msg.Link
	}
	return s.P.SendSMS(ctx, msg.To, text, msg.Key)
}

// TwilioStyle speaks the HTTP API that Twilio introduced and several
// providers copy: a form POST to Accounts/{sid}/Messages.json with basic
// auth, and inbound webhooks signed with X-Twilio-Signature.
type TwilioStyle struct {
	// BaseURL is the API root, such as https://api.twilio.com (a test
	// passes its own server's).
	BaseURL    string
	AccountSID string
	AuthToken  string
	From       string // the sending number or messaging service
	HTTPClient *http.Client
}

func (t *TwilioStyle) client() *http.Client {
	if t.HTTPClient != nil {
		return t.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (t *TwilioStyle) SendSMS(ctx context.Context, to, text, key string) error {
	form := url.Values{"To": {to}, "From": {t.From}, "Body": {text}}
	u := strings.TrimRight(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Providers that honour an idempotency header drop a repeat; the
	// others ignore it.
	req.Header.Set("Idempotency-Key", key)
	resp, err := t.client().Do(req)
	if err != nil {
		return fmt.Errorf("notify: sms provider: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var pe struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &pe)
	err = fmt.Errorf("notify: sms provider answered %d (code %d: %s)", resp.StatusCode, pe.Code, pe.Message)
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", err, ErrPermanent)
	}
	return err
}

// VerifyInbound checks X-Twilio-Signature: base64 HMAC-SHA1, keyed with
// the auth token, of the public URL followed by every POST parameter's
// name and value, sorted by name. r's form must be parsed.
func (t *TwilioStyle) VerifyInbound(r *http.Request, publicURL string) bool {
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Twilio-Signature"))
	if err != nil || len(got) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(got, twilioSignature(t.AuthToken, publicURL, r.PostForm)) == 1
}

func twilioSignature(token, publicURL string, form url.Values) []byte {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(publicURL))
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range form[k] {
			mac.Write([]byte(k + v))
		}
	}
	return mac.Sum(nil)
}

// SignTwilio returns the signature a Twilio-style provider would send,
// for tests and for operators checking their configuration.
func SignTwilio(token, publicURL string, form url.Values) string {
	return base64.StdEncoding.EncodeToString(twilioSignature(token, publicURL, form))
}

var errUnsigned = errors.New("inbound message not signed by the provider")
