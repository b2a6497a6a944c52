package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/benchauth"
)

// benchDevicesPerUser is the device bound in bench mode: more device ids
// than any sequence of benchmark runs against one server uses.
const benchDevicesPerUser = 1 << 20

// benchConns is every connection cap in bench mode: more sockets than
// the machine running a benchmark can open.
const benchConns = 1 << 20

// BenchReady is the first line bench mode prints on stdout.
type BenchReady struct {
	Ready    bool              `json:"ready"`
	Addr     string            `json:"addr"`
	Versions map[string]string `json:"versions"`
}

// OpenBench starts the real server, with its real durability, for the
// benchmark harness: badger in dataDir/db, the bench space and
// benchauth.Users users with derivable tokens (see shared/benchauth), and
// the ready line on out.
func OpenBench(ctx context.Context, dataDir, listen string, cfg Config, out io.Writer) (*App, error) {
	cfg.DataDir = filepath.Join(dataDir, "db")
	cfg.Addr = listen
	cfg.Seed = false
	if cfg.Hub.MaxDevicesPerUser == 0 {
		// The load generator opens a fresh store, so a fresh device id, for
		// each run as the same few bench users: repeated runs against one
		// bench server would meet the per-user device bound, which guards
		// against members minting ids, not against a benchmark.
		cfg.Hub.MaxDevicesPerUser = benchDevicesPerUser
	}
	// The load generator opens its sockets from one address as a few
	// users (benchauth.Users): the caps guard a school against strangers
	// and runaway tabs, not against a benchmark, so they are raised far
	// above any load it generates (the process cap too: bench mode
	// measures how many sockets one server holds).
	for _, n := range []*int{&cfg.Hub.MaxConns, &cfg.Hub.MaxConnsPerAddr, &cfg.Hub.MaxConnsPerUser, &cfg.Hub.MaxConnsPerSession} {
		if *n == 0 {
			*n = benchConns
		}
	}
	// Benchmarks measure the sync path, so runs of any length must not meet
	// the storage quotas, which bound people, not benchmarks.
	if cfg.Store.SpaceQuota == 0 {
		cfg.Store.SpaceQuota = -1
	}
	if cfg.Store.UserQuota == 0 {
		cfg.Store.UserQuota = -1
	}
	a, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := seedBench(ctx, a.Shared()); err != nil {
		_ = a.Close(ctx)
		return nil, fmt.Errorf("bench setup: %w", err)
	}
	line, _ := json.Marshal(BenchReady{Ready: true, Addr: a.Addr(), Versions: map[string]string{"plansync": Version}})
	if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
		_ = a.Close(ctx)
		return nil, err
	}
	return a, nil
}

func seedBench(ctx context.Context, st server.Store) error {
	now := time.Now().UTC()
	var err error
	if _, serr := st.Space(ctx, benchauth.SpaceID); serr == nil {
		// A restart (a read: in cluster mode it needs no quorum).
		err = server.ErrExists
	} else {
		err = st.CreateSpace(ctx, &server.Space{ID: benchauth.SpaceID, Name: "bench", Kind: server.KindGeneral, Created: now})
	}
	if errors.Is(err, server.ErrExists) {
		// Made already, or being made by another node of a cluster
		// started at the same time: ready once the last session is.
		last := server.HashToken(benchauth.Token(benchauth.Users - 1))
		for range 300 {
			if _, err := st.Session(ctx, last); err == nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return errors.New("the bench space exists but its users were not made within 30s")
	} else if err != nil {
		return err
	}
	for k := 0; k < benchauth.Users; k++ {
		u := &server.User{ID: benchauth.UserID(k), Name: fmt.Sprintf("bench user %d", k), Created: now}
		if err := st.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := st.PutMember(ctx, server.Member{Space: benchauth.SpaceID, User: u.ID, Role: server.RoleTeacher}); err != nil {
			return err
		}
		s := &server.Session{Hash: server.HashToken(benchauth.Token(k)), User: u.ID, Created: now, Expires: now.Add(SessionLifetime), Label: "bench"}
		if err := st.CreateSession(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
