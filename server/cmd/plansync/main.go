// Command plansync is the Plansync server and its admin commands.
//
//	plansync [serve] [--addr 127.0.0.1:8080] [--data ./data] [--seed] [--admin-addr 127.0.0.1:8081]
//	                [--trusted-proxies CIDR,...] [--admin-token-file F] [--admin-socket PATH]
//	                [--tls-cert FILE --tls-key FILE] [--space-quota SIZE] [--user-quota SIZE]
//	                [--translate apertium|libretranslate:URL|off]
//	plansync init --school NAME --admin-name NAME --admin-login LOGIN [--password-file F]
//	                                (admin password: --password-file, env
//	                                 PLANSYNC_ADMIN_PASSWORD, or one line on stdin)
//	plansync bench-serve            (BENCH_DATA_DIR, BENCH_LISTEN)
//	plansync user add --name NAME   (prints the user id and a session token)
//	plansync space add --name NAME [--kind student|school|general]
//	plansync member add --space ID --user ID --role teacher|family|support|admin|interpreter
//	plansync session add --user ID  (prints a new session token)
//	plansync user disable|enable --user ID | --login LOGIN
//	                                (disable ends every session of the account)
//	plansync user reset-password --user ID | --login LOGIN
//	                                (prints a one-time setup code, never a password)
//	plansync member remove --space ID --user ID
//	plansync backup --from http://127.0.0.1:8081 [--token-file F] --out FILE   (a running server's --admin-addr)
//	plansync backup --from unix:PATH --out FILE               (a running server's --admin-socket)
//	plansync backup --data DIR --out FILE                     (a stopped server)
//	plansync restore --data EMPTYDIR --in FILE
//
// Admin commands open the data folder directly, so run them while the
// server is stopped (badger allows one process per folder); backup --from
// reads a running server through its admin listener (loopback with the
// admin token, or a unix socket).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/clientaddr"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/shared/uuid"
)

// shutdownTimeout bounds a clean shutdown after SIGTERM.
const shutdownTimeout = 30 * time.Second

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "plansync:", err)
		}
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, log)
	case "bench-serve":
		return benchServe(stdout, log)
	case "init":
		return initSchool(args, os.Stdin, stdout, log)
	case "user", "space", "member", "session":
		if len(args) > 0 && (cmd == "user" && (args[0] == "disable" || args[0] == "enable" || args[0] == "reset-password") ||
			cmd == "member" && args[0] == "remove") {
			return account(cmd+" "+args[0], args[1:], stdout, log)
		}
		if len(args) == 0 || args[0] != "add" {
			return fmt.Errorf("usage: plansync %s add [flags]", cmd)
		}
		return admin(cmd, args[1:], stdout, log)
	case "backup":
		return backup(args, stdout, log)
	case "restore":
		return restore(args, stdout, log)
	case "version":
		fmt.Fprintln(stdout, app.Version)
		return nil
	}
	return fmt.Errorf("unknown command %q (serve, init, bench-serve, user add|disable|enable|reset-password, space add, member add|remove, session add, backup, restore, version)", cmd)
}

func serve(args []string, stdout io.Writer, log *slog.Logger) error {
	cfg, memLimit, err := serveConfig(args, log)
	if err != nil {
		return err
	}
	limit, limitFrom, err := applyMemoryLimit(memLimit)
	if err != nil {
		return err
	}
	log.Info("memory limit", "bytes", limit, "from", limitFrom)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Plansync is running at %s (data in %s)\n", a.BaseURL(), cfg.DataDir)
	if ad := a.AdminAddr(); ad != "" {
		fmt.Fprintf(stdout, "Admin listener at http://%s, token in %s (backup: plansync backup --from http://%s --token-file %s --out FILE)\n", ad, a.AdminTokenFile(), ad, a.AdminTokenFile())
	}
	if cfg.AdminSocket != "" {
		fmt.Fprintf(stdout, "Admin socket at %s (backup: plansync backup --from unix:%s --out FILE)\n", cfg.AdminSocket, cfg.AdminSocket)
	}
	if d := a.Demo; d != nil {
		fmt.Fprintf(stdout, "Demo school %s (demo only: everyone knows this password)\n", d.School)
		fmt.Fprintf(stdout, "  admin   login %-6s password %s\n", d.AdminLogin, d.Password)
		fmt.Fprintf(stdout, "  teacher login %-6s password %s\n", d.TeacherLogin, d.Password)
		if d.InviteCode != "" {
			fmt.Fprintf(stdout, "Family invite code for %s's plan: %s (join as a parent; expires %s)\n", d.InviteStudent, d.InviteCode, d.InviteExpires.Format(time.DateOnly))
		}
		if d.TeacherToken != "" {
			fmt.Fprintf(stdout, "Demo teacher session token: %s\n", d.TeacherToken)
		}
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return a.Close(sctx)
}

// maxPasswordInput bounds how much is read from a password file or stdin.
const maxPasswordInput = 4096 // bytes

// initSchool creates a school and its first admin. The password never
// appears in a flag, where any user could read it in the process list.
func initSchool(args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	data := fs.String("data", env("PLANSYNC_DATA", "./data"), "badger data folder (env PLANSYNC_DATA)")
	school := fs.String("school", "", "the school's name")
	name := fs.String("admin-name", "", "the first admin's name")
	login := fs.String("admin-login", "", "the first admin's login")
	pwFile := fs.String("password-file", "", "file whose first line is the admin's password (else env PLANSYNC_ADMIN_PASSWORD, else stdin)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *school == "" || *name == "" || *login == "" {
		return errors.New("init needs --school, --admin-name and --admin-login")
	}
	pw, err := readPassword(*pwFile, stdin)
	if err != nil {
		return err
	}
	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	svc := auth.New(auth.Options{Store: st, Logger: log})
	sp, u, err := svc.InitSchool(context.Background(), *school, *name, *login, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "school %s %q\nadmin %s login %s\n", sp.ID, sp.Name, u.ID, u.Login)
	return nil
}

func readPassword(file string, stdin io.Reader) (string, error) {
	var raw []byte
	switch {
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if raw, err = io.ReadAll(io.LimitReader(f, maxPasswordInput)); err != nil {
			return "", err
		}
	case os.Getenv("PLANSYNC_ADMIN_PASSWORD") != "":
		raw = []byte(os.Getenv("PLANSYNC_ADMIN_PASSWORD"))
	default:
		fmt.Fprint(os.Stderr, "Admin password (one line): ")
		line, err := bufio.NewReader(io.LimitReader(stdin, maxPasswordInput)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		raw = []byte(line)
	}
	pw, _, _ := strings.Cut(string(raw), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", errors.New("no admin password given (--password-file, PLANSYNC_ADMIN_PASSWORD or stdin)")
	}
	return pw, nil
}

func benchServe(stdout io.Writer, log *slog.Logger) error {
	dir := os.Getenv("BENCH_DATA_DIR")
	if dir == "" {
		return errors.New("bench-serve needs BENCH_DATA_DIR (a fresh empty folder)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg := app.Config{Logger: log, Store: benchStoreOptions(log)}
	// Cluster mode from the environment (PLANSYNC_CLUSTER_*, PLANSYNC_NATS_*),
	// for the crash harness's cluster runs.
	cl := clusterFlags(flag.NewFlagSet("bench-serve", flag.ContinueOnError))
	var err error
	if cfg.Cluster, err = cl.config(); err != nil {
		return err
	}
	if cfg.Cluster != nil && cfg.Cluster.Node != nil && cfg.Store.NoSync {
		cfg.Cluster.Node.NoSync = true // the control run: the log unsynced too
	}
	a, err := app.OpenBench(ctx, dir, env("BENCH_LISTEN", "127.0.0.1:0"), cfg, stdout)
	if err != nil {
		return err
	}
	// BENCH_CPUPROFILE names a file for a pprof CPU profile of the run,
	// from ready to SIGTERM: where a workload's server time goes, measured
	// on the binary the figures come from rather than on a benchmark's
	// approximation of it.
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			_ = a.Close(context.Background())
			return err
		}
		defer stopProfile()
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return a.Close(sctx)
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("BENCH_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("BENCH_CPUPROFILE: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func admin(what string, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet(what+" add", flag.ContinueOnError)
	data := fs.String("data", env("PLANSYNC_DATA", "./data"), "badger data folder (env PLANSYNC_DATA)")
	name := fs.String("name", "", "name (user, space)")
	kind := fs.String("kind", "general", "space kind: student, school or general")
	spaceID := fs.String("space", "", "space id (member add)")
	userID := fs.String("user", "", "user id (member add, session add)")
	role := fs.String("role", "", "role: admin, teacher, support, family or interpreter (member add)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	switch what {
	case "user":
		u, err := app.AddUser(ctx, st, *name)
		if err != nil {
			return err
		}
		tok, err := app.AddSession(ctx, st, u.ID, "admin")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s\ntoken %s\n", u.ID, tok)
	case "space":
		sp, err := app.AddSpace(ctx, st, *name, server.SpaceKind(*kind))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "space %s\n", sp.ID)
	case "member":
		sp, err1 := uuid.Parse(*spaceID)
		u, err2 := uuid.Parse(*userID)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("member add needs --space and --user ids: %w", err)
		}
		if err := app.AddMember(ctx, st, sp, u, server.Role(*role)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "member %s of %s as %s\n", u, sp, *role)
	case "session":
		u, err := uuid.Parse(*userID)
		if err != nil {
			return fmt.Errorf("session add needs --user: %w", err)
		}
		tok, err := app.AddSession(ctx, st, u, "admin")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %s\n", tok)
	}
	return nil
}

// account runs the account commands an admin has in the app too: disable,
// enable, reset-password, member remove. Like the add commands they open
// the data folder, so the server is stopped and no socket is open to close.
func account(what string, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet(what, flag.ContinueOnError)
	data := fs.String("data", env("PLANSYNC_DATA", "./data"), "badger data folder (env PLANSYNC_DATA)")
	userID := fs.String("user", "", "user id")
	login := fs.String("login", "", "login of the user (instead of --user)")
	spaceID := fs.String("space", "", "space id (member remove)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	var user uuid.UUID
	switch {
	case *userID != "":
		if user, err = uuid.Parse(*userID); err != nil {
			return fmt.Errorf("%s: --user is not an id: %w", what, err)
		}
	case *login != "":
		l, err := auth.NormalizeLogin(*login)
		if err != nil {
			return err
		}
		c, err := st.Credential(ctx, l)
		if err != nil {
			return fmt.Errorf("%s: login %s: %w", what, l, err)
		}
		user = c.User
	default:
		return fmt.Errorf("%s needs --user ID or --login LOGIN", what)
	}
	svc := auth.New(auth.Options{Store: st, Logger: log})
	switch what {
	case "user disable", "user enable":
		u, err := svc.SetUserDisabled(ctx, user, what == "user disable")
		if err != nil {
			return err
		}
		state := "enabled"
		if u.Disabled {
			state = "disabled (every session ended)"
		}
		fmt.Fprintf(stdout, "user %s (%s) %s\n", u.ID, u.Name, state)
	case "user reset-password":
		code, exp, err := svc.MakeSetupCode(ctx, user, uuid.Nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "setup code %s (single use, expires %s): the person sets a new password with it in the app\n", code, exp.Format(time.RFC3339))
	case "member remove":
		sp, err := uuid.Parse(*spaceID)
		if err != nil {
			return fmt.Errorf("member remove needs --space: %w", err)
		}
		if err := app.RemoveMember(ctx, st, sp, user); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "member %s removed from %s\n", user, sp)
	}
	return nil
}

// serveConfig reads serve's flags into the server's config, and returns the
// --memory-limit flag's value.
func serveConfig(args []string, log *slog.Logger) (app.Config, string, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", env("PLANSYNC_ADDR", "127.0.0.1:8080"), "listen address (env PLANSYNC_ADDR)")
	data := fs.String("data", env("PLANSYNC_DATA", "./data"), "badger data folder (env PLANSYNC_DATA)")
	seed := fs.Bool("seed", false, "create the demo school and plans on first start, and print the demo token")
	origins := fs.String("origins", env("PLANSYNC_ORIGINS", ""), "extra browser origins allowed to sync, comma-separated")
	adminAddr := fs.String("admin-addr", env("PLANSYNC_ADMIN_ADDR", ""), "loopback address of the admin listener (backups, /metrics, health detail; asks for the admin token); off when empty (env PLANSYNC_ADMIN_ADDR)")
	adminToken := fs.String("admin-token-file", env("PLANSYNC_ADMIN_TOKEN_FILE", ""), "file holding the admin listener's token (mode 0600; created when missing); default: a fresh token in DATA/admin-token at every start (env PLANSYNC_ADMIN_TOKEN_FILE)")
	adminSocket := fs.String("admin-socket", env("PLANSYNC_ADMIN_SOCKET", ""), "unix socket of the admin listener (mode 0600, no token); off when empty (env PLANSYNC_ADMIN_SOCKET)")
	proxies := fs.String("trusted-proxies", env("PLANSYNC_TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For names the client, as CIDR blocks or addresses, comma-separated; none when empty (env PLANSYNC_TRUSTED_PROXIES)")
	tlsCert := fs.String("tls-cert", env("PLANSYNC_TLS_CERT", ""), "PEM certificate (chain) file: serve HTTPS with HSTS; needs --tls-key (env PLANSYNC_TLS_CERT)")
	tlsKey := fs.String("tls-key", env("PLANSYNC_TLS_KEY", ""), "PEM private key file of --tls-cert (env PLANSYNC_TLS_KEY)")
	spaceQuota := fs.String("space-quota", env("PLANSYNC_SPACE_QUOTA", ""), "log bytes one space may hold, e.g. 256MiB, or off; default store.DefaultSpaceQuota (env PLANSYNC_SPACE_QUOTA)")
	userQuota := fs.String("user-quota", env("PLANSYNC_USER_QUOTA", ""), "log bytes one person's changes may add, e.g. 64MiB, or off; default store.DefaultUserQuota (env PLANSYNC_USER_QUOTA)")
	maxPerAddr := fs.Int("max-conns-per-addr", 0, "sync sockets allowed from one client address (an IPv6 /64); raise it for a school behind one NAT with more open tabs than that; 0 means the default, 512")
	translateSpec := fs.String("translate", env("PLANSYNC_TRANSLATE", ""), "machine translation engine: apertium, libretranslate:URL or off; default off, and apertium for --seed when it is installed (env PLANSYNC_TRANSLATE)")
	memLimit := fs.String("memory-limit", "", "soft memory limit of the Go runtime, e.g. 2GiB, or off; default 70% of the container's or machine's memory (GOMEMLIMIT, when set, wins)")
	nf := notifyFlags(fs)
	cl := clusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return app.Config{}, "", err
	}
	trusted, err := clientaddr.ParsePrefixes(*proxies)
	if err != nil {
		return app.Config{}, "", err
	}
	sq, err := parseQuota("space-quota", *spaceQuota)
	if err != nil {
		return app.Config{}, "", err
	}
	uq, err := parseQuota("user-quota", *userQuota)
	if err != nil {
		return app.Config{}, "", err
	}
	cfg := app.Config{Addr: *addr, DataDir: *data, Seed: *seed, Logger: log, Web: webFS(), TrustedProxies: trusted,
		AdminAddr: *adminAddr, AdminTokenFile: *adminToken, AdminSocket: *adminSocket,
		TLSCert: *tlsCert, TLSKey: *tlsKey,
		Store: store.Options{SpaceQuota: sq, UserQuota: uq}}
	if *origins != "" {
		cfg.AllowedOrigins = strings.Split(*origins, ",")
	}
	if *maxPerAddr < 0 {
		return app.Config{}, "", fmt.Errorf("--max-conns-per-addr must be 0 (the default) or more, not %d", *maxPerAddr)
	}
	cfg.Hub.MaxConnsPerAddr = *maxPerAddr
	if cfg.Cluster, err = cl.config(); err != nil {
		return app.Config{}, "", err
	}
	if cfg.Notify, err = nf.config(); err != nil {
		return app.Config{}, "", err
	}
	spec := *translateSpec
	if spec == "" && *seed && cfg.Cluster == nil && translate.Available(context.Background()) {
		spec = "apertium" // the demo shows translation when it can
	}
	if cfg.Translate, err = translate.FromSpec(context.Background(), spec); err != nil {
		return app.Config{}, "", fmt.Errorf("--translate: %w", err)
	}
	return cfg, *memLimit, nil
}
