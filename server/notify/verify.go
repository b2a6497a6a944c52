package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// An address a person types is theirs only once they enter the code the
// server sent to it: until then no message goes there, so a plan's news
// cannot be pointed at a stranger's inbox or phone, and the codes cost
// the school a message each (rate-limited with the replies).
const (
	verifyTTL      = 30 * time.Minute
	verifyMaxTries = 5
)

// verifyCode is the code waiting for one address.
type verifyCode struct {
	Channel string    `json:"channel"`
	Addr    string    `json:"addr"`
	Hash    string    `json:"hash"` // hex SHA-256 of the code
	Expires time.Time `json:"expires"`
	Tries   int       `json:"tries,omitempty"`
}

func hashCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}

// startVerify sends a code to a new, unverified email address or phone
// number (email first when both changed; the other after) and records it
// in p.
func (s *Service) startVerify(ctx context.Context, u *server.User, p *Prefs) error {
	var ch, addr string
	switch {
	case p.Email != "" && !p.EmailVerified && s.chans[ChanEmail] != nil:
		ch, addr = ChanEmail, p.Email
	case p.Phone != "" && !p.PhoneVerified && s.chans[ChanSMS] != nil:
		ch, addr = ChanSMS, p.Phone
	default:
		if p.Verify != nil && address(&Prefs{Email: p.Email, Phone: p.Phone, EmailVerified: true, PhoneVerified: true}, p.Verify.Channel) != p.Verify.Addr {
			p.Verify = nil // the address it was for is gone
		}
		return nil
	}
	if p.Verify != nil && p.Verify.Channel == ch && p.Verify.Addr == addr && s.o.Clock.Now().Before(p.Verify.Expires) {
		return nil // sent already; the person enters it
	}
	if !s.replyLimits.allow("verify:"+u.ID.String(), s.o.Clock.Now()) {
		return protocol.Errorf(protocol.CodeRateLimited, "too many codes sent: wait a minute and try again")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	lang := catalogLang(p.Lang)
	msg := &Message{To: addr, Lang: lang, Subject: tr(lang, "verify_subject"), Text: fmt.Sprintf(tr(lang, "verify"), code),
		Link: s.o.BaseURL, Key: "verify-" + hashCode(code + addr)[:16]}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := s.chans[ch].Send(sctx, msg); err != nil {
		s.log.Warn("notify: sending a verification code", "user", u.ID, "channel", ch, "err", err)
		return protocol.Errorf(protocol.CodeUnavailable, "the code could not be sent to "+addr+": check it and try again later")
	}
	s.log.Info("notify: verification code sent", "user", u.ID, "channel", ch)
	p.Verify = &verifyCode{Channel: ch, Addr: addr, Hash: hashCode(code), Expires: s.o.Clock.Now().Add(verifyTTL)}
	return nil
}

// verifyPrefs takes {code}: the address the code was sent to becomes
// verified. A wrong code counts; five, or an expired code, end it.
func (s *Service) verifyPrefs(w http.ResponseWriter, r *http.Request, pr *auth.Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var in struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.fail(w, protocol.Errorf(protocol.CodeInvalid, "send {\"code\": \"123456\"}"))
		return
	}
	p, err := s.prefs(r.Context(), pr.User.ID, uuid.Nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	v := p.Verify
	if v == nil || !s.o.Clock.Now().Before(v.Expires) || v.Tries >= verifyMaxTries {
		p.Verify = nil
		_ = s.savePrefs(r.Context(), pr.User.ID, p)
		s.fail(w, protocol.Errorf(auth.CodeNotFound, "no code is waiting, or it expired: save the address again for a new one"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(hashCode(in.Code)), []byte(v.Hash)) != 1 {
		v.Tries++
		if err := s.savePrefs(r.Context(), pr.User.ID, p); err != nil {
			s.fail(w, err)
			return
		}
		s.fail(w, protocol.Errorf(protocol.CodeForbidden, "that is not the code we sent"))
		return
	}
	switch {
	case v.Channel == ChanEmail && v.Addr == p.Email:
		p.EmailVerified = true
	case v.Channel == ChanSMS && v.Addr == p.Phone:
		p.PhoneVerified = true
	}
	p.Verify = nil
	// The other address may be waiting for its own code.
	if err := s.startVerify(r.Context(), pr.User, p); err != nil {
		s.log.Warn("notify: sending the next verification code", "err", err)
	}
	if err := s.savePrefs(r.Context(), pr.User.ID, p); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.prefsJSON(p))
}
