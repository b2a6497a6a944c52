package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// writeCA makes a CA and one node certificate it signs (for 127.0.0.1,
// server and client use: routes are both), as PEM files in dir.
func writeCA(t *testing.T, dir, name string) *natsserver.TLSConfigOpts {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) string {
		p := filepath.Join(dir, name+"-"+file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &natsserver.TLSConfigOpts{CertFile: write("cert.pem", "CERTIFICATE", der), KeyFile: write("key.pem", "EC PRIVATE KEY", kb),
		CaFile: write("ca.pem", "CERTIFICATE", caDER), Verify: true}
}

// TestRouteTLS: three nodes with route TLS (one CA) form a cluster and
// take writes; a node whose certificate another CA signed never gets a
// route to them.
func TestRouteTLS(t *testing.T) {
	dir := t.TempDir()
	tr := newTrioTLS(t, writeCA(t, dir, "district"))
	res, err := tr.members[0].store.Commit(context.Background(), []record.Op{newWriter().op(uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), "t", "x")})
	if err != nil || res[0].Seq != 1 {
		t.Fatalf("commit over TLS routes: %+v %v", res, err)
	}
	rogue, err := StartNode(NodeConfig{Name: "rogue", Dir: t.TempDir(), ClusterName: "test",
		ClusterListen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Routes: tr.routes, Logger: quiet(),
		RouteTLS: writeCA(t, dir, "rogue")})
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Shutdown()
	time.Sleep(2 * time.Second)
	if n := rogue.srv.NumRoutes(); n != 0 {
		t.Fatalf("a node with another CA's certificate has %d routes", n)
	}
	if n := tr.members[0].node.srv.NumRoutes(); n == 0 {
		t.Fatal("the trusted nodes have no routes")
	}
}
