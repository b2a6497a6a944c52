package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// failingUsers is a store whose User lookup fails for a reason other than
// the user being gone (a disk error, say).
type failingUsers struct{ server.Store }

var errDisk = errors.New("disk on fire")

func (failingUsers) User(context.Context, uuid.UUID) (*server.User, error) { return nil, errDisk }

// OnCommit is dropped: the env's own hub keeps the store's one hook.
func (failingUsers) OnCommit(func([]server.Committed)) {}

// TestHelloStoreErrorIsInternal: a store that fails while looking the user
// up must not tell the client to sign in again (clients stop syncing for
// good on unauthorized) but answer internal, which clients retry.
func TestHelloStoreErrorIsInternal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	_, tok := e.user("Ana")
	h := hub.New(hub.Options{Store: failingUsers{e.a.Store}, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})

	c := dialURL(t, "ana", &dialer, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: tok})
	c.expectFatal(protocol.CodeInternal)

	// A token with no session is still unauthorized.
	c = dialURL(t, "stranger", &dialer, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	c.send(&protocol.Hello{Protocol: protocol.Version, Client: c.id, Token: "pst_not-a-token"})
	c.expectFatal(protocol.CodeUnauthorized)
}
