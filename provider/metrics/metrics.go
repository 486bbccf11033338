// Package metrics holds the Prometheus series of one provider: sign-ins,
// verifications, lockouts, rate limits, password work and the method
// plugins' calls, restarts and health.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stepup-mfa/stepup/plugins/host"
)

// Metrics are the Prometheus series of one provider (own registry, so
// tests can run several in one process).
type Metrics struct {
	Registry      *prometheus.Registry
	Logins        *prometheus.CounterVec // first-factor attempts by result
	Verifications *prometheus.CounterVec // method verifications by method and result
	Lockouts      *prometheus.CounterVec // lockouts by method
	PasswordWork  prometheus.Counter     // argon2 derivations of the login page, real or dummy
	RateLimited   *prometheus.CounterVec // refusals by limit
	PluginCalls   *prometheus.HistogramVec
}

// New returns the series, with the restarts and health of every method of
// reg (nil: none).
func New(reg *host.Registry) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_logins_total", Help: "First-factor attempts by result."}, []string{"result"}),
		Verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_verifications_total", Help: "Verifications by method and result."}, []string{"method", "result"}),
		Lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_lockouts_total", Help: "Lockouts started, by method."}, []string{"method"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_rate_limited_total", Help: "Requests refused by a rate limit, by limit."}, []string{"limit"}),
		PasswordWork: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stepup_password_hashes_total", Help: "Password hashes computed to check sign-ins (one per attempt, known user or not)."}),
	}
	m.PluginCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stepup_plugin_call_seconds", Help: "Latency of calls to method plugins.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5}}, []string{"method", "op"})
	m.Registry.MustRegister(m.PluginCalls)
	if reg != nil {
		for _, name := range reg.Names() {
			p, ok := reg.Method(name)
			if !ok {
				continue
			}
			m.Registry.MustRegister(
				prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stepup_plugin_restarts_total",
					Help: "Restarts of a method plugin after a crash.", ConstLabels: prometheus.Labels{"method": name}},
					func() float64 { return float64(p.Restarts()) }),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stepup_plugin_healthy",
					Help: "1 while a method plugin answers.", ConstLabels: prometheus.Labels{"method": name}},
					func() float64 {
						if p.Healthy() {
							return 1
						}
						return 0
					}))
		}
	}
	m.Registry.MustRegister(m.Logins, m.Verifications, m.Lockouts, m.RateLimited, m.PasswordWork,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
