package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/httpd"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// returning their files and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "plansync test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSModeSendsHSTS: with --tls-cert/--tls-key the server speaks HTTPS
// and wss, and sends HSTS; without them it speaks plain HTTP and sends no
// HSTS (a proxy in front sends its own).
func TestTLSModeSendsHSTS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	a := open(t, app.Config{TLSCert: certFile, TLSKey: keyFile})
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	resp, err := c.Get(a.BaseURL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") != httpd.HSTSValue {
		t.Fatalf("https /healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + a.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	// The sync socket upgrades over TLS.
	d := websocket.Dialer{TLSClientConfig: tc, HandshakeTimeout: 10 * time.Second}
	ws, wr, err := d.Dial(a.URL(), nil)
	if err != nil {
		t.Fatalf("wss dial %s: %v", a.URL(), err)
	}
	ws.Close()
	if wr.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("wss upgrade: %d", wr.StatusCode)
	}

	plain := open(t, app.Config{})
	resp, err = http.Get(plain.BaseURL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
		t.Fatalf("plain HTTP sends HSTS %q", h)
	}
	if _, err := app.Open(t.Context(), app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), TLSCert: certFile}); err == nil {
		t.Fatal("a certificate without its key was accepted")
	}
}
