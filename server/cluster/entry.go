package cluster

import (
	"bytes"
	"fmt"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// kind names what one log entry asks every node to do. The names are
// stored in the stream: never rename one, only add.
type kind string

const (
	kCommit             kind = "commit"
	kCreateUser         kind = "user.create"
	kPutUser            kind = "user.put"
	kCreateSpace        kind = "space.create"
	kPutMember          kind = "member.put"
	kDeleteMember       kind = "member.delete"
	kCreateSession      kind = "session.create"
	kDeleteSession      kind = "session.delete"
	kDeleteUserSessions kind = "session.delete_user"
	kTouchSession       kind = "session.touch"
	kBindDevice         kind = "device.bind"
	kCreateCredential   kind = "login.create"
	kSetCredentialHash  kind = "login.hash"
	kCreateInvite       kind = "invite.create"
	kFailInvite         kind = "invite.fail"
	kClaimInvite        kind = "invite.claim"
	kRevokeInvite       kind = "invite.revoke"
	kCreateSetupCode    kind = "setup.create"
	kUseSetupCode       kind = "setup.use"
	kPutSettings        kind = "settings.put"
)

// entry is one message of the log: a Commit call's ops, or one account
// write with its arguments. At is the proposing node's clock when it
// proposed: every node applies the entry with that as "now", so a
// decision that reads the clock (an op too far ahead, a binding's time)
// comes out the same everywhere.
type entry struct {
	Kind kind  `msgpack:"k"`
	At   int64 `msgpack:"t"` // unix milliseconds
	// Ops are wire-encoded record.Op (the encoding the op index digests).
	Ops [][]byte `msgpack:"o,omitempty"`

	User       *server.User           `msgpack:"u,omitempty"`
	Space      *server.Space          `msgpack:"s,omitempty"`
	Member     *server.Member         `msgpack:"m,omitempty"`
	Session    *server.Session        `msgpack:"se,omitempty"`
	Credential *server.Credential     `msgpack:"cr,omitempty"`
	Invite     *server.Invite         `msgpack:"i,omitempty"`
	Claim      *server.Claim          `msgpack:"cl,omitempty"`
	SetupCode  *server.SetupCode      `msgpack:"sc,omitempty"`
	Settings   *server.SchoolSettings `msgpack:"st,omitempty"`
	ID         uuid.UUID              `msgpack:"id,omitempty"`
	ID2        uuid.UUID              `msgpack:"id2,omitempty"`
	Hash       [32]byte               `msgpack:"h,omitempty"`
	Str        string                 `msgpack:"a,omitempty"`
	Str2       string                 `msgpack:"b,omitempty"`
	Time       time.Time              `msgpack:"tm,omitempty"`
	N          int                    `msgpack:"n,omitempty"`
}

func (e *entry) at() time.Time { return time.UnixMilli(e.At) }

func encodeEntry(e *entry) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("cluster: encoding %s entry: %w", e.Kind, err)
	}
	return buf.Bytes(), nil
}

// decodeEntry reads what encodeEntry wrote. Only Plansync nodes write the
// stream, but its bytes come off disks and a network: they are
// shape-checked first and a decoder panic is an error.
func decodeEntry(b []byte) (e *entry, err error) {
	if err := wire.CheckShape(b); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", wire.ErrShape, r)
		}
	}()
	e = new(entry)
	if err := msgpack.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrShape, err)
	}
	return e, nil
}

func encodeOps(ops []record.Op) ([][]byte, error) {
	out := make([][]byte, len(ops))
	for i := range ops {
		b, err := wire.Marshal(&ops[i])
		if err != nil {
			return nil, fmt.Errorf("cluster: encoding op: %w", err)
		}
		out[i] = b
	}
	return out, nil
}

func decodeOps(bs [][]byte) ([]record.Op, error) {
	ops := make([]record.Op, len(bs))
	for i, b := range bs {
		if err := wire.Unmarshal(b, &ops[i]); err != nil {
			return nil, fmt.Errorf("cluster: decoding op %d: %w", i, err)
		}
	}
	return ops, nil
}
