package auth

import (
	"crypto/rand"
	"strings"
)

// Invite codes are typed by people reading them off paper or a phone, often
// in a second language, so they use Crockford's base32 alphabet: digits and
// letters without I, L, O and U, which read like 1, 1, 0 and V (or spell
// words). Input is forgiving: case, dashes and spaces are ignored and the
// confusable letters are read as the digits they look like.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Code layout: InviteIDLen characters that look the invite up, then
// InviteSecretLen characters that prove it. Both parts are random, so the
// whole code carries (InviteIDLen+InviteSecretLen)*5 = 50 bits; splitting it
// lets the server count wrong secrets per invite and burn an invite after
// MaxInviteFailures, which a code looked up only by its hash cannot do.
const (
	InviteIDLen     = 4 // characters, 20 bits
	InviteSecretLen = 6 // characters, 30 bits
	inviteCodeLen   = InviteIDLen + InviteSecretLen
)

// randomCode returns n random characters of codeAlphabet.
func randomCode(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[b[i]&31] // 256 is a multiple of 32: no bias
	}
	return string(b)
}

// FormatCode groups a code for reading aloud: "K7QM-3XPD-9R".
func FormatCode(code string) string {
	var sb strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// NormalizeCode turns what someone typed into the canonical code: upper
// case, no dashes or spaces, I and L read as 1, O as 0. It reports false
// when the result cannot be a code (wrong length, U or other characters).
func NormalizeCode(typed string) (string, bool) {
	if len(typed) > 4*inviteCodeLen {
		return "", false
	}
	var sb strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '.':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		}
		if r > 127 || strings.IndexByte(codeAlphabet, byte(r)) < 0 {
			return "", false
		}
		sb.WriteRune(r)
	}
	c := sb.String()
	return c, len(c) == inviteCodeLen
}
