package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommendation for argon2id (Password
// Storage Cheat Sheet): 19 MiB of memory, 2 passes, 1 lane. Each hash
// records its parameters, so raising these later leaves old hashes
// verifiable (and NeedsRehash says when to upgrade one at the next login).
const (
	DefaultMemoryKiB  = 19 * 1024 // KiB of memory per hash (19 MiB)
	DefaultIterations = 2         // passes over the memory
	DefaultThreads    = 1         // lanes
	SaltBytes         = 16        // random salt per hash
	KeyBytes          = 32        // derived key length
)

// Bounds on parameters read from a stored hash, so that a corrupted or
// hostile hash string cannot make verification allocate gigabytes or spin.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
	maxThreads    = 16
	maxKeyBytes   = 128
	maxSaltBytes  = 64
)

// Password lengths. The lower bound follows NIST SP 800-63B (8); the upper
// one bounds the work a request can ask of the hasher.
const (
	MinPasswordLen   = 8    // characters (runes)
	MaxPasswordBytes = 1024 // bytes
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory     uint32 // KiB
	Iterations uint32
	Threads    uint8
}

// DefaultParams are the parameters new hashes use.
var DefaultParams = Params{Memory: DefaultMemoryKiB, Iterations: DefaultIterations, Threads: DefaultThreads}

// ErrBadHash means a stored hash string is not an argon2id PHC string this
// code can read.
var ErrBadHash = errors.New("auth: not an argon2id hash")

// HashPassword returns the PHC string of password hashed with argon2id
// under p and a fresh random salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64 without padding>$<key>
func HashPassword(password string, p Params) string {
	salt := make([]byte, SaltBytes)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Threads, KeyBytes)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decoded is a parsed PHC string.
type decoded struct {
	Params
	salt, key []byte
}

// ParseHash reads the parameters of a PHC argon2id string.
func ParseHash(phc string) (Params, error) {
	d, err := parseHash(phc)
	return d.Params, err
}

func parseHash(phc string) (decoded, error) {
	var d decoded
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return d, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return d, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	var m, t, p uint64
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] {
		return d, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	if m < 8 || m > maxMemoryKiB || t < 1 || t > maxIterations || p < 1 || p > maxThreads || m < 8*p {
		return d, fmt.Errorf("%w: parameters out of range %q", ErrBadHash, parts[3])
	}
	d.Params = Params{Memory: uint32(m), Iterations: uint32(t), Threads: uint8(p)}
	var err error
	if d.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(d.salt) < 8 || len(d.salt) > maxSaltBytes {
		return d, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if d.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(d.key) < 16 || len(d.key) > maxKeyBytes {
		return d, fmt.Errorf("%w: key", ErrBadHash)
	}
	return d, nil
}

// VerifyPassword reports whether password matches the PHC string, comparing
// in constant time. A malformed hash verifies nothing.
func VerifyPassword(password, phc string) bool {
	d, err := parseHash(phc)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), d.salt, d.Iterations, d.Memory, d.Threads, uint32(len(d.key)))
	return subtle.ConstantTimeCompare(key, d.key) == 1
}

// NeedsRehash reports whether a hash was made with parameters weaker than p,
// so that Login stores a fresh hash after the password checked out.
func NeedsRehash(phc string, p Params) bool {
	got, err := ParseHash(phc)
	return err != nil || got.Memory < p.Memory || got.Iterations < p.Iterations || got.Threads < p.Threads
}

// dummyHash is verified against when a login does not exist, so that a
// wrong login costs the same time as a wrong password and timing does not
// tell which logins exist.
var dummyHash = HashPassword("plansync dummy password", DefaultParams)
