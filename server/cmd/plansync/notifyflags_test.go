package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Notifications are off unless --notify; each channel needs its flags,
// and secrets come from files.
func TestNotifyFlags(t *testing.T) {
	data := t.TempDir()
	if cfg, _, err := serveConfig([]string{"--data", data}, quietLog()); err != nil || cfg.Notify != nil {
		t.Fatalf("default: %+v, %v; want notifications off", cfg.Notify, err)
	}
	if _, _, err := serveConfig([]string{"--data", data, "--notify"}, quietLog()); err == nil {
		t.Error("--notify without --notify-base-url accepted")
	}
	pw := filepath.Join(t.TempDir(), "pw")
	tok := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok, []byte("twilio-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := serveConfig([]string{"--data", data, "--notify", "--notify-base-url", "https://plans.example.org",
		"--smtp-host", "mail.example.org", "--smtp-user", "plansync", "--smtp-password-file", pw, "--smtp-from", "plans@example.org",
		"--sms-api", "https://api.sms.example", "--sms-account", "AC1", "--sms-token-file", tok, "--sms-from", "+15550001111",
		"--sms-webhook-url", "https://plans.example.org/api/notify/sms", "--notify-daily-cap", "50"}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	if n == nil || n.Email == nil || n.Email.Password != "s3cret" || n.Email.Port != 587 || n.SMS == nil || n.SMS.AuthToken != "twilio-token" ||
		n.Push != nil || n.DailyCap != 50 || n.SMSWebhookURL == "" {
		t.Fatalf("config %+v", n)
	}
	if _, _, err := serveConfig([]string{"--data", data, "--notify", "--notify-base-url", "https://x", "--notify-daily-cap", "many"}, quietLog()); err == nil {
		t.Error("a daily cap of \"many\" accepted")
	}
}
