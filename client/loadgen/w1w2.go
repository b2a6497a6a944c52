package loadgen

import (
	"context"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// W1Result is the offline push's result.
type W1Result struct {
	Workload  string `json:"workload"`
	N         int    `json:"n"`
	Completed bool   `json:"completed"`
	// ServerCount is how many of the N records the server committed: each
	// one the engine holds in server state with a sequence number. The
	// server sends an op's change before acknowledging it, and
	// acknowledges only after the commit is durable, so after WaitSynced
	// this counts durable server commits; a refused op would leave its
	// record without one.
	ServerCount      int     `json:"serverCount"`
	DurationMs       float64 `json:"durationMs"`
	RecordsPerSec    float64 `json:"recordsPerSec"`
	LocalCreateMs    float64 `json:"localCreateMs"`
	BytesUp          int64   `json:"bytesUp"`
	BytesDown        int64   `json:"bytesDown"`
	BytesUpPerRecord float64 `json:"bytesUpPerRecord"`
	ClientCPUMs      float64 `json:"clientCpuMs"`
	Error            string  `json:"error,omitempty"`
}

// w1: one client on disk creates N records offline, then connects; measured
// from connect until every op is acknowledged (durable on the server).
func (r *runner) w1(ctx context.Context) (*W1Result, error) {
	n := r.cfg.N
	res := &W1Result{Workload: W1, N: n}
	e, st, err := r.diskEngine(ctx, "w1", 0, true)
	if err != nil {
		return nil, err
	}
	defer r.closeAll([]*client.Engine{e}, []client.Store{st})

	if err := r.h.Phase(PhaseOffline); err != nil {
		return nil, err
	}
	keys := make([]record.Key, 0, n)
	start := time.Now()
	for i := range n {
		id, err := e.Create(ctx, benchauth.SpaceID, Collection, Generate(i).Fields())
		if err != nil {
			res.Error = "create: " + err.Error()
			res.LocalCreateMs = ms(time.Since(start))
			return res, nil
		}
		keys = append(keys, keyOf(id))
	}
	res.LocalCreateMs = ms(time.Since(start))
	r.log.Printf("w1: created %d records offline in %.0f ms", n, res.LocalCreateMs)
	if err := r.h.Phase(PhaseOnline); err != nil {
		return nil, err
	}

	m, err := r.startMeasure()
	if err != nil {
		return nil, err
	}
	e.SetOnline(true)
	syncErr := e.WaitSynced(ctx)
	m.stop()
	if err := m.end(); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if rec := e.Get(k); rec != nil && rec.Seq > 0 {
			res.ServerCount++
		}
	}
	res.Completed = syncErr == nil && res.ServerCount == n
	if syncErr != nil {
		res.Error = syncErr.Error()
	}
	res.DurationMs = ms(m.wallClock)
	res.RecordsPerSec = perSecond(res.ServerCount, m.wallClock)
	res.BytesUp, res.BytesDown = m.up, m.down
	res.BytesUpPerRecord = per(m.up, n)
	res.ClientCPUMs = ms(m.cpu)
	return res, nil
}

// W2Result is the initial sync's result.
type W2Result struct {
	Workload           string  `json:"workload"`
	N                  int     `json:"n"`
	Completed          bool    `json:"completed"`
	LocalCount         int     `json:"localCount"`
	DurationMs         float64 `json:"durationMs"`
	RecordsPerSec      float64 `json:"recordsPerSec"`
	BytesDown          int64   `json:"bytesDown"`
	BytesUp            int64   `json:"bytesUp"`
	BytesDownPerRecord float64 `json:"bytesDownPerRecord"`
	ClientCPUMs        float64 `json:"clientCpuMs"`
	SeedMs             float64 `json:"seedMs"`
	Error              string  `json:"error,omitempty"`
}

// w2: a seed client pushes N records (not measured); then a fresh client
// with an empty disk store connects, measured until it holds all N,
// durably (the engine writes a page to its store before applying it).
func (r *runner) w2(ctx context.Context) (*W2Result, error) {
	n := r.cfg.N
	res := &W2Result{Workload: W2, N: n}
	start := time.Now()
	if err := r.seed(ctx, n); err != nil {
		res.Error = "seed: " + err.Error()
		return res, nil
	}
	res.SeedMs = ms(time.Since(start))
	r.log.Printf("w2: seeded %d records in %.0f ms", n, res.SeedMs)

	e, st, err := r.diskEngine(ctx, "w2", 1, true)
	if err != nil {
		return nil, err
	}
	defer r.closeAll([]*client.Engine{e}, []client.Store{st})

	m, err := r.startMeasure()
	if err != nil {
		return nil, err
	}
	e.SetOnline(true)
	syncErr := e.WaitSynced(ctx)
	m.stop()
	if err := m.end(); err != nil {
		return nil, err
	}
	res.LocalCount = len(e.List(benchauth.SpaceID, Collection))
	res.Completed = syncErr == nil && res.LocalCount == n
	if syncErr != nil {
		res.Error = syncErr.Error()
	}
	res.DurationMs = ms(m.wallClock)
	res.RecordsPerSec = perSecond(res.LocalCount, m.wallClock)
	res.BytesUp, res.BytesDown = m.up, m.down
	res.BytesDownPerRecord = per(m.down, n)
	res.ClientCPUMs = ms(m.cpu)
	return res, nil
}

// seed pushes records 0..n-1 from a memory-backed client as user 0 and
// waits until the server acknowledged them all.
func (r *runner) seed(ctx context.Context, n int) error {
	st := memstore.New()
	e, err := r.engine(ctx, st, 0, false)
	if err != nil {
		return err
	}
	defer r.closeAll([]*client.Engine{e}, []client.Store{st})
	for i := range n {
		if _, err := e.Create(ctx, benchauth.SpaceID, Collection, Generate(i).Fields()); err != nil {
			return err
		}
	}
	return e.WaitSynced(ctx)
}

// keyOf is the key of a record of the bench space's collection.
func keyOf(id uuid.UUID) record.Key {
	return record.Key{Space: benchauth.SpaceID, Collection: Collection, ID: id}
}
