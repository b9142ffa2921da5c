package mirror

import "github.com/prometheus/client_golang/prometheus"

// metrics of the mirror, registered by the HTTP layer next to its own.
// Labels are fixed words, never crate names.
type metrics struct {
	// upstream counts requests to the upstream by kind (index, config,
	// crate) and outcome (ok, not_modified, not_found, error, retry,
	// checksum_mismatch).
	upstream *prometheus.CounterVec
	// errors counts failed upstream requests by kind.
	errors *prometheus.CounterVec
	// cache counts lookups by kind and result (hit, miss, stale).
	cache *prometheus.CounterVec
	// bytes counts body bytes received from the upstream by kind.
	bytes *prometheus.CounterVec
	// indexHit is cache{index,hit}, resolved once: the warm path should
	// not hash labels on every request.
	indexHit prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crated_mirror_upstream_requests_total",
			Help: "Requests of the mirror to the upstream registry, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crated_mirror_upstream_errors_total",
			Help: "Upstream requests that failed (network, timeout, 5xx, 429, bad checksum), by kind.",
		}, []string{"kind"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crated_mirror_cache_requests_total",
			Help: "Mirror cache lookups by kind and result (hit, miss, stale).",
		}, []string{"kind", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crated_mirror_upstream_bytes_total",
			Help: "Body bytes received from the upstream, by kind.",
		}, []string{"kind"}),
	}
	m.indexHit = m.cache.WithLabelValues("index", "hit")
	return m
}

// Collectors returns the mirror's Prometheus collectors.
func (m *Mirror) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.metrics.upstream, m.metrics.errors, m.metrics.cache, m.metrics.bytes}
}
