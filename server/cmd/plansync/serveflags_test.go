package main

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/shared/protocol"
)

// TestServeFlags: serve's security and quota flags reach the config, and
// a --space-quota read from the flag is what the running store enforces.
func TestServeFlags(t *testing.T) {
	cfg, _, err := serveConfig([]string{"--data", t.TempDir(), "--space-quota", "4KiB", "--user-quota", "off",
		"--trusted-proxies", "10.0.0.0/8, 192.168.1.2", "--tls-cert", "c.pem", "--tls-key", "k.pem",
		"--admin-addr", "127.0.0.1:0", "--admin-token-file", "/tmp/x", "--admin-socket", "/tmp/s", "--max-conns-per-addr", "2000"}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.2/32")}
	if cfg.Store.SpaceQuota != 4<<10 || cfg.Store.UserQuota != -1 || len(cfg.TrustedProxies) != 2 ||
		cfg.TrustedProxies[0] != want[0] || cfg.TrustedProxies[1] != want[1] ||
		cfg.TLSCert != "c.pem" || cfg.TLSKey != "k.pem" || cfg.AdminAddr != "127.0.0.1:0" ||
		cfg.AdminTokenFile != "/tmp/x" || cfg.AdminSocket != "/tmp/s" || cfg.Hub.MaxConnsPerAddr != 2000 {
		t.Fatalf("config %+v", cfg)
	}
	if cfg, _, err := serveConfig([]string{"--data", t.TempDir()}, quietLog()); err != nil || cfg.Store.SpaceQuota != 0 || cfg.Store.UserQuota != 0 {
		t.Fatalf("default quotas %d %d (%v), want the store's defaults (0)", cfg.Store.SpaceQuota, cfg.Store.UserQuota, err)
	}
	for _, bad := range [][]string{{"--space-quota", "lots"}, {"--user-quota", "-5MiB"}, {"--trusted-proxies", "10.0.0.0/99"}, {"--max-conns-per-addr", "-1"}} {
		if _, _, err := serveConfig(append([]string{"--data", t.TempDir()}, bad...), quietLog()); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}

	e := apitest.Start(t, func(c *app.Config) { c.Store.SpaceQuota, c.Store.UserQuota = cfg.Store.SpaceQuota, cfg.Store.UserQuota })
	s := e.MustDial(e.Teacher.Token)
	text := strings.Repeat("a long note. ", 40) // ~520 bytes
	for i := range 50 {
		r := s.PushOne(s.Op(e.Ana.ID, "notes", apitest.NewID(), map[string]any{"kind": "praise", "text": text, "lang": "en"}))
		switch r.Code {
		case "":
			continue
		case protocol.CodeQuota:
			if i == 0 {
				t.Fatal("the first note was refused")
			}
			t.Logf("note %d refused: %s", i, r.Message)
			return
		default:
			t.Fatalf("note %d: %s", i, apitest.String(r))
		}
	}
	t.Fatal("50 notes of ~520 bytes fit a 4 KiB space quota")
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256MiB": 256 << 20, "1gib": 1 << 30, "512": 512, "2 KB": 2048, "1TiB": 1 << 40} {
		if got, ok := parseSize(in); !ok || got != want {
			t.Errorf("parseSize(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "MiB", "1.5GiB", "99999999999TiB"} {
		if got, ok := parseSize(in); ok {
			t.Errorf("parseSize(%q) = %d, want refused", in, got)
		}
	}
}

// TestTranslateFlag: --translate is off by default, names Apertium or a
// LibreTranslate URL, turns Apertium on for --seed when it is installed,
// and refuses an engine it does not know.
func TestTranslateFlag(t *testing.T) {
	cfg, _, err := serveConfig([]string{"--data", t.TempDir()}, quietLog())
	if err != nil || cfg.Translate != nil {
		t.Fatalf("default: %v %v, want no engine", cfg.Translate, err)
	}
	cfg, _, err = serveConfig([]string{"--data", t.TempDir(), "--translate", "libretranslate:http://127.0.0.1:5000"}, quietLog())
	if err != nil || cfg.Translate == nil || cfg.Translate.Name() != "LibreTranslate" {
		t.Fatalf("libretranslate: %v %v", cfg.Translate, err)
	}
	for _, bad := range []string{"google", "libretranslate:ftp://x"} {
		if _, _, err := serveConfig([]string{"--data", t.TempDir(), "--translate", bad}, quietLog()); err == nil {
			t.Errorf("--translate %s accepted", bad)
		}
	}
	if cfg, _, err := serveConfig([]string{"--data", t.TempDir(), "--seed", "--translate", "off"}, quietLog()); err != nil || cfg.Translate != nil {
		t.Fatalf("--seed --translate off: %v %v", cfg.Translate, err)
	}
	if !translate.Available(context.Background()) {
		t.Log("apertium is not installed: not checking that --seed turns it on")
		return
	}
	cfg, _, err = serveConfig([]string{"--data", t.TempDir(), "--seed"}, quietLog())
	if err != nil || cfg.Translate == nil || cfg.Translate.Name() != "Apertium" {
		t.Fatalf("--seed with apertium installed: %v %v", cfg.Translate, err)
	}
}
