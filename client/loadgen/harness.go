package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strings"
	"time"
)

// Harness phases (CONTRACT.md, "The load generator").
const (
	PhaseMeasureStart = "measure-start" // reset the proxy's byte counters
	PhaseMeasureEnd   = "measure-end"   // snapshot them
	PhaseOffline      = "offline"       // cut every connection through the proxy
	PhaseOnline       = "online"        // accept connections again
)

// DefaultAckTimeout bounds the wait for the harness's "ok" after a control
// line. A harness that does not answer in this long is assumed gone; the
// workload goes on rather than hang (the engines are taken offline and
// back online themselves, so the workload stays correct without it).
const DefaultAckTimeout = 30 * time.Second

// Harness speaks the control protocol: JSON lines on out, "ok" lines on in.
// In standalone mode (no harness, or stdin at EOF) it writes the lines and
// does not wait. Methods may not be called concurrently.
type Harness struct {
	out        io.Writer
	log        *log.Logger
	standalone bool
	ackTimeout time.Duration
	lines      <-chan string // from the stdin reader; closed at EOF
}

// NewHarness returns a harness writing control lines to out and reading
// answers from in; in == nil means standalone. The stdin reader goroutine
// it starts ends at EOF or a read error: a blocking read cannot be
// interrupted, so it may outlive the workload until the process exits,
// holding nothing but the reader.
func NewHarness(out io.Writer, in io.Reader, logger *log.Logger, ackTimeout time.Duration) *Harness {
	if ackTimeout <= 0 {
		ackTimeout = DefaultAckTimeout
	}
	h := &Harness{out: out, log: logger, standalone: in == nil, ackTimeout: ackTimeout}
	if in != nil {
		ch := make(chan string, 1)
		h.lines = ch
		go func() {
			defer close(ch)
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				ch <- strings.TrimSpace(sc.Text())
			}
		}()
	}
	return h
}

// Phase writes a control line and waits for the harness's "ok".
func (h *Harness) Phase(name string) error {
	if err := h.writeJSON(map[string]string{"phase": name}); err != nil {
		return err
	}
	if h.standalone {
		return nil
	}
	t := time.NewTimer(h.ackTimeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				h.log.Printf("stdin closed: no harness, going on standalone")
				h.standalone = true
				return nil
			}
			if line == "ok" {
				return nil
			}
			h.log.Printf("harness said %q, waiting for ok", line)
		case <-t.C:
			h.log.Printf("no ok for phase %s within %v; going on without the harness", name, h.ackTimeout)
			h.standalone = true
			return nil
		}
	}
}

// Result writes the result, the last JSON line.
func (h *Harness) Result(v any) error { return h.writeJSON(v) }

func (h *Harness) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(h.out, "%s\n", b)
	return err
}
