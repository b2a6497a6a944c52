package store

import "github.com/prometheus/client_golang/prometheus"

// metrics are the store's Prometheus collectors. A nil *metrics (no
// registry given) records nothing.
type metrics struct {
	reg        prometheus.Registerer
	groupOps   prometheus.Histogram
	commitDur  prometheus.Histogram
	refused    prometheus.Counter
	quarantine prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		reg: reg,
		groupOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "plansync_store_group_ops",
			Help:    "Ops per group commit (one transaction, one fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7), // 1 .. 4096 ops
		}),
		commitDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "plansync_store_group_commit_seconds",
			Help:    "Time to merge, write and fsync one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plansync_store_commits_refused_total",
			Help: "Commit calls refused because free disk space fell below the reserve.",
		}),
		quarantine: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plansync_store_quarantined_reads_total",
			Help: "Reads that met a stored record or log entry this build cannot decode and skipped it.",
		}),
	}
	for i, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors()[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.groupOps, m.commitDur, m.refused, m.quarantine}
}

// unregister lets a store reopened on the same registry register again.
func (m *metrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}

func (m *metrics) observeGroup(ops int, seconds float64) {
	if m == nil {
		return
	}
	m.groupOps.Observe(float64(ops))
	m.commitDur.Observe(seconds)
}

func (m *metrics) refuse(n int) {
	if m == nil {
		return
	}
	m.refused.Add(float64(n))
}

func (m *metrics) quarantined() {
	if m == nil {
		return
	}
	m.quarantine.Inc()
}
