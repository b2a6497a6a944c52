package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
)

// seqField is the field each update sets to its index.
const seqField = "seq"

// Latency summarizes delivery latencies in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// W3Result is the live fan-out's result.
type W3Result struct {
	Workload   string  `json:"workload"`
	Completed  bool    `json:"completed"`
	Clients    int     `json:"clients"`
	Readers    int     `json:"readers"`
	Updates    int     `json:"updates"`
	TargetRate float64 `json:"targetRate"`
	// AchievedRate is updates per second over the sending: (sent-1)
	// divided by the time from the first send to the last.
	AchievedRate float64 `json:"achievedRate"`
	ReadersReady int     `json:"readersReady"`
	SetupMs      float64 `json:"setupMs"`
	LatencyMs    Latency `json:"latencyMs"`
	// ExpectedDeliveries is readers × updates sent; it equals delivered +
	// superseded + lost.
	ExpectedDeliveries int `json:"expectedDeliveries"`
	Delivered          int `json:"delivered"`
	Superseded         int `json:"superseded"`
	Lost               int `json:"lost"`
	// LateDeliveries are deliveries found by the final read after a
	// reader's event channel overflowed; they count as delivered but carry
	// no latency.
	LateDeliveries   int      `json:"lateDeliveries"`
	ReadersConverged int      `json:"readersConverged"`
	DrainMs          float64  `json:"drainMs"`
	BytesUp          int64    `json:"bytesUp"`
	BytesDown        int64    `json:"bytesDown"`
	BytesPerUpdate   float64  `json:"bytesPerUpdate"`
	ServerRssMB      *float64 `json:"serverRssMB,omitempty"`
	ClientCPUMs      float64  `json:"clientCpuMs"`
	Error            string   `json:"error,omitempty"`
}

// fanout is the state one w3 run shares between the writer and readers.
type fanout struct {
	hot    map[record.Key]int // hot record → its index
	k      int
	final  []int64        // per hot record, the last update that targets it (-1: none)
	sentAt []atomic.Int64 // per update, UnixNano just before the writer's Put
}

// reader is one reading client. Its goroutine owns the counters until it
// ends; lastSeen is also read by the final pass after it ended.
type reader struct {
	e           *client.Engine
	events      <-chan client.Event
	unsubscribe func()
	lastSeen    []int64 // per hot record, the highest seq surfaced (-1: none)
	remaining   int     // hot records not yet at their final seq
	latencies   []float64
	delivered   int
	superseded  int
	late        int
	convergedAt time.Time
	done        chan struct{} // closed when remaining reaches 0
}

// observe accounts for the reader holding seq on hot record idx at now;
// timed is false when the observation did not come from an event, so the
// moment is not when the engine surfaced it.
func (rd *reader) observe(f *fanout, idx int, seq int64, now time.Time, timed bool) {
	last := rd.lastSeen[idx]
	if seq <= last {
		return
	}
	// The updates of record idx are idx, idx+k, idx+2k, ...: the ones
	// between last and seq were replaced before this reader saw them.
	next := last + int64(f.k)
	if last < 0 {
		next = int64(idx)
	}
	for j := next; j < seq; j += int64(f.k) {
		rd.superseded++
	}
	rd.delivered++
	if !timed {
		rd.late++
	} else if at := f.sentAt[seq].Load(); at > 0 {
		rd.latencies = append(rd.latencies, float64(now.UnixNano()-at)/float64(time.Millisecond))
	}
	rd.lastSeen[idx] = seq
	if seq == f.final[idx] {
		rd.remaining--
		if rd.remaining == 0 {
			rd.convergedAt = now
			close(rd.done)
		}
	}
}

// run consumes the reader's events until stop closes or the engine ends
// the subscription. An event is "something changed": the reader reads the
// record and accounts for the seq it holds.
func (rd *reader) run(f *fanout, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case ev, ok := <-rd.events:
			if !ok {
				return
			}
			rc, ok := ev.(client.RecordChanged)
			if !ok {
				continue
			}
			idx, ok := f.hot[rc.Key]
			if !ok {
				continue
			}
			seq := seqOf(rd.e.Get(rc.Key))
			// After Get: the change surfaced no later than this.
			now := time.Now()
			if f.valid(idx, seq) {
				rd.observe(f, idx, seq, now, true)
			}
		}
	}
}

// valid says seq is an update of hot record idx (or none, -1).
func (f *fanout) valid(idx int, seq int64) bool {
	return seq < int64(len(f.sentAt)) && (seq < 0 || seq%int64(f.k) == int64(idx))
}

// seqOf reads the seq field whatever integer type decoding gave it; -1
// when the record or field is absent.
func seqOf(r *record.Record) int64 {
	if r == nil {
		return -1
	}
	switch v := r.Value(seqField).(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case int8:
		return int64(v)
	case uint64:
		return int64(v)
	case uint32:
		return int64(v)
	case uint16:
		return int64(v)
	case uint8:
		return int64(v)
	case float64:
		return int64(v)
	}
	return -1
}

// w3: one writer and C-1 readers on memory stores. The writer creates K hot
// records; once every reader holds them, it makes U updates at R per
// second, update i setting seq=i on hot record i mod K, and each reader
// times when its engine surfaces each one.
func (r *runner) w3(ctx context.Context) (*W3Result, error) {
	c, u, k, rate := r.cfg.Clients, r.cfg.Updates, r.cfg.HotRecords, r.cfg.Rate
	res := &W3Result{Workload: W3, Clients: c, Readers: c - 1, Updates: u, TargetRate: rate}
	setupStart := time.Now()
	engines := make([]*client.Engine, c)
	stores := make([]client.Store, c)
	defer func() { r.closeAll(engines, stores) }()
	for i := range c {
		st := memstore.New()
		stores[i] = st
		e, err := r.engine(ctx, st, i, false)
		if err != nil {
			return nil, err
		}
		engines[i] = e
	}
	writer := engines[0]

	f := &fanout{hot: make(map[record.Key]int, k), k: k, final: make([]int64, k), sentAt: make([]atomic.Int64, u)}
	for idx := range f.final {
		f.final[idx] = -1
	}
	for i := range u {
		f.final[i%k] = int64(i)
	}
	readers := make([]*reader, c-1)
	for i := range readers {
		e := engines[i+1]
		ch, unsub := e.Subscribe(eventBuffer)
		rd := &reader{e: e, events: ch, unsubscribe: unsub, lastSeen: make([]int64, k), done: make(chan struct{})}
		for idx := range rd.lastSeen {
			rd.lastSeen[idx] = -1
			if f.final[idx] >= 0 {
				rd.remaining++
			}
		}
		if rd.remaining == 0 {
			close(rd.done)
		}
		readers[i] = rd
	}
	defer func() {
		for _, rd := range readers {
			rd.unsubscribe()
		}
	}()

	keys := make([]record.Key, k)
	for idx := range k {
		fields := Generate(idx).Fields()
		id, err := writer.Create(ctx, benchauth.SpaceID, Collection, fields)
		if err != nil {
			res.Error = "create hot records: " + err.Error()
			return res, nil
		}
		keys[idx] = keyOf(id)
		f.hot[keys[idx]] = idx
	}
	res.ReadersReady = r.waitReadersHold(ctx, readers, keys)
	res.SetupMs = ms(time.Since(setupStart))
	r.log.Printf("w3: %d of %d readers hold the %d hot records after %.0f ms", res.ReadersReady, len(readers), k, res.SetupMs)
	if res.ReadersReady < len(readers) {
		res.Error = "readers not ready: " + context.Cause(ctx).Error()
		return res, nil
	}

	// The readers' goroutines start only now that f.hot is complete; the
	// events of the setup wait in their channels and change nothing.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, rd := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd.run(f, stop)
		}()
	}
	stopReaders := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopReaders()

	m, err := r.startMeasure()
	if err != nil {
		return nil, err
	}
	sent, first, last, sendErr := r.sendUpdates(ctx, writer, f, keys, u, rate)
	if sent > 1 {
		res.AchievedRate = perSecond(sent-1, last.Sub(first))
	}
	drained := sent == u && waitAll(ctx, readers)
	drainEnd := time.Now()
	if drained {
		drainEnd = last
		for _, rd := range readers {
			if rd.convergedAt.After(drainEnd) {
				drainEnd = rd.convergedAt
			}
		}
	}
	m.stop()
	if err := m.end(); err != nil {
		return nil, err
	}
	stopReaders()
	res.DrainMs = ms(drainEnd.Sub(last))

	// Final pass: what each reader holds now, for a reader whose channel
	// overflowed or that did not converge in time.
	var lat []float64
	for _, rd := range readers {
		for idx, key := range keys {
			if seq := seqOf(rd.e.Get(key)); f.valid(idx, seq) {
				rd.observe(f, idx, seq, time.Now(), false)
			}
		}
		if rd.remaining == 0 {
			res.ReadersConverged++
		}
		res.Delivered += rd.delivered
		res.Superseded += rd.superseded
		res.LateDeliveries += rd.late
		for idx, seen := range rd.lastSeen {
			// Updates of idx after the last one seen, among those sent.
			next := seen + int64(k)
			if seen < 0 {
				next = int64(idx)
			}
			for j := next; j < int64(sent); j += int64(k) {
				res.Lost++
			}
		}
		lat = append(lat, rd.latencies...)
	}
	res.ExpectedDeliveries = len(readers) * sent
	res.LatencyMs = summarize(lat)
	res.BytesUp, res.BytesDown = m.up, m.down
	res.BytesPerUpdate = per(m.up+m.down, sent)
	res.ClientCPUMs = ms(m.cpu)
	if r.cfg.ServerPID > 0 {
		if mb, err := RSSMB(r.cfg.ServerPID); err == nil {
			res.ServerRssMB = &mb
		} else {
			r.log.Printf("w3: server RSS: %v", err)
		}
	}
	res.Completed = sent == u && res.ReadersConverged == len(readers) && res.Lost == 0
	switch {
	case sendErr != nil:
		res.Error = "update: " + sendErr.Error()
	case !res.Completed && ctx.Err() != nil:
		res.Error = "timed out"
	}
	return res, nil
}

// waitReadersHold waits until every reader holds every key, and returns
// how many do.
func (r *runner) waitReadersHold(ctx context.Context, readers []*reader, keys []record.Key) int {
	// missing[i] is the keys reader i has not been seen holding yet, so
	// each poll only reads what is still missing.
	missing := make([][]record.Key, len(readers))
	for i := range missing {
		missing[i] = slices.Clone(keys)
	}
	ready := func() int {
		n := 0
		for i, rd := range readers {
			missing[i] = slices.DeleteFunc(missing[i], func(k record.Key) bool { return rd.e.Get(k) != nil })
			if len(missing[i]) == 0 {
				n++
			}
		}
		return n
	}
	waitFor(ctx, func() bool { return ready() == len(readers) })
	return ready()
}

// sendUpdates makes update i (0 <= i < u) at start + i/rate, stamping its
// send time just before the Put. It returns how many it made and when the
// first and last were sent.
func (r *runner) sendUpdates(ctx context.Context, writer *client.Engine, f *fanout, keys []record.Key, u int, rate float64) (sent int, first, last time.Time, err error) {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range u {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return sent, first, last, ctx.Err()
			case <-timer.C:
			}
		}
		idx := i % len(keys)
		now := time.Now()
		f.sentAt[i].Store(now.UnixNano())
		fields := map[string]any{
			seqField:       int64(i),
			"title":        fmt.Sprintf("hot record %d, update %d", idx, i),
			UpdatedAtField: epoch.Add(time.Duration(i) * time.Second).Format(isoMillis),
		}
		if err := writer.Put(ctx, benchauth.SpaceID, Collection, keys[idx].ID, fields); err != nil {
			return sent, first, last, err
		}
		if i == 0 {
			first = now
		}
		last = now
		sent++
	}
	return sent, first, last, nil
}

// waitAll waits until every reader converged or ctx ends.
func waitAll(ctx context.Context, readers []*reader) bool {
	for _, rd := range readers {
		select {
		case <-rd.done:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// summarize computes latency percentiles by nearest rank.
func summarize(v []float64) Latency {
	if len(v) == 0 {
		return Latency{}
	}
	slices.Sort(v)
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(v)))) - 1
		return round3(v[max(i, 0)])
	}
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return Latency{
		Count: len(v),
		P50:   rank(0.50),
		P95:   rank(0.95),
		P99:   rank(0.99),
		Max:   round3(v[len(v)-1]),
		Mean:  round3(sum / float64(len(v))),
	}
}

// RSSMB reads process pid's resident set size (VmRSS) from /proc, in MB
// rounded to 0.001 (Linux only: elsewhere it returns an error). It is
// exported so the fault scenarios' memory figure reads it the same way.
func RSSMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0, err
		}
		return round3(kb / 1024), nil
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
