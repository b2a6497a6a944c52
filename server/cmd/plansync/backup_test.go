package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/crash"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testSeed returns PLANSYNC_SEED or a fresh seed, logging how to replay.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	s, err := crash.SeedFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d (replay: %s=%d)", s, crash.SeedEnv, s)
	return s
}

// dbState is everything a comparison of two databases looks at.
type dbState struct {
	Spaces  []*server.Space
	Members map[uuid.UUID][]server.Member
	Heads   map[uuid.UUID]uint64
	Users   map[uuid.UUID]*server.User
	// Sessions of the bench users.
	Sessions map[uuid.UUID][]*server.Session
	Records  map[record.Key]*record.Record
	History  map[record.Key][]server.LogEntry
}

// readDB reads a whole database, after checking every space's log.
func readDB(t *testing.T, dir string) *dbState {
	t.Helper()
	st, err := store.Open(dir, store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	d := &dbState{Members: map[uuid.UUID][]server.Member{}, Heads: map[uuid.UUID]uint64{}, Users: map[uuid.UUID]*server.User{},
		Sessions: map[uuid.UUID][]*server.Session{}, Records: map[record.Key]*record.Record{}, History: map[record.Key][]server.LogEntry{}}
	if d.Spaces, err = st.Spaces(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sp := range d.Spaces {
		if err := st.CheckLog(ctx, sp.ID); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if d.Heads[sp.ID], err = st.Head(ctx, sp.ID); err != nil {
			t.Fatal(err)
		}
		if d.Members[sp.ID], err = st.Members(ctx, sp.ID); err != nil {
			t.Fatal(err)
		}
		recs, err := st.AllRecords(ctx, sp.ID)
		if err != nil {
			t.Fatal(err)
		}
		for k, r := range recs {
			d.Records[k] = r
			if d.History[k], err = st.History(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := range benchauth.Users {
		id := benchauth.UserID(k)
		if d.Users[id], err = st.User(ctx, id); err != nil {
			t.Fatal(err)
		}
		if d.Sessions[id], err = st.Sessions(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// compareAt checks that got is src as it was at head: every log entry up to
// head, each record rebuilt from those entries, and nothing later.
func compareAt(t *testing.T, what string, got, src *dbState, head uint64) {
	t.Helper()
	sp := benchauth.SpaceID
	if got.Heads[sp] != head {
		t.Fatalf("%s: head %d, want %d", what, got.Heads[sp], head)
	}
	want := map[record.Key]*record.Record{}
	wantHist := map[record.Key][]server.LogEntry{}
	for k, h := range src.History {
		var rec *record.Record
		for _, e := range h {
			if e.Seq > head {
				break
			}
			next, out, err := record.Apply(rec, &e.Op)
			if err != nil || !out.Changed {
				t.Fatalf("%s: replaying seq %d: changed %v, %v", what, e.Seq, out.Changed, err)
			}
			rec = next
			rec.Seq = e.Seq
			wantHist[k] = append(wantHist[k], e)
		}
		if rec != nil {
			want[k] = rec
		}
	}
	if !reflect.DeepEqual(got.History, wantHist) {
		t.Fatalf("%s: the change log differs from the source's up to seq %d", what, head)
	}
	if len(got.Records) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got.Records), len(want))
	}
	for k, r := range want {
		if !reflect.DeepEqual(got.Records[k], r) {
			t.Fatalf("%s: record %s is %+v, want %+v", what, k.ID, got.Records[k], r)
		}
	}
	if !reflect.DeepEqual(got.Spaces, src.Spaces) || !reflect.DeepEqual(got.Members, src.Members) ||
		!reflect.DeepEqual(got.Users, src.Users) || !reflect.DeepEqual(got.Sessions, src.Sessions) {
		t.Fatalf("%s: spaces, members, users or sessions differ from the source", what)
	}
}

func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("plansync %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// TestBackupWhileServingAndRestore: clients write to a running server; a
// backup taken through the admin listener in the middle of the writes
// restores to exactly the source as of the backup's head (every record,
// the whole change log, accounts); a backup taken once the writers stopped
// and one taken from the stopped server's folder restore to exactly the
// source. Restore refuses a non-empty folder; the admin listener refuses a
// non-loopback address.
func TestBackupWhileServingAndRestore(t *testing.T) {
	seed := testSeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if b, err := app.OpenBench(ctx, filepath.Join(dir, "open"), "127.0.0.1:0", app.Config{Logger: quietLog(), AdminAddr: "0.0.0.0:0"}, io.Discard); err == nil {
		_ = b.Close(ctx)
		t.Fatal("admin listener accepted a non-loopback address")
	}
	a, err := app.OpenBench(ctx, filepath.Join(dir, "src"), "127.0.0.1:0", app.Config{Logger: quietLog(), AdminAddr: "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if a != nil {
			_ = a.Close(context.Background())
		}
	}()
	from, tokenFile := "http://"+a.AdminAddr(), a.AdminTokenFile()

	// Three clients edit a few records as fast as the server acks.
	const clients = 3
	engines := make([]*client.Engine, clients)
	for k := range engines {
		st, err := diskstore.Open(filepath.Join(dir, fmt.Sprintf("client%d", k)))
		if err != nil {
			t.Fatal(err)
		}
		e := client.New(client.Options{Store: st, Transport: &wsdial.Transport{URL: a.URL()}, Token: benchauth.Token(k)})
		if err := e.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close(); _ = st.Close() })
		engines[k] = e
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(k)))
			var ids []uuid.UUID
			for n := 0; n < 5000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if len(ids) < 10 && rng.IntN(3) == 0 || len(ids) == 0 {
					ids = append(ids, uuid.Must(uuid.NewV7()))
				}
				id := ids[rng.IntN(len(ids))]
				f := fmt.Sprintf("f%d", rng.IntN(3))
				if err := e.Put(ctx, benchauth.SpaceID, "notes", id, map[string]any{f: fmt.Sprintf("client %d edit %d", k, n)}); err != nil {
					t.Errorf("put: %v", err)
					return
				}
				time.Sleep(time.Duration(1+rng.IntN(4)) * time.Millisecond)
			}
		}()
	}
	for head := uint64(0); head < 200; time.Sleep(10 * time.Millisecond) {
		if head, err = a.Store.Head(ctx, benchauth.SpaceID); err != nil {
			t.Fatal(err)
		}
	}
	during := filepath.Join(dir, "during.backup")
	out := runCmd(t, "backup", "--from", from, "--token-file", tokenFile, "--out", during)
	t.Logf("while writing: %s", strings.TrimSpace(out))
	close(stop)
	wg.Wait()
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	for k, e := range engines {
		if err := e.WaitSynced(sctx); err != nil {
			t.Fatalf("client %d: %v", k, err)
		}
	}
	after := filepath.Join(dir, "after.backup")
	runCmd(t, "backup", "--from", from, "--token-file", tokenFile, "--out", after)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	a = nil
	srcDB := filepath.Join(dir, "src", "db")
	stopped := filepath.Join(dir, "stopped.backup")
	runCmd(t, "backup", "--data", srcDB, "--out", stopped)
	src := readDB(t, srcDB)
	head := src.Heads[benchauth.SpaceID]

	for _, c := range []struct{ name, file string }{{"after writes", after}, {"stopped server", stopped}} {
		restored := filepath.Join(dir, "restored-"+strings.ReplaceAll(c.name, " ", "-"))
		t.Logf("%s: %s", c.name, strings.TrimSpace(runCmd(t, "restore", "--keep-sessions", "--data", restored, "--in", c.file)))
		got := readDB(t, restored)
		if !reflect.DeepEqual(got, src) {
			t.Fatalf("%s: the restored database differs from the source", c.name)
		}
		compareAt(t, c.name, got, src, head)
	}
	restored := filepath.Join(dir, "restored-during")
	runCmd(t, "restore", "--keep-sessions", "--data", restored, "--in", during)
	got := readDB(t, restored)
	mid := got.Heads[benchauth.SpaceID]
	if mid < 200 || mid >= head {
		t.Fatalf("backup taken while writing holds head %d; writes went on to %d", mid, head)
	}
	compareAt(t, "during writes", got, src, mid)
	t.Logf("backup while writing: head %d of %d; %d records, %d users compared", mid, head, len(src.Records), len(src.Users))

	var errOut bytes.Buffer
	if err := run([]string{"restore", "--data", restored, "--in", during}, io.Discard, &errOut); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty folder: %v", err)
	}
}
