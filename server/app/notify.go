package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/plansync/plansync/server/notify"
	"github.com/prometheus/client_golang/prometheus"
)

// NotifyConfig turns on notifications (server/notify); nil leaves them
// off, and then nothing is queued and no channel is contacted.
type NotifyConfig struct {
	// BaseURL is the public root of the web app, for the links in
	// messages (https://plans.example.org).
	BaseURL string
	// Channels the operator configured; each nil one is off. A server
	// with none still makes the office's call list.
	Email *notify.EmailConfig
	Push  *notify.PushConfig
	SMS   *notify.TwilioStyle
	// SMSWebhookURL is the public URL of POST /api/notify/sms as entered
	// at the provider; with SMS set it turns on text replies.
	SMSWebhookURL string
	// ReplyDomain and ReplyAddr turn on email replies: messages say
	// Reply-To reply+TOKEN@ReplyDomain, and an SMTP server on ReplyAddr
	// (where that domain's MX points) lands them.
	ReplyDomain, ReplyAddr string
	DailyCap               int
	// TimeZone is the school's IANA zone for defaults (quiet hours, a
	// family's "after 6 pm"); the server's local zone when empty.
	TimeZone string
	Poll     time.Duration // tests
	Clock    notify.Clock  // tests
}

// openNotify builds and starts the notifier and its reply server.
func (a *App) openNotify(ctx context.Context) error {
	nc := a.cfg.Notify
	if _, err := time.LoadLocation(nc.TimeZone); err != nil {
		return fmt.Errorf("notify: time zone: %w", err)
	}
	o := notify.Options{TimeZone: nc.TimeZone, Store: a.Store, Auth: a.Auth, BaseURL: nc.BaseURL, DailyCap: nc.DailyCap, Poll: nc.Poll,
		Clock: nc.Clock, Logger: a.log}
	if nc.Email != nil {
		e, err := notify.NewEmail(*nc.Email)
		if err != nil {
			return err
		}
		o.Channels = append(o.Channels, e)
	}
	if nc.Push != nil {
		p, err := notify.NewPush(*nc.Push)
		if err != nil {
			return err
		}
		o.Channels = append(o.Channels, p)
	}
	if nc.SMS != nil {
		if nc.SMS.BaseURL == "" || nc.SMS.AccountSID == "" || nc.SMS.AuthToken == "" || nc.SMS.From == "" {
			return errors.New("notify: text messages need the provider's API URL, account, token and sending number")
		}
		o.Channels = append(o.Channels, notify.SMS{P: nc.SMS})
		if nc.SMSWebhookURL != "" {
			o.SMSInbound, o.SMSPublicURL = nc.SMS, nc.SMSWebhookURL
		}
	}
	if nc.ReplyDomain != "" && nc.ReplyAddr != "" {
		o.ReplyDomain = nc.ReplyDomain
	}
	a.Notify = notify.New(o)
	n := a.Notify
	for _, c := range []struct {
		name, help string
		v          func(notify.Stats) uint64
	}{
		{"plansync_notify_queued_total", "Notification items queued for a channel.", func(s notify.Stats) uint64 { return s.Queued }},
		{"plansync_notify_sent_total", "Notification items a channel accepted (a digest counts each item).", func(s notify.Stats) uint64 { return s.Sent }},
		{"plansync_notify_failed_total", "Notification items failed for good (refused, or out of attempts).", func(s notify.Stats) uint64 { return s.Failed }},
		{"plansync_notify_call_total", "Notification items put on the office's call list.", func(s notify.Stats) uint64 { return s.Called }},
		{"plansync_notify_cap_held_total", "Notification items held to the next day by the school's daily cap.", func(s notify.Stats) uint64 { return s.CapHeld }},
		{"plansync_notify_dropped_total", "Committed groups the notifier's queue had no room for (read back from the store).", func(s notify.Stats) uint64 { return s.Dropped }},
		{"plansync_notify_replies_total", "Email and text replies landed as notes.", func(s notify.Stats) uint64 { return s.Replies }},
		{"plansync_notify_replies_refused_total", "Replies refused: unmatched, unsigned, rate-limited or empty.", func(s notify.Stats) uint64 { return s.RepliesRefused }},
	} {
		v := c.v
		a.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(v(n.Stats())) }))
	}
	if err := a.Notify.Start(ctx); err != nil {
		return err
	}
	if o.ReplyDomain != "" {
		ln, err := net.Listen("tcp", nc.ReplyAddr)
		if err != nil {
			a.Notify.Close()
			return fmt.Errorf("notify: reply server: %w", err)
		}
		a.replySMTP = a.Notify.ReplyServer()
		a.replyAddr = ln.Addr().String()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.replySMTP.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				a.log.Error("notify: reply server stopped", "err", err)
			}
		}()
	}
	return nil
}

// ReplyAddr is the address of the email reply server, "" when off.
func (a *App) ReplyAddr() string { return a.replyAddr }

// closeNotify stops the reply server and the notifier, before the store.
func (a *App) closeNotify(ctx context.Context) error {
	var err error
	if a.replySMTP != nil {
		if serr := a.replySMTP.Shutdown(ctx); serr != nil && !errors.Is(serr, smtp.ErrServerClosed) {
			err = serr
		}
	}
	if a.Notify != nil {
		a.Notify.Close()
	}
	return err
}

// withNotify serves the notifier's routes (/api/notify/) beside the API.
func withNotify(api http.Handler, n *notify.Service) http.Handler {
	if n == nil {
		return api
	}
	nh := n.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/notify/") {
			nh.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
