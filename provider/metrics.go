package provider

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series of one Server (own registry, so tests
// can run several servers in one process).
type metrics struct {
	registry      *prometheus.Registry
	logins        *prometheus.CounterVec // first-factor attempts by result
	verifications *prometheus.CounterVec // method verifications by method and result
	lockouts      *prometheus.CounterVec // lockouts by method
	rateLimited   *prometheus.CounterVec // refusals by limit
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_logins_total", Help: "First-factor attempts by result."}, []string{"result"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_verifications_total", Help: "Verifications by method and result."}, []string{"method", "result"}),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_lockouts_total", Help: "Lockouts started, by method."}, []string{"method"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_rate_limited_total", Help: "Requests refused by a rate limit, by limit."}, []string{"limit"}),
	}
	m.registry.MustRegister(m.logins, m.verifications, m.lockouts, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
