package auth

import (
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	h := HashPassword("correct horse battery", DefaultParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the OWASP parameters", h)
	}
	if !VerifyPassword("correct horse battery", h) {
		t.Fatal("the right password does not verify")
	}
	if VerifyPassword("correct horse batterY", h) || VerifyPassword("", h) {
		t.Fatal("a wrong password verifies")
	}
	if h == HashPassword("correct horse battery", DefaultParams) {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestParseHash(t *testing.T) {
	cheap := Params{Memory: 64, Iterations: 1, Threads: 1}
	h := HashPassword("pw", cheap)
	p, err := ParseHash(h)
	if err != nil || p != cheap {
		t.Fatalf("ParseHash = %+v, %v; want %+v", p, err, cheap)
	}
	if !NeedsRehash(h, DefaultParams) || NeedsRehash(HashPassword("pw", DefaultParams), DefaultParams) {
		t.Fatal("NeedsRehash wrong")
	}
	parts := strings.Split(h, "$")
	bad := []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5] + "==",
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5] + "$",
	}
	for _, b := range bad {
		if _, err := ParseHash(b); err == nil {
			t.Errorf("ParseHash(%q) accepted", b)
		}
		if VerifyPassword("pw", b) {
			t.Errorf("VerifyPassword against %q succeeded", b)
		}
	}
}

func TestInviteCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := randomCode(inviteCodeLen)
		if len(c) != inviteCodeLen || strings.ContainsAny(c, "ILOU") {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Fatal("codes repeat")
	}
	if got := FormatCode("K7QM3XPD9R"); got != "K7QM-3XPD-9R" {
		t.Fatalf("FormatCode = %q", got)
	}
	for typed, want := range map[string]string{
		"K7QM-3XPD-9R":   "K7QM3XPD9R",
		"k7qm 3xpd 9r":   "K7QM3XPD9R",
		" k7qm-3xpd-9r ": "K7QM3XPD9R",
		"K7QM-3XPD-9r":   "K7QM3XPD9R",
		"OIL0-3XPD-9R":   "01103XPD9R",
	} {
		got, ok := NormalizeCode(typed)
		if !ok || got != want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", typed, got, ok, want)
		}
	}
	for _, bad := range []string{"", "K7QM-3XPD", "K7QM-3XPD-9RX", "U7QM-3XPD-9R", "K7QM-3XPD-9É", strings.Repeat("-", 1000)} {
		if _, ok := NormalizeCode(bad); ok {
			t.Errorf("NormalizeCode(%q) accepted", bad)
		}
	}
	if id, ok := InviteID("k7qm-3xpd-9r"); !ok || id != "K7QM" {
		t.Fatalf("InviteID = %q", id)
	}
}

func TestFamilyLogin(t *testing.T) {
	for name, prefix := range map[string]string{"Rosa García": "rosa-", "José": "jose-", "李华": "family-", "Ñ": "family-"} {
		l := familyLogin(name)
		if !strings.HasPrefix(l, prefix) || len(l) != len(prefix)+4 {
			t.Errorf("familyLogin(%q) = %q, want %s....", name, l, prefix)
		}
		if _, err := NormalizeLogin(l); err != nil {
			t.Errorf("familyLogin(%q) = %q is not a valid login: %v", name, l, err)
		}
	}
}
