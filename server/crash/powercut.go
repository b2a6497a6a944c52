package crash

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plansync/plansync/shared/benchauth"
)

// Settings of the control run.
const (
	// powerCutAcks is how many acks the control run waits for before the
	// power cut; powerCutWait bounds that wait.
	powerCutAcks = 100
	powerCutWait = 20 * time.Second
)

// PowerCutResult is the control run's outcome.
type PowerCutResult struct {
	Result
	// LostToKillOnly counts acked edits missing from a copy of the folder
	// taken right after the SIGKILL, before the simulated power cut: zero,
	// because a killed process's writes are in the kernel's page cache and
	// survive it. Only losing the page cache loses them.
	LostToKillOnly int
}

// PowerCut is the control run: it shows that the checker Run relies on
// can report lost acks. The server runs with durability switched off
// (bench-serve with PLANSYNC_TEST_NOSYNC=1: store.Options.NoSync, acks
// without fsync), clients edit until powerCutAcks edits are acked, the
// server is killed with SIGKILL and then a power cut is simulated (see the
// package comment), and the same checker sorts the acked edits. With
// durability off, it must find lost edits.
func PowerCut(ctx context.Context, cfg Config) (res PowerCutResult) {
	cfg.defaults()
	start := time.Now()
	res.Scenario, res.Seed = "kill9-nosync-powercut", cfg.Seed
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	fail := func(err error) PowerCutResult {
		res.Err = err.Error()
		return res
	}
	cleanup, err := cfg.prepare(ctx, "plansync-powercut-")
	defer cleanup()
	if err != nil {
		return fail(err)
	}
	listen, err := FreePort()
	if err != nil {
		return fail(err)
	}
	dataDir := filepath.Join(cfg.Dir, "server")
	dbDir := filepath.Join(dataDir, "db")

	// 1. A normal, durable start creates the bench space and users; the
	// clean shutdown syncs and closes badger. This folder is the last state
	// known to be on disk.
	srv, err := startServer(ctx, cfg.Bin, dataDir, listen, false)
	if err != nil {
		return fail(err)
	}
	if err := srv.stop(); err != nil {
		return fail(err)
	}
	synced := filepath.Join(cfg.Dir, "synced")
	if err := copyDir(dbDir, synced); err != nil {
		return fail(err)
	}
	before, err := durableFiles(dbDir)
	if err != nil {
		return fail(err)
	}

	// 2. The server without fsync; clients edit until enough is acked.
	if srv, err = startServer(ctx, cfg.Bin, dataDir, listen, true); err != nil {
		return fail(err)
	}
	defer func() {
		if srv != nil {
			srv.kill()
		}
	}()
	if !srv.stderr.contains("DURABILITY IS OFF") {
		return fail(fmt.Errorf("the server did not confirm durability is off; log:\n%s", srv.stderr))
	}
	f, err := openFleet(filepath.Join(cfg.Dir, "clients"), listen, cfg.Clients, cfg.Seed, cfg.MaxRecords)
	if err != nil {
		return fail(err)
	}
	defer f.close()
	f.start(cfg.MinGap, cfg.MaxGap)
	deadline := time.Now().Add(powerCutWait)
	for {
		_, acks := f.snapshot()
		if len(acks) >= powerCutAcks {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fail(fmt.Errorf("only %d edits acked in %v", len(acks), powerCutWait))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// 3. SIGKILL. Badger never synced on its own in between: the files it
	// syncs (tables, manifest) are as they were, only the write-ahead log
	// grew, in the page cache.
	srv.kill()
	srv = nil
	res.Cycles = 1
	if err := f.stopWriting(); err != nil {
		return fail(err)
	}
	edits, acks := f.snapshot()
	res.OpsMade, res.OpsAcked = len(edits), len(acks)
	after, err := durableFiles(dbDir)
	if err != nil {
		return fail(err)
	}
	if !maps.Equal(before, after) {
		return fail(fmt.Errorf("badger wrote its durable files while durability was off (before %v, after %v): the power cut cannot be simulated by rolling the folder back", keys(before), keys(after)))
	}

	// What SIGKILL alone leaves: everything acked is there.
	killed := filepath.Join(cfg.Dir, "killed")
	if err := copyDir(dbDir, killed); err != nil {
		return fail(err)
	}
	s, err := ReadState(ctx, killed, benchauth.SpaceID)
	if err != nil {
		return fail(err)
	}
	res.LostToKillOnly = len(tally(s, edits, acks, map[string]bool{}))

	// 4. The power cut: the page cache is gone, the disk holds what was
	// last synced.
	if err := os.RemoveAll(dbDir); err != nil {
		return fail(err)
	}
	if err := copyDir(synced, dbDir); err != nil {
		return fail(err)
	}
	if s, err = ReadState(ctx, dbDir, benchauth.SpaceID); err != nil {
		return fail(err)
	}
	res.Checks = 1
	lost := map[string]bool{}
	tally(s, edits, acks, lost)
	res.OpsLost = len(lost)
	res.DoubleApplied = s.DoubleApplied()
	if s.CheckLog != nil {
		res.problemf("CheckLog after the power cut: %v", s.CheckLog)
	}
	cfg.Logf("control: %d edits made, %d acked; after SIGKILL alone %d lost; after the power cut %d lost, head %d", len(edits), len(acks), res.LostToKillOnly, res.OpsLost, s.Head)
	return res
}

// durableFiles returns a digest of each file of a badger folder that badger
// writes only together with an fsync (tables, manifest, key registry):
// everything but the write-ahead logs (*.mem, *.vlog), the discard stats
// and the lock file.
func durableFiles(dir string) (map[string][32]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][32]byte{}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".mem") || strings.HasSuffix(n, ".vlog") || n == "LOCK" || n == "DISCARD" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out[n] = sha256.Sum256(b)
	}
	return out, nil
}

func keys(m map[string][32]byte) []string { return slices.Sorted(maps.Keys(m)) }

// copyDir copies the regular files of src into a new folder dst, keeping
// runs of zeros as holes: badger preallocates its logs as large sparse
// files.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copySparse(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copySparse(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	const block = 64 << 10
	buf := make([]byte, block)
	zero := make([]byte, block)
	var size int64
	for {
		n, err := io.ReadFull(in, buf)
		if n > 0 {
			// werr keeps err as ReadFull left it, so a final short read
			// (ErrUnexpectedEOF) ends the loop below.
			var werr error
			if bytes.Equal(buf[:n], zero[:n]) {
				_, werr = out.Seek(int64(n), io.SeekCurrent)
			} else {
				_, werr = out.Write(buf[:n])
			}
			if werr != nil {
				out.Close()
				return werr
			}
			size += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
