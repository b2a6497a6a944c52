package translate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// libreServer speaks LibreTranslate's API as its documentation and
// source give it: GET /languages, POST /translate with a JSON body,
// errors as {"error": "..."} with 400, 403 and 429.
type libreServer struct {
	mu    sync.Mutex
	calls []libreRequest
	langs int
}

func (ls *libreServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/languages":
		ls.mu.Lock()
		ls.langs++
		ls.mu.Unlock()
		_, _ = w.Write([]byte(`[{"code":"en","name":"English","targets":["en","es","fr"]},{"code":"es","name":"Spanish","targets":["en","es"]}]`))
	case r.Method == http.MethodPost && r.URL.Path == "/translate":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"Invalid request: missing q parameter"}`))
			return
		}
		var req libreRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Q == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"Invalid request: missing q parameter"}`))
			return
		}
		ls.mu.Lock()
		ls.calls = append(ls.calls, req)
		ls.mu.Unlock()
		switch {
		case req.APIKey != "" && req.APIKey != "good-key":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"Invalid API key"}`))
		case req.Q == "slow down":
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"Too many request limits violations"}`))
		case req.Source == "en" && req.Target == "es" && req.Q == "Thank you for the meeting.":
			_, _ = w.Write([]byte(`{"translatedText":"Gracias por la reunión."}`))
		default:
			_ = json.NewEncoder(w).Encode(map[string]string{"translatedText": "[" + req.Target + "] " + req.Q})
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"Not Found"}`))
	}
}

func TestLibreTranslateHTTP(t *testing.T) {
	ls := &libreServer{}
	srv := httptest.NewServer(ls)
	defer srv.Close()
	ctx := context.Background()
	l, err := NewLibreTranslate(LibreOptions{URL: srv.URL + "/", APIKey: "good-key"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Translate(ctx, "Thank you for the meeting.", "en-US", "es-MX")
	if err != nil || got != "Gracias por la reunión." {
		t.Fatalf("Translate = %q, %v", got, err)
	}
	ls.mu.Lock()
	first := ls.calls[0]
	ls.mu.Unlock()
	if first != (libreRequest{Q: "Thank you for the meeting.", Source: "en", Target: "es", Format: "text", APIKey: "good-key"}) {
		t.Errorf("request = %+v", first)
	}
	if ok, err := l.Supports(ctx, "es", "fr"); ok || err != nil {
		t.Errorf("Supports(es, fr) = %v, %v; the server lists no es to fr", ok, err)
	}
	if _, err := l.Translate(ctx, "Hola", "es", "fr"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("es to fr: %v, want ErrUnsupported", err)
	}
	if _, err := l.Translate(ctx, "slow down", "en", "es"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "Too many") {
		t.Errorf("429: %v, want ErrBusy with the server's words", err)
	}
	if _, err := l.Translate(ctx, strings.Repeat("a", DefaultMaxInput+1), "en", "es"); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	ls.mu.Lock()
	if ls.langs != 1 {
		t.Errorf("/languages fetched %d times, want once (cached)", ls.langs)
	}
	ls.mu.Unlock()

	bad, _ := NewLibreTranslate(LibreOptions{URL: srv.URL, APIKey: "wrong"})
	if _, err := bad.Translate(ctx, "Hello", "en", "es"); err == nil || !strings.Contains(err.Error(), "403: Invalid API key") {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := NewLibreTranslate(LibreOptions{URL: "ftp://x"}); err == nil {
		t.Error("ftp URL accepted")
	}
	down, _ := NewLibreTranslate(LibreOptions{URL: "http://127.0.0.1:1"})
	if _, err := down.Translate(ctx, "Hello", "en", "es"); err == nil {
		t.Error("a server that is down translated")
	}
}
