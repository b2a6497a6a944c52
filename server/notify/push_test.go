package notify

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// RFC 8291 section 5 (appendix A), the push message encryption example.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcASPublic  = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func b64u(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	must(t, err)
	return b
}

// uaDecrypt is what a browser does with a push message (RFC 8291 over
// RFC 8188's aes128gcm, one record), written from the RFCs for the test:
// checked against the RFC's example first, then used to read what the
// server sent.
func uaDecrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("bad header")
	}
	asPub, ct := body[21:21+idlen], body[21+idlen:]
	pub, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		return nil, err
	}
	secret, err := ua.ECDH(pub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPub...)
	ikm, err := hkdf.Key(sha256.New, secret, auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if uint32(len(ct)) > rs {
		return nil, errors.New("more than one record")
	}
	pt, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, err
	}
	// The last record ends with 0x02 then padding zeros (RFC 8188 §2).
	i := bytes.LastIndexFunc(pt, func(r rune) bool { return r != 0 })
	if i < 0 || pt[i] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return pt[:i], nil
}

func TestRFC8291Vector(t *testing.T) {
	ua, err := ecdh.P256().NewPrivateKey(b64u(t, rfcUAPrivate))
	must(t, err)
	if !bytes.Equal(ua.PublicKey().Bytes(), b64u(t, rfcUAPublic)) {
		t.Fatal("the RFC's user agent key pair does not match")
	}
	body := b64u(t, rfcBody)
	if !bytes.Equal(body[:16], b64u(t, rfcSalt)) || !bytes.Equal(body[21:86], b64u(t, rfcASPublic)) {
		t.Fatal("the RFC body's header is not its salt and sender key")
	}
	pt, err := uaDecrypt(body, ua, b64u(t, rfcAuth))
	must(t, err)
	if string(pt) != rfcPlaintext {
		t.Fatalf("decrypted %q", pt)
	}
	// One flipped bit anywhere is refused.
	body[len(body)-1] ^= 1
	if _, err := uaDecrypt(body, ua, b64u(t, rfcAuth)); err == nil {
		t.Fatal("a damaged body decrypted")
	}
}

type pushed struct {
	header http.Header
	body   []byte
}

// A note reaches the parent's push subscription: a real HTTPS push
// service on 127.0.0.1 receives an aes128gcm body, VAPID-signed, which the
// RFC-checked decrypter reads as the Spanish message with its link.
func TestPushEncryptedToSubscription(t *testing.T) {
	var mu sync.Mutex
	var got []pushed
	ps := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, pushed{header: r.Header.Clone(), body: b})
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer ps.Close()
	priv, pub, err := webpush.GenerateVAPIDKeys()
	must(t, err)
	push, err := NewPush(PushConfig{PublicKey: pub, PrivateKey: priv, Subscriber: "mailto:office@school.example.org", HTTPClient: ps.Client()})
	must(t, err)

	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	must(t, err)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	sub := &PushSubscription{Endpoint: ps.URL + "/push/sub-1"}
	sub.Keys.P256dh = base64.RawURLEncoding.EncodeToString(ua.PublicKey().Bytes())
	sub.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)

	w := newWorld(t)
	svc := w.start(Options{Channels: []Channel{push}})
	defer w.stop()
	w.setPrefs(w.parent.ID, Prefs{Channels: []string{ChanPush}, Push: sub, TimeZone: "UTC", Digest: DigestNow, Lang: "es-MX"})
	noteID := w.note(w.teacher.ID, "secret words")
	if n, err := svc.DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("push service got %d messages", len(got))
	}
	h := got[0].header
	if h.Get("Content-Encoding") != "aes128gcm" || !strings.HasPrefix(h.Get("Authorization"), "vapid t=") || h.Get("TTL") == "" || h.Get("Topic") == "" {
		t.Errorf("headers %v", h)
	}
	pt, err := uaDecrypt(got[0].body, ua, auth)
	must(t, err)
	var pb pushBody
	must(t, json.Unmarshal(pt, &pb))
	if pb.Lang != "es" || !strings.Contains(pb.Body, "escribió una nota en el plan de Ana") || !strings.HasSuffix(pb.URL, "/notes/"+noteID.String()) {
		t.Errorf("push body %+v", pb)
	}
	if strings.Contains(string(pt), "secret words") {
		t.Error("the push carries the note's text")
	}
}
