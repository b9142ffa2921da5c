package httpapi

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are served at /metrics in Prometheus' text format. Labels use the
// route pattern, never the raw path, so crate names cannot blow up the
// number of series.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	// children caches the per-route series: a label lookup hashes every
	// label on each request, a sync.Map hit does not.
	children sync.Map // routeCode -> *series
}

type routeCode struct {
	route string
	code  int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crated_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crated_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	files := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crated_index_cache_files",
		Help: "Index files held in the in-memory cache.",
	}, func() float64 { n, _ := s.index.Stats(); return float64(n) })
	bytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crated_index_cache_bytes",
		Help: "Approximate bytes held by the index cache.",
	}, func() float64 { _, b := s.index.Stats(); return float64(b) })
	m.reg.MustRegister(m.requests, m.durations, files, bytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	key := routeCode{route, status}
	v, ok := m.children.Load(key)
	if !ok {
		v, _ = m.children.LoadOrStore(key, &series{
			requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
			duration: m.durations.WithLabelValues(route),
		})
	}
	sr := v.(*series)
	sr.requests.Inc()
	sr.duration.Observe(took.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// MetricsHandler serves /metrics on a listener of its own
// (metrics_address), behind metrics_token when it is set.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsGuard(false))
	mux.HandleFunc("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return crated.Errorf(crated.ENOTFOUND, "this listener serves only /metrics")
	}))
	return chain(mux, s.recoverPanics, securityHeaders)
}

// metricsGuard decides who reads the metrics. They name routes, crate
// counts and the process's state: on a private registry they are not
// served anonymously on the main listener.
func (s *Server) metricsGuard(mainListener bool) http.Handler {
	h := s.metrics.handler()
	token := s.cfg.MetricsToken
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		switch {
		case mainListener && s.cfg.MetricsElsewhere:
			return crated.Errorf(crated.ENOTFOUND, "metrics are served on server_config.metrics_address, not here")
		case token != "":
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return crated.Errorf(crated.EUNAUTHORIZED, "metrics need Authorization: Bearer with server_config.metrics_token")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				return crated.Errorf(crated.EFORBIDDEN, "wrong metrics token")
			}
		case mainListener && s.cfg.AuthRequired:
			return crated.Errorf(crated.EFORBIDDEN, "metrics are not served anonymously on a private registry: set server_config.metrics_token or metrics_address")
		}
		h.ServeHTTP(w, r)
		return nil
	})
}
