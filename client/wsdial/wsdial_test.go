package wsdial_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/shared/protocol"
)

// server echoes binary frames; a frame "bye" makes it close with the
// unauthorized close code.
func server(t *testing.T, origin *string) *httptest.Server {
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { *origin = r.Header.Get("Origin"); return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("deny") != "" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			typ, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if string(b) == "bye" {
				st := protocol.StatusOf(protocol.CodeUnauthorized)
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(st.Close, "session revoked"), time.Now().Add(time.Second))
				return
			}
			_ = ws.WriteMessage(typ, b)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEchoOriginAndCloseCode(t *testing.T) {
	var origin string
	srv := server(t, &origin)
	tr := &wsdial.Transport{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/sync", Origin: "https://plans.example"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if origin != "https://plans.example" {
		t.Fatalf("origin %q", origin)
	}
	frame := protocol.MustEncode(&protocol.Ping{Time: 42})
	if err := c.WriteMessage(ctx, frame); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadMessage(ctx)
	if err != nil || !bytes.Equal(got, frame) {
		t.Fatalf("echo: %v %x", err, got)
	}
	if err := c.WriteMessage(ctx, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadMessage(ctx)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnauthorized {
		t.Fatalf("close code not mapped: %v", err)
	}
}

func TestRefusedUpgradeMapsToCode(t *testing.T) {
	var origin string
	srv := server(t, &origin)
	tr := &wsdial.Transport{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/sync?deny=1"}
	_, err := tr.Dial(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnauthorized {
		t.Fatalf("got %v", err)
	}
}

func TestCancelledReadReturns(t *testing.T) {
	var origin string
	srv := server(t, &origin)
	tr := &wsdial.Transport{URL: "ws" + strings.TrimPrefix(srv.URL, "http")}
	c, err := tr.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := c.ReadMessage(ctx); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read did not return on cancel")
	}
}
