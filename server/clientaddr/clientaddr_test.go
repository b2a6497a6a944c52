package clientaddr_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/plansync/plansync/server/clientaddr"
)

// serve runs a real server on 127.0.0.1 answering each request with its
// client key under r.
func serve(t *testing.T, r *clientaddr.Resolver) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, r.Key(req))
	}), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return "http://" + ln.Addr().String()
}

// keyFrom asks url for the key of a request sent from local (a loopback
// source address) with the given X-Forwarded-For headers.
func keyFrom(t *testing.T, url, local string, xff ...string) string {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range xff {
		req.Header.Add("X-Forwarded-For", h)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestForwardedOnlyFromTrustedProxies: the forwarding header is believed
// only when the TCP peer is a listed proxy, and then the rightmost hop that
// is not a trusted proxy is the client; a spoofed leftmost hop is ignored.
func TestForwardedOnlyFromTrustedProxies(t *testing.T) {
	trusted, err := clientaddr.ParsePrefixes("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, clientaddr.New(trusted))
	cases := []struct {
		name, local string
		xff         []string
		want        string
	}{
		{"no header from the proxy", "127.0.0.1", nil, "127.0.0.1"},
		{"one hop through the proxy", "127.0.0.1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"spoofed left hop", "127.0.0.1", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5"},
		{"inner trusted proxy skipped", "127.0.0.1", []string{"1.2.3.4, 203.0.113.5, 10.1.2.3"}, "203.0.113.5"},
		{"two header lines", "127.0.0.1", []string{"1.2.3.4", "203.0.113.6"}, "203.0.113.6"},
		{"malformed hop stops at the proxy", "127.0.0.1", []string{"203.0.113.5, garbage"}, "127.0.0.1"},
		{"IPv6 client grouped by /64", "127.0.0.1", []string{"2001:db8:aa:bb:1:2:3:4"}, "2001:db8:aa:bb::/64"},
		{"IPv4-mapped IPv6 is IPv4", "127.0.0.1", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		// 127.0.0.2 is not a listed proxy: its header is anyone's claim.
		{"untrusted peer's header ignored", "127.0.0.2", []string{"203.0.113.5"}, "127.0.0.2"},
	}
	for _, c := range cases {
		if got := keyFrom(t, url, c.local, c.xff...); got != c.want {
			t.Errorf("%s: key %q, want %q", c.name, got, c.want)
		}
	}
	// With no trusted proxies at all, the header never counts.
	plain := serve(t, clientaddr.New(nil))
	if got := keyFrom(t, plain, "127.0.0.1", "203.0.113.5"); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: key %q, want the peer", got)
	}
}

func TestKeyGroupsIPv6By64(t *testing.T) {
	a := clientaddr.KeyOf(netip.MustParseAddr("2001:db8:1:2:aaaa::1"))
	b := clientaddr.KeyOf(netip.MustParseAddr("2001:db8:1:2:bbbb::2"))
	c := clientaddr.KeyOf(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c || a != "2001:db8:1:2::/64" {
		t.Fatalf("keys %q %q %q", a, b, c)
	}
	if _, err := clientaddr.ParsePrefixes("10.0.0.0/8, not-an-ip"); err == nil {
		t.Fatal("a bad proxy entry was accepted")
	}
}
