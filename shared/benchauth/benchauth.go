// Package benchauth is the agreement between the server's bench mode and the
// load generator: which space they share and how the load generator derives
// the session tokens of the users bench mode creates. It exists so that the
// benchmark harness needs no extra step to pass credentials around; it must
// never be used outside bench mode, since anyone can derive these tokens.
package benchauth

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/plansync/plansync/shared/uuid"
)

// Users is how many users bench mode creates: enough for the largest
// fan-out workload (200 clients) with room to spare.
const Users = 256

// SpaceID is the one space every bench user belongs to.
var SpaceID = uuid.MustParse("0190b000-0000-7000-8000-00000000be00")

// UserID returns the id of bench user k (0 <= k < Users).
func UserID(k int) uuid.UUID {
	sum := sha256.Sum256([]byte("plansync-bench-user/" + strconv.Itoa(k)))
	id, _ := uuid.FromBytes(sum[:16])
	id[6] = (id[6] & 0x0f) | 0x70 // version 7 layout, so ids look like every other id
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

// Token returns the session token of bench user k.
func Token(k int) string {
	sum := sha256.Sum256([]byte("plansync-bench-token/" + strconv.Itoa(k)))
	return "bench_" + hex.EncodeToString(sum[:16])
}
