package crash

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Environment of the child process of TestClientKilledBeforeSendingLosesNothing.
const (
	childDirEnv = "PLANSYNC_CRASH_CLIENT_DIR"
	childURLEnv = "PLANSYNC_CRASH_CLIENT_URL"
)

// TestClientKilledBeforeSendingLosesNothing: a client process makes edits
// offline (each is in its on-disk outbox when Put returns, and nothing is
// sent) and is killed with SIGKILL. A new process opens the same store,
// connects to the real server and syncs: every edit reaches the server,
// once.
func TestClientKilledBeforeSendingLosesNothing(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		clientChild(dir, os.Getenv(childURLEnv))
		return
	}
	s := seed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	listen, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(ctx, serverBinary(t), filepath.Join(dir, "server"), listen, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if srv != nil {
			srv.kill()
		}
	}()
	clientDir := filepath.Join(dir, "client")
	url := "ws://" + listen + "/sync"

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestClientKilledBeforeSendingLosesNothing$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+clientDir, childURLEnv+"="+url, fmt.Sprintf("%s=%d", SeedEnv, s))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type edit struct {
		key   record.Key
		value string
	}
	var edits []edit
	sc := bufio.NewScanner(out)
	ready := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "ready" {
			ready = true
			break
		}
		if len(f) == 3 && f[0] == "edit" {
			id, err := uuid.Parse(f[1])
			if err != nil {
				t.Fatal(err)
			}
			edits = append(edits, edit{record.Key{Space: benchauth.SpaceID, Collection: Collection, ID: id}, f[2]})
		}
	}
	// Killed while idle with everything in its outbox: no Close, no flush.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !ready || len(edits) == 0 {
		t.Fatalf("child made %d edits and ready=%v", len(edits), ready)
	}

	st, err := diskstore.Open(clientDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acked := 0
	e := client.New(client.Options{
		Store: st, Transport: &wsdial.Transport{URL: url}, Token: benchauth.Token(0),
		BackoffBase: clientBackoffBase, BackoffMax: clientBackoffMax,
		OnAck: func(record.Op, uint64) { acked++ },
	})
	if got := len(mustLoad(t, st).Outbox); got != len(edits) {
		t.Fatalf("reopened outbox holds %d edits, the killed process made %d", got, len(edits))
	}
	if err := e.Open(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	if err := e.WaitSynced(sctx); err != nil {
		t.Fatalf("not synced: %v (%+v)", err, e.State())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if r := e.Rejections(); len(r) > 0 {
		t.Fatalf("%d edits refused: %+v", len(r), r[0])
	}
	if acked != len(edits) {
		t.Fatalf("%d acks for %d edits", acked, len(edits))
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	srv = nil
	state, err := ReadState(ctx, filepath.Join(dir, "server", "db"), benchauth.SpaceID)
	if err != nil {
		t.Fatal(err)
	}
	if state.CheckLog != nil {
		t.Fatal(state.CheckLog)
	}
	if state.Head != uint64(len(edits)) || state.DoubleApplied() != 0 {
		t.Fatalf("head %d, %d applied twice, after %d edits", state.Head, state.DoubleApplied(), len(edits))
	}
	// Each record holds the last value written to it.
	last := map[record.Key]string{}
	for _, ed := range edits {
		if _, ok := state.Values[ed.value]; !ok {
			t.Errorf("edit %s on %s never reached the server", ed.value, ed.key.ID)
		}
		last[ed.key] = ed.value
	}
	for k, v := range last {
		if r := state.Records[k]; r == nil || r.Value("c0") != v {
			t.Errorf("record %s: server holds %v, want %q", k.ID, View(r), v)
		}
	}
	t.Logf("%d edits made offline by a killed process, all on the server after restart", len(edits))
}

func mustLoad(t *testing.T, st client.Store) *client.Snapshot {
	t.Helper()
	snap, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// clientChild is the process that gets killed: an offline engine makes
// 10-40 edits over up to 5 records, prints each once Put has returned,
// says ready and waits to be killed.
func clientChild(dir, url string) {
	s, err := strconv.ParseUint(os.Getenv(SeedEnv), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(s, 7))
	st, err := diskstore.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	e := client.New(client.Options{Store: st, Transport: &wsdial.Transport{URL: url}, Token: benchauth.Token(0), Offline: true})
	if err := e.Open(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var ids []uuid.UUID
	n := 10 + rng.IntN(31)
	for i := range n {
		if len(ids) < 5 && (len(ids) == 0 || rng.IntN(3) == 0) {
			ids = append(ids, uuid.Must(uuid.NewV7()))
		}
		id := ids[rng.IntN(len(ids))]
		v := fmt.Sprintf("c0-%d", i)
		if err := e.Put(context.Background(), benchauth.SpaceID, Collection, id, map[string]any{"c0": v}); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		fmt.Printf("edit %s %s\n", id, v)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // killed here
	os.Exit(3)
}
