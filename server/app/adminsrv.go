package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The admin listener serves what must never reach the public: a backup of
// the whole database, the metrics, the health detail. It binds loopback
// addresses or a unix socket only, and even there it asks for more than
// being on the machine:
//
//   - on TCP, every request carries the admin token (Authorization:
//     Bearer), read from a file only the server's user can read, since any
//     local process (another user's, a compromised web app's) can connect
//     to a loopback port;
//   - on the unix socket the socket file's mode (0600) is the check;
//   - on both, the Host header must name the machine itself, so a web
//     page that rebinds its DNS name to 127.0.0.1 cannot drive the
//     listener from a browser.
const (
	// BackupPath streams a backup (GET).
	BackupPath = "/admin/backup"
	// HealthPath says why the server cannot take writes (GET); the public
	// /healthz says only ok or unavailable.
	HealthPath = "/admin/healthz"
	// MetricsPath is the Prometheus endpoint.
	MetricsPath = "/metrics"
	// BackupTrailer carries "ok" once the whole stream was written, or the
	// error that cut it short: the status line is sent before the backup
	// runs, so only a trailer can say it failed half way.
	BackupTrailer = "X-Plansync-Backup"
	// AdminTokenFileName is the admin token's file in the data folder
	// when no --admin-token-file is given; a new token is written there at
	// every start.
	AdminTokenFileName = "admin-token"
	// adminTokenBytes of randomness in a generated token: 256 bits.
	adminTokenBytes = 32
	// minAdminTokenLen bounds a token an operator supplies from below, so
	// a placeholder such as "x" is refused.
	minAdminTokenLen = 16
	// maxAdminTokenFile bounds how much of a token file is read.
	maxAdminTokenFile = 4096
	// adminReadHeaderTimeout bounds a request's headers on the admin
	// listener; a backup stream itself may take as long as it takes, so
	// there is no write timeout.
	adminReadHeaderTimeout = 10 * time.Second
)

// adminServer is one admin listener (TCP or unix socket).
type adminServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// loadAdminToken reads the operator's token file, or, when file is empty,
// writes a fresh token to the data folder's AdminTokenFileName. It returns
// the token and the file it is in.
func loadAdminToken(file, dataDir string) (string, string, error) {
	if file != "" {
		fi, err := os.Stat(file)
		if errors.Is(err, os.ErrNotExist) {
			tok, err := writeAdminToken(file)
			return tok, file, err
		} else if err != nil {
			return "", "", fmt.Errorf("admin token file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", "", fmt.Errorf("admin token file %s is readable by other users (mode %04o): chmod 600 it", file, fi.Mode().Perm())
		}
		tok, err := ReadAdminToken(file)
		if err != nil {
			return "", "", err
		}
		if len(tok) < minAdminTokenLen {
			return "", "", fmt.Errorf("admin token file %s: the token needs at least %d characters", file, minAdminTokenLen)
		}
		return tok, file, nil
	}
	file = filepath.Join(dataDir, AdminTokenFileName)
	tok, err := writeAdminToken(file)
	return tok, file, err
}

// writeAdminToken writes a fresh token to file (mode 0600, replacing it
// whole).
func writeAdminToken(file string) (string, error) {
	b := make([]byte, adminTokenBytes)
	_, _ = rand.Read(b)
	tok := "psa_" + base64.RawURLEncoding.EncodeToString(b)
	tmp := file + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("admin token file: %w", err)
	}
	return tok, nil
}

// ReadAdminToken reads the token from an admin token file (its first
// line), for the admin commands that talk to a running server.
func ReadAdminToken(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAdminTokenFile))
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", fmt.Errorf("admin token file %s is empty", file)
	}
	return tok, nil
}

// localHost reports whether a Host header names this machine.
func localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// adminHandler is the admin mux behind the Host check and, when token is
// not empty, the token check.
func (a *App) adminHandler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+BackupPath, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Trailer", BackupTrailer)
		start := time.Now()
		cw := &countingWriter{w: w}
		if err := a.Store.Backup(cw); err != nil {
			a.log.Error("backup failed", "err", err, "bytes", cw.n)
			h.Set(BackupTrailer, "error: "+err.Error())
			return
		}
		h.Set(BackupTrailer, "ok")
		a.log.Info("backup served", "bytes", cw.n, "took", time.Since(start).String())
	})
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.Healthy(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "unavailable: "+err.Error()+"\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !localHost(r.Host) {
			http.Error(w, "the admin listener answers only to localhost", http.StatusMisdirectedRequest)
			return
		}
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="plansync admin"`)
				http.Error(w, "the admin listener needs the admin token (Authorization: Bearer, from the admin token file)", http.StatusUnauthorized)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// startAdmin serves h on ln until Close.
func (a *App) serveAdmin(ln net.Listener, h http.Handler) *adminServer {
	s := &adminServer{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: adminReadHeaderTimeout, ErrorLog: a.srv.ErrorLog},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin listener stopped", "err", err)
		}
	}()
	return s
}

// openAdmin starts the admin listeners the config asks for.
func (a *App) openAdmin() error {
	cfg := a.cfg
	if cfg.AdminAddr != "" {
		host, _, err := net.SplitHostPort(cfg.AdminAddr)
		if err != nil {
			return fmt.Errorf("admin address %q: %w", cfg.AdminAddr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("admin address %q: only a loopback address is allowed (it serves the whole database)", cfg.AdminAddr)
		}
		tok, file, err := loadAdminToken(cfg.AdminTokenFile, cfg.DataDir)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		a.adminToken, a.adminTokenFile = tok, file
		a.admin = append(a.admin, a.serveAdmin(ln, a.adminHandler(tok)))
		a.adminAddr = ln.Addr().String()
	}
	if cfg.AdminSocket != "" {
		// A stale socket of a previous run is in the way; anything else
		// at that path is not ours to delete.
		if fi, err := os.Lstat(cfg.AdminSocket); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return fmt.Errorf("admin socket %s: a file that is not a socket is in the way", cfg.AdminSocket)
			}
			_ = os.Remove(cfg.AdminSocket)
		}
		ln, err := net.Listen("unix", cfg.AdminSocket)
		if err != nil {
			return fmt.Errorf("admin socket: %w", err)
		}
		if err := os.Chmod(cfg.AdminSocket, 0o600); err != nil {
			_ = ln.Close()
			return fmt.Errorf("admin socket: %w", err)
		}
		a.admin = append(a.admin, a.serveAdmin(ln, a.adminHandler("")))
	}
	return nil
}

// closeAdmin stops the admin listeners, letting a backup in progress
// finish until ctx ends.
func (a *App) closeAdmin(ctx context.Context) error {
	var errs []error
	for _, s := range a.admin {
		errs = append(errs, s.srv.Shutdown(ctx))
		<-s.done
	}
	a.admin = nil
	return errors.Join(errs...)
}

// AdminAddr is the TCP admin listener's address, "" when off.
func (a *App) AdminAddr() string { return a.adminAddr }

// AdminToken is the token the TCP admin listener asks for.
func (a *App) AdminToken() string { return a.adminToken }

// AdminTokenFile is where the admin token is.
func (a *App) AdminTokenFile() string { return a.adminTokenFile }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
