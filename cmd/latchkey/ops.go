package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/cleanup"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/metrics"
)

// sessionSampleInterval is how often each instance counts live sessions
// for the active-session gauge.
const sessionSampleInterval = time.Minute

// operations are what the server runs for its operators beside the API:
// metrics, the audit trail, the cleanup job and the session sampler.
type operations struct {
	metrics    *metrics.Metrics
	db         database
	log        *slog.Logger
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	metricsSrv *http.Server
}

// startOperations starts the background jobs, which end when stop is
// called or ctx ends.
func startOperations(ctx context.Context, cfg *config.Config, db database,
	log *slog.Logger) *operations {
	ctx, cancel := context.WithCancel(ctx)
	o := &operations{metrics: metrics.New(), db: db, log: log, cancel: cancel}
	if h, ok := db.(interface{ DB() *sql.DB }); ok {
		o.metrics.WatchDB(h.DB(), "latchkey")
	}

	job := cleanup.New(db, retention(cfg), nil, log)
	o.wg.Go(func() { job.Loop(ctx, cfg.CleanupInterval) })
	idle := cfg.SessionIdleTimeout
	o.wg.Go(func() {
		o.metrics.SampleActiveSessions(ctx, sessionSampleInterval,
			func(ctx context.Context) (int64, error) {
				now := time.Now()
				return db.CountActiveSessions(ctx, now, now.Add(-idle))
			}, log)
	})
	return o
}

// retention is the cleanup job's configuration.
func retention(cfg *config.Config) cleanup.Retention {
	return cleanup.Retention{
		IdleTimeout:  cfg.SessionIdleTimeout,
		LoginHistory: cfg.LoginHistoryRetention,
		Audit:        cfg.AuditRetention,
	}
}

// deps records the flows' security events in the audit trail and the
// metrics, and exposes the password hashes in flight.
func (o *operations) deps(d *auth.Deps) {
	d.Audit = audit.Multi(o.metrics, audit.New(o.db, o.log))
	if d.Hasher != nil {
		o.metrics.WatchHashes(d.Hasher.InFlight)
	}
}

// listenMetrics serves /metrics on addr, apart from the API, so that it
// need not be reachable from where the API is. With a token set it
// requires it there too.
func (o *operations) listenMetrics(addr string, token []byte) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	h := o.metrics.Handler()
	if len(token) > 0 {
		h = httpapi.RequireBearer(token, h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	o.metricsSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.log.Handler(), slog.LevelWarn),
	}
	o.log.Info("metrics listening", "addr", ln.Addr().String())
	o.wg.Go(func() {
		if err := o.metricsSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("metrics server stopped", "err", err)
		}
	})
	return nil
}

// stop ends the background jobs and the metrics server and waits for
// them, so that none outlives the database.
func (o *operations) stop() {
	o.cancel()
	if o.metricsSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := o.metricsSrv.Shutdown(ctx); err != nil {
			o.log.Warn("metrics server shutdown", "err", err)
		}
	}
	o.wg.Wait()
}

// apiMetrics is the handler the API serves at /metrics: none when metrics
// have an address of their own, or in production without METRICS_TOKEN.
// The metrics must not be public: some counters move only when a request
// names a real account, which would undo the flows' same-answer design.
func (o *operations) apiMetrics(cfg *config.Config) http.Handler {
	switch {
	case cfg.MetricsAddr != "":
		return nil
	case len(cfg.MetricsToken) > 0:
		return o.metrics.Handler()
	case cfg.Production():
		o.log.Warn("/metrics is not served on LISTEN_ADDR: set METRICS_TOKEN or METRICS_ADDR")
		return nil
	}
	o.log.Warn("/metrics is open to anyone on LISTEN_ADDR; set METRICS_TOKEN or " +
		"METRICS_ADDR before this address is reachable from elsewhere")
	return o.metrics.Handler()
}

// rateLimits counts the refusals of the request limits.
func (o *operations) rateLimits(rl httpapi.RateLimits) httpapi.RateLimits {
	if rl.Limiter != nil {
		rl.Limiter = o.metrics.CountRefusals(rl.Limiter)
	}
	return rl
}

// watchMail exposes the mailer's counters.
func (o *operations) watchMail(m *mail.Mailer) {
	o.metrics.WatchMail(func() metrics.MailStats {
		s := m.Stats()
		return metrics.MailStats{Sent: s.Sent, Failed: s.Failed, Dropped: s.Dropped,
			Backlog: s.Backlog}
	})
}

// watchReady exposes the readiness of the database and of the other
// dependencies /readyz checks.
func (o *operations) watchReady(checks []httpapi.ReadyCheck) {
	o.metrics.WatchReady("database", o.db.Ping)
	for _, c := range checks {
		o.metrics.WatchReady(c.Name, c.Check)
	}
}
