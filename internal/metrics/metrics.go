// Package metrics measures Latchkey for Prometheus: HTTP traffic, login and
// refresh outcomes, security events, rate limiting, mail, password hashing
// and live sessions. Every metric lives in the registry of one Metrics
// value, never in a global one, so that tests and embedded servers each
// count on their own.
package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/internal/auth"
)

// Namespace prefixes every metric name.
const Namespace = "latchkey"

// Outcomes of logins and refreshes, the values of their outcome label.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// unmatchedRoute labels requests no route matched, so that scanners
// probing random paths cannot grow the number of series.
const unmatchedRoute = "unmatched"

// Metrics holds Latchkey's metrics and the registry they are exposed from.
// Its methods are safe for concurrent use, and do nothing on a nil
// *Metrics, so a part built without metrics needs no checks.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	logins         *prometheus.CounterVec
	refreshes      *prometheus.CounterVec
	reuse          prometheus.Counter
	lockouts       prometheus.Counter
	events         *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	activeSessions prometheus.Gauge
}

var _ auth.Auditor = (*Metrics)(nil)

// New returns a Metrics with every metric registered, along with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help: "Time to serve HTTP requests, by route pattern and status code.",
			// Password hashing puts logins in the hundreds of milliseconds;
			// token refreshes and profile reads should stay in the low tens.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "logins_total",
			Help: "Password logins by outcome (success, failure).",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "refreshes_total",
			Help: "Refresh token exchanges by outcome (success, failure).",
		}, []string{"outcome"}),
		reuse: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "refresh_reuse_detected_total",
			Help: "Rotated refresh tokens presented again after the grace window.",
		}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "lockouts_total",
			Help: "Accounts locked after repeated failed logins.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "security_events_total",
			Help: "Security events written to the audit trail, by type.",
		}, []string{"type"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rate_limited_total",
			Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
		activeSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "active_sessions",
			Help: "Sessions neither revoked, expired nor idle, as last sampled.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.logins, m.refreshes, m.reuse, m.lockouts,
		m.events, m.rateLimited, m.activeSessions,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both outcomes exist from the start, so that a rate over them is
	// defined before the first failure.
	for _, o := range []string{OutcomeSuccess, OutcomeFailure} {
		m.logins.WithLabelValues(o)
		m.refreshes.WithLabelValues(o)
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		EnableOpenMetrics: true,
		Timeout:           10 * time.Second,
	})
}

// Registry returns the registry the metrics live in, to add collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one served request and its duration. route is the
// pattern that matched ("POST /api/auth/login"), empty when none did.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = unmatchedRoute
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route, code).Observe(d.Seconds())
}

// ObserveRefresh counts one refresh token exchange.
func (m *Metrics) ObserveRefresh(ok bool) {
	if m == nil {
		return
	}
	m.refreshes.WithLabelValues(outcome(ok)).Inc()
}

// Record counts a security event: it makes Metrics an auth.Auditor, to be
// combined with the audit trail so that both see every event.
func (m *Metrics) Record(_ context.Context, e auth.Event) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(e.Type).Inc()
	switch e.Type {
	case auth.EventLoginSucceeded:
		m.logins.WithLabelValues(OutcomeSuccess).Inc()
	case auth.EventLoginFailed:
		m.logins.WithLabelValues(OutcomeFailure).Inc()
	case auth.EventLocked:
		m.lockouts.Inc()
	case auth.EventReuseDetected:
		m.reuse.Inc()
	}
}

// RateLimited counts a request refused by the named limit, such as "api",
// "login" or "reset".
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// MailStats are a mailer's counters since it started (mail.Mailer.Stats).
type MailStats struct {
	Sent    uint64 // delivered to the mail server or the outbox
	Failed  uint64 // given up on after retries
	Dropped uint64 // never queued: a template failed or the queue was full
	Backlog int    // queued and not yet sent or failed
}

// WatchMail exposes the counters stats returns, read at each scrape: the
// mailer already counts, so nothing needs to be told twice.
func (m *Metrics) WatchMail(stats func() MailStats) {
	if m == nil {
		return
	}
	counter := func(name, help string, v func(MailStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: name, Help: help,
		}, func() float64 { return float64(v(stats())) })
	}
	m.reg.MustRegister(
		counter("mails_sent_total", "Mails delivered to the mail server or the outbox.",
			func(s MailStats) uint64 { return s.Sent }),
		counter("mails_failed_total", "Mails given up on after retries.",
			func(s MailStats) uint64 { return s.Failed }),
		counter("mails_dropped_total", "Mails never queued: a template failed or the "+
			"queue was full.", func(s MailStats) uint64 { return s.Dropped }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "mail_backlog",
			Help: "Mails queued and not yet sent or failed.",
		}, func() float64 { return float64(stats().Backlog) }),
	)
}

// WatchHashes exposes inFlight, the number of password hashes being
// computed (password.Hasher.InFlight), read at each scrape.
func (m *Metrics) WatchHashes(inFlight func() int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "password_hashes_in_flight",
		Help: "Password hashes being computed right now.",
	}, func() float64 { return float64(inFlight()) }))
}

// WatchDB exposes the connection pool statistics of db under the name.
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	if m == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// readyTimeout bounds a readiness check made for a scrape.
const readyTimeout = 2 * time.Second

// WatchReady exposes latchkey_ready{check="<name>"}: 1 when check passes
// at scrape time, 0 when it fails or takes longer than two seconds. Alerts
// then see a dependency go away even where nothing probes /readyz.
func (m *Metrics) WatchReady(name string, check func(ctx context.Context) error) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "ready",
		Help:        "Whether a dependency answered its readiness check at scrape time.",
		ConstLabels: prometheus.Labels{"check": name},
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if check(ctx) != nil {
			return 0
		}
		return 1
	}))
}

// SetActiveSessions sets the active-session gauge.
func (m *Metrics) SetActiveSessions(n int64) {
	if m == nil {
		return
	}
	m.activeSessions.Set(float64(n))
}

// SampleActiveSessions sets the active-session gauge from count now and
// then every interval, until ctx ends. Counting is a database query, so it
// runs on a timer rather than at each scrape, which any number of
// Prometheus servers may trigger. A failed count leaves the last value and
// is logged.
func (m *Metrics) SampleActiveSessions(
	ctx context.Context,
	interval time.Duration,
	count func(ctx context.Context) (int64, error),
	log *slog.Logger,
) {
	if m == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, min(interval, 30*time.Second))
		n, err := count(sctx)
		cancel()
		switch {
		case err == nil:
			m.SetActiveSessions(n)
		case ctx.Err() == nil:
			log.WarnContext(ctx, "counting active sessions failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func outcome(ok bool) string {
	if ok {
		return OutcomeSuccess
	}
	return OutcomeFailure
}
