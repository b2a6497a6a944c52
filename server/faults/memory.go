package faults

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/plansync/plansync/client/loadgen"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
)

// Memory scenario limits. The per-connection queue bound is below the
// default (8 MiB) so that a few hundred writes fill it: what is proved is
// that a slow reader costs at most its bound, whatever the bound is.
const (
	memMaxPendingBytes = 256 << 10
	memSendQueueFrames = 64
)

// MemoryResult is the memory figure. What is measured is the Go heap in
// use plus goroutine stacks (runtime.MemStats HeapInuse + StackInuse),
// sampled every 20 ms, of the whole process: the server and the bare
// sockets it serves, which run in the same process (a socket costs its
// client side one goroutine and a 4 KiB read buffer). The process's
// resident set (VmRSS) is reported beside it; it also holds memory the Go
// runtime has not yet returned, so it only grows across phases.
type MemoryResult struct {
	Scenario string `json:"scenario"`
	Clients  int    `json:"clients"`
	// PeakMB: every socket reads, while changes are pushed.
	PeakMB float64 `json:"peakRssMB"`
	// SlowPeakMB: every socket stops reading, while changes are pushed,
	// until all of them are cut as slow consumers.
	SlowPeakMB float64 `json:"slowReaderPeakRssMB"`
	// BaseMB is the same measure before any socket connected.
	BaseMB             float64 `json:"baseMB"`
	Goroutines         int     `json:"peakGoroutines"`
	SlowGoroutines     int     `json:"slowReaderPeakGoroutines"`
	VmRSSMB            float64 `json:"peakVmRssMB"`
	Changes            int     `json:"changes"`
	SlowCut            int     `json:"slowReadersCut"`
	PendingBoundPerCon int     `json:"pendingBytesBoundPerConnection"`
}

// sampler tracks the peak of heap in use plus stacks.
type sampler struct {
	mu         sync.Mutex
	peak       uint64
	goroutines int
	rss        float64
	stop       chan struct{}
	done       chan struct{}
}

func inUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

func startSampler() *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			u, g, r := inUse(), runtime.NumGoroutine(), vmRSSMB()
			s.mu.Lock()
			s.peak, s.goroutines, s.rss = max(s.peak, u), max(s.goroutines, g), max(s.rss, r)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) end() (peakMB float64, goroutines int, rss float64) {
	close(s.stop)
	<-s.done
	return mb(s.peak), s.goroutines, s.rss
}

func mb(b uint64) float64 { return float64(b*10/(1<<20)) / 10 }

// vmRSSMB is this process's resident set, read as loadgen reads a server's,
// kept to 0.1 MB like the other figures here (0 where there is no /proc).
func vmRSSMB() float64 {
	r, err := loadgen.RSSMB(os.Getpid())
	if err != nil {
		return 0
	}
	return math.Round(r*10) / 10
}

// Memory connects clients bare sockets to one server in one space, pushes
// changes to them and measures memory: first with every socket reading,
// then, on a fresh server, with none reading. Slow readers must all be cut
// and the peak must stay under the bound the queue limits promise.
func Memory(ctx context.Context, dir string, clients int, rng *rand.Rand, logf Logf) (res MemoryResult, err error) {
	res = MemoryResult{Scenario: "memory", Clients: clients, PendingBoundPerCon: memMaxPendingBytes}
	// Every socket is user 0's one session, from one address, with a
	// device id of its own: the per-user device bound and the connection
	// caps are raised to fit them, since what is measured is the cost of a
	// socket, not of a person.
	capped := clients + 8 // the writer, and room for sockets still closing
	opts := hub.Options{MaxPendingBytes: memMaxPendingBytes, SendQueueFrames: memSendQueueFrames, WriteWait: 5 * time.Second,
		MaxDevicesPerUser: clients + 1, MaxConns: max(capped, hub.DefaultMaxConns), MaxConnsPerAddr: capped,
		MaxConnsPerUser: capped, MaxConnsPerSession: capped}

	phase := func(name string, read bool) (peak float64, goroutines int, changes, cut int, err error) {
		w, err := NewWorld(ctx, fmt.Sprintf("%s/%s", dir, name), Config{Users: 2, Hub: opts, Rand: rng})
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer func() { err = errors.Join(err, w.Close()) }()
		writer, err := w.NewClient(ctx, "writer", ClientOptions{User: 1})
		if err != nil {
			return 0, 0, 0, 0, err
		}
		runtime.GC()
		debug.FreeOSMemory()
		base := mb(inUse())
		if res.BaseMB == 0 {
			res.BaseMB = base
		}
		s := startSampler()
		socks := make([]*Sock, 0, clients)
		defer func() {
			for _, k := range socks {
				_ = k.Close()
			}
		}()
		for range clients {
			k, err := DialSock(ctx, w.URL(), w.Token(0))
			if err != nil {
				s.end()
				return 0, 0, 0, 0, fmt.Errorf("socket %d: %w", len(socks), err)
			}
			if read {
				k.Drain()
			}
			socks = append(socks, k)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*converged)
		defer cancel()
		if read {
			// 200 changes of 2 KB, in bursts, to sockets that read them.
			for i := range 200 {
				if _, err := writer.Create(wctx, "notes", map[string]any{"text": text(rng, 2<<10)}); err != nil {
					s.end()
					return 0, 0, 0, 0, err
				}
				if i%20 == 19 {
					if err := WaitSynced(wctx, writer); err != nil {
						s.end()
						return 0, 0, 0, 0, err
					}
				}
			}
			changes = 200
			var head uint64
			if head, err = w.App.Store.Head(wctx, w.Space); err != nil {
				s.end()
				return 0, 0, 0, 0, err
			}
			err = waitFor(wctx, 2*converged, "every socket caught up", func() bool {
				for _, k := range socks {
					if k.Cursor() < head {
						return false
					}
				}
				return true
			})
		} else {
			// Changes of 8 KB until every slow socket is cut, at most 4000.
			for changes < 4000 && w.App.Hub.Connections() > 1 {
				for range 20 {
					if _, err := writer.Create(wctx, "notes", map[string]any{"text": text(rng, 8<<10)}); err != nil {
						s.end()
						return 0, 0, 0, 0, err
					}
				}
				changes += 20
				if err := WaitSynced(wctx, writer); err != nil {
					s.end()
					return 0, 0, 0, 0, err
				}
			}
			cut = int(counter(w, string(protocol.CodeSlowConsumer)) + counter(w, "write_failed"))
			if n := w.App.Hub.Connections() - 1; n > 0 {
				err = fmt.Errorf("%d of %d slow readers still connected after %d changes", n, clients, changes)
			}
		}
		peak, goroutines, rss := s.end()
		res.VmRSSMB = max(res.VmRSSMB, rss)
		logf("memory %s: %d sockets, %d changes: peak %.1f MB heap+stacks (base %.1f), %d goroutines, VmRSS %.1f MB", name, clients, changes, peak, base, goroutines, rss)
		return peak, goroutines, changes, cut, err
	}

	if res.PeakMB, res.Goroutines, res.Changes, _, err = phase("readers", true); err != nil {
		return res, err
	}
	var slowChanges int
	if res.SlowPeakMB, res.SlowGoroutines, slowChanges, res.SlowCut, err = phase("slow", false); err != nil {
		return res, err
	}
	// What the queue limits promise: each slow connection holds at most
	// its pending bound, on top of what the same sockets cost reading.
	bound := res.PeakMB + mb(uint64(clients)*memMaxPendingBytes)
	logf("memory: slow readers peaked at %.1f MB after %d changes; the queue bound allows %.1f MB", res.SlowPeakMB, slowChanges, bound)
	if res.SlowPeakMB > bound {
		return res, fmt.Errorf("slow readers took %.1f MB, over the %.1f MB the queue bounds allow", res.SlowPeakMB, bound)
	}
	return res, nil
}

// counter reads the hub's disconnect counter for reason.
func counter(w *World, reason string) float64 {
	mfs, err := w.App.Registry.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "plansync_hub_disconnects_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
