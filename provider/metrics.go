package provider

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stepup-mfa/stepup/plugins/host"
)

// metrics are the Prometheus series of one Server (own registry, so tests
// can run several servers in one process).
type metrics struct {
	registry      *prometheus.Registry
	logins        *prometheus.CounterVec // first-factor attempts by result
	verifications *prometheus.CounterVec // method verifications by method and result
	lockouts      *prometheus.CounterVec // lockouts by method
	passwordWork  prometheus.Counter     // argon2 derivations of the login page, real or dummy
	rateLimited   *prometheus.CounterVec // refusals by limit
	pluginCalls   *prometheus.HistogramVec
}

func newMetrics(reg *host.Registry) *metrics {
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
		passwordWork: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stepup_password_hashes_total", Help: "Password hashes computed to check sign-ins (one per attempt, known user or not)."}),
	}
	m.pluginCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stepup_plugin_call_seconds", Help: "Latency of calls to method plugins.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5}}, []string{"method", "op"})
	m.registry.MustRegister(m.pluginCalls)
	if reg != nil {
		for _, name := range reg.Names() {
			p, ok := reg.Method(name)
			if !ok {
				continue
			}
			m.registry.MustRegister(
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
	m.registry.MustRegister(m.logins, m.verifications, m.lockouts, m.rateLimited, m.passwordWork,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
