package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plansync/plansync/server/store"
)

// Backups are taken from a running server through its admin listener:
// badger allows one process per folder, so a second process cannot read
// the folder while the server serves. The admin listener is off unless
// --admin-addr is given, and binds loopback addresses only, so only
// someone on the server's machine can read the whole database through it.
const (
	// BackupPath streams a backup (GET) on the admin listener.
	BackupPath = "/admin/backup"
	// backupTrailer carries "ok" once the whole stream was written, or the
	// error that cut it short: the status line is sent before the backup
	// runs, so only a trailer can say it failed half way.
	backupTrailer = "X-Plansync-Backup"
	// adminReadHeaderTimeout bounds a request's headers on the admin
	// listener; a backup stream itself may take as long as it takes.
	adminReadHeaderTimeout = 10 * time.Second
)

// adminServer is the loopback-only admin listener of a running server.
type adminServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// startAdmin serves the admin endpoints (backup) of st on addr, which must
// be a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT).
func startAdmin(addr string, st *store.Store, log *slog.Logger) (*adminServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("admin address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("admin address %q: only a loopback address is allowed (it serves the whole database)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+BackupPath, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("Trailer", backupTrailer)
		start := time.Now()
		cw := &countingWriter{w: w}
		if err := st.Backup(cw); err != nil {
			log.Error("backup failed", "err", err, "bytes", cw.n)
			h.Set(backupTrailer, "error: "+err.Error())
			return
		}
		h.Set(backupTrailer, "ok")
		log.Info("backup served", "bytes", cw.n, "took", time.Since(start).String())
	})
	a := &adminServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: adminReadHeaderTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "err", err)
		}
	}()
	return a, nil
}

// Addr is the admin listener's address.
func (a *adminServer) Addr() string { return a.ln.Addr().String() }

// Close stops the admin listener, letting a backup in progress finish
// until ctx ends.
func (a *adminServer) Close(ctx context.Context) error {
	err := a.srv.Shutdown(ctx)
	<-a.done
	return err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// backup writes a backup to --out: from a running server's admin listener
// (--from http://127.0.0.1:PORT) or from the folder of a stopped one
// (--data DIR). The file appears only once complete: it is written to a
// temporary file beside it, synced, and renamed.
func backup(args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	from := fs.String("from", "", "admin URL of a running server, e.g. http://127.0.0.1:8081 (serve --admin-addr)")
	data := fs.String("data", "", "badger data folder of a STOPPED server")
	out := fs.String("out", "", "backup file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || (*from == "") == (*data == "") {
		return errors.New("usage: plansync backup (--from http://127.0.0.1:PORT | --data DIR) --out FILE")
	}
	return writeAtomically(*out, func(f *os.File) error {
		if *data != "" {
			if fi, err := os.Stat(*data); err != nil || !fi.IsDir() {
				return fmt.Errorf("no data folder at %s", *data)
			}
			st, err := store.Open(*data, store.Options{Logger: log})
			if err != nil {
				return fmt.Errorf("%w (is the server still running? use --from)", err)
			}
			if err := st.Backup(f); err != nil {
				st.Close()
				return err
			}
			return st.Close()
		}
		return fetchBackup(strings.TrimRight(*from, "/")+BackupPath, f)
	}, stdout)
}

// fetchBackup streams a backup from a running server's admin listener.
func fetchBackup(url string, w io.Writer) error {
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("backup: %s: %s %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup: reading the stream: %w", err)
	}
	if t := resp.Trailer.Get(backupTrailer); t != "ok" {
		return fmt.Errorf("backup: the server did not finish the backup (%q)", t)
	}
	return nil
}

// writeAtomically has fill write a temporary file beside path, syncs it
// and renames it to path, so that path never holds a partial backup.
func writeAtomically(path string, fill func(*os.File) error, stdout io.Writer) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	fi, err := tmp.Stat()
	if err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	fmt.Fprintf(stdout, "backup of %d bytes written to %s\n", fi.Size(), path)
	return nil
}

// restore loads a backup into an empty (or missing) data folder and checks
// the log of every space it holds.
func restore(args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	data := fs.String("data", "", "badger data folder to create; must be empty or not exist")
	in := fs.String("in", "", "backup file (plansync backup)")
	keep := fs.Bool("keep-sessions", false, "keep the backup's sessions and unclaimed invites (by default both are dropped: a session revoked after the backup would work again)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *in == "" {
		return errors.New("usage: plansync restore --data EMPTYDIR --in FILE")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := store.Restore(*data, f, store.RestoreOptions{KeepSessions: *keep})
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(stdout, "kept sessions and invites (--keep-sessions)\n")
	} else {
		fmt.Fprintf(stdout, "dropped %d sessions and %d unclaimed invites: everyone signs in again\n", rep.DroppedSessions, rep.DroppedInvites)
	}
	fmt.Fprintf(stdout, "new incarnation %s: clients re-read their spaces\n", rep.Incarnation)
	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	spaces, err := st.Spaces(ctx)
	if err != nil {
		return err
	}
	var ops uint64
	for _, sp := range spaces {
		if err := st.CheckLog(ctx, sp.ID); err != nil {
			return fmt.Errorf("restored space %s: %w", sp.ID, err)
		}
		h, err := st.Head(ctx, sp.ID)
		if err != nil {
			return err
		}
		ops += h
	}
	fmt.Fprintf(stdout, "restored %d spaces (%d changes, logs checked) into %s\n", len(spaces), ops, *data)
	return st.Close()
}
