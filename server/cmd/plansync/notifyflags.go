package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/notify"
)

// notifyFlagSet holds serve's notification flags: everything is off
// unless --notify is given, and each channel is off unless configured.
// Secrets come from files, never from the command line.
type notifyFlagSet struct {
	on                               *bool
	baseURL, dailyCap                *string
	smtpHost, smtpUser, smtpPassFile *string
	smtpFrom, smtpTLS                *string
	smtpPort                         *int
	vapidFile, vapidSubject          *string
	smsAPI, smsAccount, smsTokenFile *string
	smsFrom, smsWebhook              *string
	replyDomain, replyAddr           *string
	timeZone                         *string
}

func notifyFlags(fs *flag.FlagSet) *notifyFlagSet {
	return &notifyFlagSet{
		on:           fs.Bool("notify", env("PLANSYNC_NOTIFY", "") == "1", "send notifications (push, email, text messages, the office's call list); off by default (env PLANSYNC_NOTIFY=1)"),
		baseURL:      fs.String("notify-base-url", env("PLANSYNC_NOTIFY_BASE_URL", ""), "public root of the web app, for the links in messages (env PLANSYNC_NOTIFY_BASE_URL)"),
		dailyCap:     fs.String("notify-daily-cap", env("PLANSYNC_NOTIFY_DAILY_CAP", ""), "messages one school may send per UTC day; default 2000"),
		smtpHost:     fs.String("smtp-host", env("PLANSYNC_SMTP_HOST", ""), "SMTP relay for email; email is off when empty (env PLANSYNC_SMTP_HOST)"),
		smtpPort:     fs.Int("smtp-port", 587, "SMTP relay port"),
		smtpUser:     fs.String("smtp-user", env("PLANSYNC_SMTP_USER", ""), "SMTP login; none when empty"),
		smtpPassFile: fs.String("smtp-password-file", env("PLANSYNC_SMTP_PASSWORD_FILE", ""), "file whose first line is the SMTP password"),
		smtpFrom:     fs.String("smtp-from", env("PLANSYNC_SMTP_FROM", ""), "From address of notification email"),
		smtpTLS:      fs.String("smtp-tls", "mandatory", "STARTTLS to the relay: mandatory, opportunistic or none"),
		vapidFile:    fs.String("vapid-key-file", env("PLANSYNC_VAPID_KEY_FILE", ""), `Web Push VAPID keys, JSON {"public":"…","private":"…"}; push is off when empty`),
		vapidSubject: fs.String("vapid-subject", env("PLANSYNC_VAPID_SUBJECT", ""), "contact for push services, mailto: or https:"),
		smsAPI:       fs.String("sms-api", env("PLANSYNC_SMS_API", ""), "root of a Twilio-style SMS API; text messages are off when empty"),
		smsAccount:   fs.String("sms-account", env("PLANSYNC_SMS_ACCOUNT", ""), "SMS API account id"),
		smsTokenFile: fs.String("sms-token-file", env("PLANSYNC_SMS_TOKEN_FILE", ""), "file whose first line is the SMS API auth token"),
		smsFrom:      fs.String("sms-from", env("PLANSYNC_SMS_FROM", ""), "sending number (E.164)"),
		smsWebhook:   fs.String("sms-webhook-url", env("PLANSYNC_SMS_WEBHOOK_URL", ""), "public URL of /api/notify/sms as configured at the provider; turns on text replies"),
		replyDomain:  fs.String("reply-domain", env("PLANSYNC_REPLY_DOMAIN", ""), "domain of email reply addresses (reply+…@DOMAIN); with --reply-addr turns on email replies"),
		timeZone:     fs.String("notify-time-zone", env("PLANSYNC_NOTIFY_TIME_ZONE", ""), "the school's IANA time zone (America/Chicago), for quiet hours and a family's stated times when a person chose none; default the server's"),
		replyAddr:    fs.String("reply-addr", env("PLANSYNC_REPLY_ADDR", ""), "listen address of the SMTP server that receives email replies"),
	}
}

func firstLine(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line), nil
}

func (n *notifyFlagSet) config() (*app.NotifyConfig, error) {
	if !*n.on {
		return nil, nil
	}
	if *n.baseURL == "" {
		return nil, errors.New("--notify needs --notify-base-url, the public root of the web app")
	}
	nc := &app.NotifyConfig{BaseURL: *n.baseURL, TimeZone: *n.timeZone, ReplyDomain: *n.replyDomain, ReplyAddr: *n.replyAddr, SMSWebhookURL: *n.smsWebhook}
	if *n.dailyCap != "" {
		if _, err := fmt.Sscanf(*n.dailyCap, "%d", &nc.DailyCap); err != nil || nc.DailyCap < 1 {
			return nil, fmt.Errorf("--notify-daily-cap: a number of messages, not %q", *n.dailyCap)
		}
	}
	if *n.smtpHost != "" {
		e := &notify.EmailConfig{Host: *n.smtpHost, Port: *n.smtpPort, Username: *n.smtpUser, From: *n.smtpFrom, TLS: *n.smtpTLS}
		if *n.smtpPassFile != "" {
			pw, err := firstLine(*n.smtpPassFile)
			if err != nil {
				return nil, fmt.Errorf("--smtp-password-file: %w", err)
			}
			e.Password = pw
		}
		nc.Email = e
	}
	if *n.vapidFile != "" {
		b, err := os.ReadFile(*n.vapidFile)
		if err != nil {
			return nil, fmt.Errorf("--vapid-key-file: %w", err)
		}
		var k struct{ Public, Private string }
		if err := json.Unmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("--vapid-key-file: %w", err)
		}
		nc.Push = &notify.PushConfig{PublicKey: k.Public, PrivateKey: k.Private, Subscriber: *n.vapidSubject}
	}
	if *n.smsAPI != "" {
		tok, err := firstLine(*n.smsTokenFile)
		if err != nil {
			return nil, fmt.Errorf("--sms-token-file: %w", err)
		}
		nc.SMS = &notify.TwilioStyle{BaseURL: *n.smsAPI, AccountSID: *n.smsAccount, AuthToken: tok, From: *n.smsFrom}
	}
	return nc, nil
}
