package core

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series of one Service, in a registry of its
// own: no package-level state, and tests can run services side by side.
type metrics struct {
	reg        *prometheus.Registry
	issuance   *prometheus.HistogramVec
	issued     *prometheus.CounterVec
	revoked    *prometheus.CounterVec
	challenges *prometheus.CounterVec
	ocsp       *prometheus.CounterVec
	ocspHits   prometheus.Counter
}

func newMetrics(s *Service, reg *prometheus.Registry) *metrics {
	m := &metrics{
		reg: reg,
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
	m.reg.MustRegister(m.issuance, m.issued, m.revoked, m.challenges, m.ocsp, m.ocspHits,
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
			r := s.ca.ActiveRoot()
			if r == nil {
				return 0
			}
			return r.Cert.NotAfter.Sub(s.ca.Now()).Hours() / 24
		}),
	)
	return m
}

func (m *metrics) observeOCSP(kind string, cached bool) {
	m.ocsp.WithLabelValues(kind).Inc()
	if cached {
		m.ocspHits.Inc()
	}
}

// observeIssued counts a committed certificate and how long it took.
func (m *metrics) observeIssued(keyType string, start time.Time) {
	m.issuance.WithLabelValues(keyType).Observe(time.Since(start).Seconds())
	m.issued.WithLabelValues(keyType).Inc()
}
