package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series of one Server, in a registry of its
// own: no package-level state, and tests can run servers side by side.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	issuance   *prometheus.HistogramVec
	issued     *prometheus.CounterVec
	revoked    *prometheus.CounterVec
	challenges *prometheus.CounterVec
	ocsp       *prometheus.CounterVec
	ocspHits   prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certmaker_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		issuance: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "certmaker_issuance_duration_seconds", Help: "Time to issue a certificate: key generation (if any), signing and the durable commit.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"key_type"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certmaker_certificates_issued_total", Help: "Certificates issued, by key type.",
		}, []string{"key_type"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certmaker_certificates_revoked_total", Help: "Certificates revoked, by key type.",
		}, []string{"key_type"}),
		challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certmaker_challenge_checks_total", Help: "Challenge solve attempts by outcome (pass or fail).",
		}, []string{"outcome"}),
		ocsp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certmaker_ocsp_responses_total", Help: "OCSP answers by status (good, revoked, unknown, malformed, unauthorized, trylater, internal).",
		}, []string{"status"}),
		ocspHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "certmaker_ocsp_cache_hits_total", Help: "OCSP answers served from a cached signature.",
		}),
	}
	expiring := func(within time.Duration) func() float64 {
		return func() float64 {
			now := s.ca.Now()
			n, err := s.store.CountExpiring(now, now.Add(within))
			if err != nil {
				s.log.Error("metrics: counting expiring certificates", "err", err)
				return 0
			}
			return float64(n)
		}
	}
	m.reg.MustRegister(m.requests, m.issuance, m.issued, m.revoked, m.challenges, m.ocsp, m.ocspHits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "certmaker_certificates_expiring_7d", Help: "Unrevoked certificates whose validity ends within 7 days.",
		}, expiring(7*24*time.Hour)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "certmaker_certificates_expiring_30d", Help: "Unrevoked certificates whose validity ends within 30 days.",
		}, expiring(30*24*time.Hour)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "certmaker_storage_full", Help: "1 while writes fail because the CA's storage is full (ENOSPC or quota), else 0.",
		}, func() float64 {
			if s.store.WritesFailing() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "certmaker_root_expiry_days", Help: "Days until the active root certificate expires.",
		}, func() float64 {
			r := s.ca.Active()
			if r == nil {
				return 0
			}
			return r.Cert.NotAfter.Sub(s.ca.Now()).Hours() / 24
		}),
	)
	return m
}

// MetricsHandler serves the Prometheus metrics. certmaker mounts it on its
// own listen address, off by default, so it is never exposed by accident
// next to the API.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: nil})
}

// CountRevocation records a revocation made outside the API (the admin
// socket's `cert revoke`).
func (s *Server) CountRevocation(keyType string) {
	s.metrics.revoked.WithLabelValues(keyType).Inc()
}

func (m *metrics) observeRequest(route, method string, status int) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
}

// methodLabel keeps the method label to the known methods: a client may
// send any token as its method, and every new label value is a series
// Prometheus keeps forever.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func (m *metrics) observeOCSP(kind string, cached bool) {
	m.ocsp.WithLabelValues(kind).Inc()
	if cached {
		m.ocspHits.Inc()
	}
}
