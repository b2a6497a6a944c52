// Package uuid is the 16-byte identifier of every record, space, user and
// device, with the subset of github.com/google/uuid's API that Plansync
// uses, so that code reads the same as with that library.
//
// Why not github.com/google/uuid itself: its null.go imports encoding/json,
// and the browser build (GOOS=js) must not carry encoding/json: every
// package in a wasm binary is bytes a family on a prepaid plan pays for,
// and the design forbids it outright. UUIDv7 (RFC 9562, section 5.7) is a
// timestamp and random bits; parsing and printing are hex. That is less code
// than the workaround would be.
package uuid

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plansync/plansync/shared/wire"
)

// UUID is an RFC 9562 identifier.
type UUID [16]byte

// Nil is the zero UUID, meaning "none".
var Nil UUID

// Version is the UUID version number (7 for the ids Plansync makes).
type Version byte

// Variant is the UUID layout variant.
type Variant byte

// RFC4122 is the variant of every UUID made here (RFC 9562 keeps it).
const RFC4122 Variant = 1

// Version returns the version bits.
func (u UUID) Version() Version { return Version(u[6] >> 4) }

// Variant returns RFC4122 for the standard layout and 0 otherwise.
func (u UUID) Variant() Variant {
	if u[8]&0xc0 == 0x80 {
		return RFC4122
	}
	return 0
}

// String is the canonical 36-character lower-case form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Parse reads the canonical form (upper or lower case), with or without
// the "urn:uuid:" prefix or braces, or 32 hex digits without dashes.
func Parse(s string) (UUID, error) {
	var u UUID
	switch len(s) {
	case 45:
		if s[:9] != "urn:uuid:" {
			return Nil, fmt.Errorf("uuid: %q is not a UUID", s)
		}
		s = s[9:]
	case 38:
		if s[0] != '{' || s[37] != '}' {
			return Nil, fmt.Errorf("uuid: %q is not a UUID", s)
		}
		s = s[1:37]
	case 32:
		if _, err := hex.Decode(u[:], []byte(s)); err != nil {
			return Nil, fmt.Errorf("uuid: %q is not a UUID", s)
		}
		return u, nil
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return Nil, fmt.Errorf("uuid: %q is not a UUID", s)
	}
	var h [32]byte
	copy(h[0:8], s[0:8])
	copy(h[8:12], s[9:13])
	copy(h[12:16], s[14:18])
	copy(h[16:20], s[19:23])
	copy(h[20:], s[24:])
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return Nil, fmt.Errorf("uuid: %q is not a UUID", s)
	}
	return u, nil
}

// MustParse is Parse for constants; it panics on a malformed string.
func MustParse(s string) UUID {
	u, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// FromBytes makes a UUID of exactly 16 bytes.
func FromBytes(b []byte) (UUID, error) {
	var u UUID
	if len(b) != 16 {
		return Nil, fmt.Errorf("uuid: %d bytes, want 16", len(b))
	}
	copy(u[:], b)
	return u, nil
}

// Must returns u, or panics when err is set: for NewV7 in places where the
// system's random source failing is not survivable anyway.
func Must(u UUID, err error) UUID {
	if err != nil {
		panic(err)
	}
	return u
}

// New returns a random (version 4) UUID. Plansync makes v7 ids; v4 exists
// for tests that need an id that is not one.
func New() UUID {
	var u UUID
	if err := randomBytes(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// NewString returns New().String().
func NewString() string { return New().String() }

var v7 struct {
	sync.Mutex
	lastMs  int64
	counter uint16 // 12 bits of rand_a, reseeded each millisecond
}

// NewV7 returns a time-ordered UUID: 48 bits of Unix milliseconds, then
// random bits. Ids made by one process in the same millisecond still sort
// in creation order (RFC 9562 method 1: a counter in rand_a), which keeps
// badger's keys for one space's new records close together.
func NewV7() (UUID, error) {
	var u UUID
	if err := randomBytes(u[:]); err != nil {
		return Nil, err
	}
	ms := time.Now().UnixMilli()
	v7.Lock()
	if ms <= v7.lastMs {
		v7.counter++
		if v7.counter > 0x0fff { // counter exhausted: borrow the next millisecond
			v7.lastMs++
			v7.counter = uint16(u[6]&0x03)<<8 | uint16(u[7])
		}
		ms = v7.lastMs
	} else {
		v7.lastMs = ms
		v7.counter = uint16(u[6]&0x03)<<8 | uint16(u[7]) // start low enough to leave room
	}
	c := v7.counter
	v7.Unlock()
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | byte(c>>8)&0x0f
	u[7] = byte(c)
	u[8] = u[8]&0x3f | 0x80
	return u, nil
}

// Time returns the creation time of a version 7 UUID.
func (u UUID) Time() time.Time {
	ms := int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])
	return time.UnixMilli(ms).UTC()
}

var errLen = errors.New("uuid: encoded UUID is not 16 bytes")

// MarshalBinary is the 16 bytes.
func (u UUID) MarshalBinary() ([]byte, error) { return u[:], nil }

// UnmarshalBinary reads 16 bytes.
func (u *UUID) UnmarshalBinary(b []byte) error {
	if len(b) != 16 {
		return errLen
	}
	copy(u[:], b)
	return nil
}

// MarshalText is the canonical string (JSON APIs, logs).
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText parses the canonical string.
func (u *UUID) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*u = p
	return nil
}

// IsZero reports whether u is Nil. Encoders leave out an optional id that
// is Nil (the msgpack library's omitempty asks this method too).
func (u UUID) IsZero() bool { return u == Nil }

// EncodeWire writes the UUID as msgpack bin 16 (18 bytes), the form every
// golden file of format v1 holds.
func (u UUID) EncodeWire(w *wire.Writer) { w.Bin(u[:]) }

// DecodeWire reads bin 16, refusing any other length; nil reads as Nil (an
// absent id).
func (u *UUID) DecodeWire(r *wire.Reader) error {
	if ok, err := r.BinTo(u[:]); err != nil || !ok {
		*u = Nil
		return err
	}
	return nil
}

// MarshalMsgpack lets the msgpack library (the server's storage types)
// write the same 18 bytes.
func (u UUID) MarshalMsgpack() ([]byte, error) { return append([]byte{0xc4, 16}, u[:]...), nil }

// UnmarshalMsgpack reads what MarshalMsgpack writes.
func (u *UUID) UnmarshalMsgpack(b []byte) error { return wire.Unmarshal(b, u) }
