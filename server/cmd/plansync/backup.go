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

	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/store"
)

// Backups are taken from a running server through its admin listener
// (server/app): badger allows one process per folder, so a second process
// cannot read the folder while the server serves. The admin listener is off
// unless --admin-addr or --admin-socket is given; on TCP it asks for the
// admin token, which backup --from reads from the token file.

// backup writes a backup to --out: from a running server's admin listener
// (--from http://127.0.0.1:PORT) or from the folder of a stopped one
// (--data DIR). The file appears only once complete: it is written to a
// temporary file beside it, synced, and renamed.
func backup(args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	from := fs.String("from", "", "admin listener of a running server: http://127.0.0.1:8081 (serve --admin-addr) or unix:/path/to/socket (serve --admin-socket)")
	tokenFile := fs.String("token-file", env("PLANSYNC_ADMIN_TOKEN_FILE", ""), "admin token file of the running server (default: admin-token in the data folder, env PLANSYNC_DATA or ./data; env PLANSYNC_ADMIN_TOKEN_FILE)")
	data := fs.String("data", "", "badger data folder of a STOPPED server")
	out := fs.String("out", "", "backup file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || (*from == "") == (*data == "") {
		return errors.New("usage: plansync backup (--from http://127.0.0.1:PORT | --from unix:PATH | --data DIR) --out FILE")
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
		return fetchBackup(*from, *tokenFile, f)
	}, stdout)
}

// adminClient returns the base URL and client for a running server's admin
// listener named by from (http://host:port or unix:PATH), and the token to
// send ("" on a unix socket, whose file mode is the check).
func adminClient(from, tokenFile string) (string, *http.Client, string, error) {
	if path, ok := strings.CutPrefix(from, "unix:"); ok {
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
		return "http://localhost", &http.Client{Transport: tr}, "", nil
	}
	if tokenFile == "" {
		tokenFile = filepath.Join(env("PLANSYNC_DATA", "./data"), app.AdminTokenFileName)
	}
	tok, err := app.ReadAdminToken(tokenFile)
	if err != nil {
		return "", nil, "", fmt.Errorf("%w (pass --token-file, the server's --admin-token-file or admin-token in its data folder)", err)
	}
	return strings.TrimRight(from, "/"), http.DefaultClient, tok, nil
}

// fetchBackup streams a backup from a running server's admin listener.
func fetchBackup(from, tokenFile string, w io.Writer) error {
	base, hc, tok, err := adminClient(from, tokenFile)
	if err != nil {
		return err
	}
	url := base + app.BackupPath
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := hc.Do(req)
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
	if t := resp.Trailer.Get(app.BackupTrailer); t != "ok" {
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
	keep := fs.Bool("keep-sessions", false, "keep the backup's sessions, invites and setup codes (by default all are dropped: a session revoked after the backup would work again)")
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
		fmt.Fprintf(stdout, "dropped %d sessions and %d invites: everyone signs in again\n", rep.DroppedSessions, rep.DroppedInvites)
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
