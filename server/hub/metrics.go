package hub

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connections   prometheus.Gauge
	framesIn      *prometheus.CounterVec
	framesOut     prometheus.Counter
	bytesIn       prometheus.Counter
	bytesOut      prometheus.Counter
	disconnects   *prometheus.CounterVec
	ops           *prometheus.CounterVec
	commitSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "plansync_hub_connections", Help: "Open sync connections."}),
		framesIn:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plansync_hub_frames_received_total", Help: "Frames received, by message type."}, []string{"type"}),
		framesOut:   prometheus.NewCounter(prometheus.CounterOpts{Name: "plansync_hub_frames_sent_total", Help: "Frames written to sockets."}),
		bytesIn:     prometheus.NewCounter(prometheus.CounterOpts{Name: "plansync_hub_received_bytes_total", Help: "Frame bytes received."}),
		bytesOut:    prometheus.NewCounter(prometheus.CounterOpts{Name: "plansync_hub_sent_bytes_total", Help: "Frame bytes written."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plansync_hub_disconnects_total", Help: "Connections closed, by reason."}, []string{"reason"}),
		ops:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plansync_hub_ops_total", Help: "Pushed ops, by result."}, []string{"result"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plansync_hub_commit_seconds", Help: "Time from handing a connection's pushes to the store until durable.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.framesIn, m.framesOut, m.bytesIn, m.bytesOut, m.disconnects, m.ops, m.commitSeconds)
	}
	return m
}
