package store

import (
	"encoding/binary"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Key layout: one prefix byte per kind, then fixed-width ids, so that every
// kind is one contiguous, prefix-iterable key range. Collection names cannot
// contain 0x00 (record.ValidName), so the 0x00 after a collection ends it
// unambiguously. Sequence numbers are big-endian so that byte order is
// numeric order.
const (
	kindRecord     byte = 'r' // r|space|collection|0x00|id -> record.Marshal
	kindLog        byte = 'l' // l|space|seq -> server.LogEntry
	kindHistory    byte = 'h' // h|space|collection|0x00|id|seq -> empty
	kindHead       byte = 'q' // q|space -> seq (8 bytes, big-endian)
	kindUser       byte = 'u' // u|id -> server.User
	kindSpace      byte = 's' // s|id -> server.Space
	kindMember     byte = 'm' // m|space|user -> role
	kindMembership byte = 'M' // M|user|space -> role (reverse of m)
	kindSession    byte = 't' // t|sha256(token) -> server.Session
	kindUserSess   byte = 'T' // T|user|sha256(token) -> empty (index of t, same TTL)
	kindLogin      byte = 'a' // a|login -> server.Credential
	kindInvite     byte = 'i' // i|invite id -> server.Invite (TTL: its expiry + InviteKeep)
	kindSetup      byte = 'p' // p|sha256(code) -> server.SetupCode (TTL: its expiry)
	kindSettings   byte = 'g' // g|school -> server.SchoolSettings
	kindOp         byte = 'o' // o|space|node|hlc -> seq (8) | opDigest (16)
	kindDevice     byte = 'd' // d|device -> deviceBinding (TTL: its session's expiry)
	kindUserDevice byte = 'D' // D|user|device -> empty (index of d, same TTL)
	kindSpaceInv   byte = 'I' // I|space|invite id -> empty (index of i, same TTL)
	kindBindGuard  byte = 'G' // G|user -> empty: every new binding of the user rewrites it (BindDevice)
	kindSpaceUsage byte = 'b' // b|space -> bytes charged to its quota (8, big-endian)
	kindUserUsage  byte = 'B' // B|user -> bytes charged to their quota (8, big-endian)
	kindMark       byte = 'z' // z|name -> a position in an outside log applied here (8, big-endian; server/cluster)
	// n e N w y Y f F: the notification outbox, preferences and reply
	// tokens (outbox_notify.go).
)

const (
	idLen  = 16 // bytes of a uuid
	seqLen = 8  // bytes of a big-endian sequence number
)

// recordKey is r|space|collection|0x00|id.
func recordKey(k record.Key) []byte {
	b := make([]byte, 0, 1+idLen+len(k.Collection)+1+idLen)
	b = append(b, kindRecord)
	return appendRecordKey(b, k)
}

func appendRecordKey(b []byte, k record.Key) []byte {
	b = append(b, k.Space[:]...)
	b = append(b, k.Collection...)
	b = append(b, 0)
	return append(b, k.ID[:]...)
}

// historyPrefix is h|space|collection|0x00|id|, the range of one record's
// history index.
func historyPrefix(k record.Key) []byte {
	b := make([]byte, 0, 1+idLen+len(k.Collection)+1+idLen+seqLen)
	b = append(b, kindHistory)
	return appendRecordKey(b, k)
}

// historyKey is historyPrefix(k)|seq.
func historyKey(k record.Key, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(k), seq)
}

// logPrefix is l|space|, the range of one space's log.
func logPrefix(space uuid.UUID) []byte {
	b := make([]byte, 0, 1+idLen+seqLen)
	b = append(b, kindLog)
	return append(b, space[:]...)
}

// logKey is l|space|seq.
func logKey(space uuid.UUID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(logPrefix(space), seq)
}

// seqSuffix reads the big-endian sequence number that ends a log or
// history key.
func seqSuffix(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(key)-seqLen:])
}

func encodeSeq(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// idKey is kind|id, for heads, users, spaces.
func idKey(kind byte, id uuid.UUID) []byte {
	return append([]byte{kind}, id[:]...)
}

// pairKey is kind|a|b, for members (space, user) and memberships (user,
// space).
func pairKey(kind byte, a, b uuid.UUID) []byte {
	k := make([]byte, 0, 1+2*idLen)
	k = append(k, kind)
	k = append(k, a[:]...)
	return append(k, b[:]...)
}

func sessionKey(hash [32]byte) []byte {
	return append([]byte{kindSession}, hash[:]...)
}

// userSessionKey is T|user|hash, the index that lists a user's sessions.
func userSessionKey(user uuid.UUID, hash [32]byte) []byte {
	k := make([]byte, 0, 1+idLen+len(hash))
	k = append(k, kindUserSess)
	k = append(k, user[:]...)
	return append(k, hash[:]...)
}

// loginKey is a|login. Logins are normalized (lowercase) by the auth layer
// before they reach the store.
func loginKey(login string) []byte { return append([]byte{kindLogin}, login...) }

func inviteKey(id string) []byte { return append([]byte{kindInvite}, id...) }

// spaceInviteKey is I|space|id: a space's invites are listed from their
// own range, not found among every invite of the server.
func spaceInviteKey(space uuid.UUID, id string) []byte {
	return append(idKey(kindSpaceInv, space), id...)
}

// opKey is o|space|node|hlc, the op index: which log entry holds the op a
// device wrote at a clock. It is what lets the store say "already applied"
// only of the same op (see Store.merge).
func opKey(space, node uuid.UUID, ts uint64) []byte {
	k := make([]byte, 0, 1+2*idLen+seqLen)
	k = append(k, kindOp)
	k = append(k, space[:]...)
	k = append(k, node[:]...)
	return binary.BigEndian.AppendUint64(k, ts)
}
