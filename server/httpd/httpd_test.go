package httpd_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/httpd"
	"github.com/plansync/plansync/shared/record"
)

// short timeouts, so the tests need not wait the real ones out.
var short = httpd.Timeouts{Read: 300 * time.Millisecond, Write: 300 * time.Millisecond}

// TestSlowBodyIsCutOff: a request body trickled a byte at a time is cut
// off at the read timeout instead of holding the connection for as long
// as the sender likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) { c.HTTPTimeouts = short })
	conn, err := net.DialTimeout("tcp", e.App.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", e.App.Addr())
	closed := make(chan error, 1)
	go func() {
		// Whatever the server answers, it then closes the connection.
		r := bufio.NewReader(conn)
		for {
			if _, err := r.ReadByte(); err != nil {
				closed <- err
				return
			}
		}
	}()
	start := time.Now()
	// 1000 bytes at 20 a second would take 50 s; give up trickling at 5 s.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 100 {
		select {
		case <-closed:
			cutOff(t, time.Since(start), "the server closed it")
			return
		case <-tick.C:
			if _, err := conn.Write([]byte(" ")); err != nil {
				cutOff(t, time.Since(start), fmt.Sprintf("a write was refused (%v)", err))
				return
			}
		}
	}
	t.Fatal("the server still read a trickled body after 5 s (read timeout 300 ms)")
}

// cutOff fails a trickled body that was cut off, one way or the other,
// only after far longer than the 300 ms read timeout.
func cutOff(t *testing.T, took time.Duration, how string) {
	t.Helper()
	if took > 3*time.Second {
		t.Fatalf("the slow body was cut off only after %v: %s", took, how)
	}
	t.Logf("slow body cut off after %v: %s", took, how)
}

// TestSyncSocketOutlivesHTTPTimeouts: a sync socket keeps working long
// after the read and write timeouts that bound plain requests.
func TestSyncSocketOutlivesHTTPTimeouts(t *testing.T) {
	e := apitest.Start(t, func(c *app.Config) { c.HTTPTimeouts = short })
	s := e.MustDial(e.Family.Token)
	time.Sleep(4 * short.Write)
	op := s.Op(e.Ana.ID, "notes", apitest.NewID(), map[string]any{"kind": "praise", "text": "still here", "lang": "en"})
	if r := s.PushOne(op); r.Code != "" || r.Seq == 0 {
		t.Fatalf("push after the write timeout: %s", apitest.String(r))
	}
	// And the server can still write to it unprompted: another member's
	// change arrives.
	t2 := e.MustDial(e.Teacher.Token)
	op2 := t2.Op(e.Ana.ID, "notes", apitest.NewID(), map[string]any{"kind": "praise", "text": "from school", "lang": "en"})
	if r := t2.PushOne(op2); r.Code != "" {
		t.Fatalf("teacher's push: %s", apitest.String(r))
	}
	time.Sleep(2 * short.Write)
	if !s.HasRecord(record.Key{Space: e.Ana.ID, Collection: "notes", ID: op2.ID}, 10*time.Second) {
		t.Fatal("the family's socket did not get the teacher's change after the timeouts")
	}
	select {
	case <-s.Closed():
		t.Fatal("the sync socket was closed")
	default:
	}
}
