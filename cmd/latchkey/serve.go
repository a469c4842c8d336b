package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
)

type serveCmd struct{}

// shutdownGrace is how long in-flight requests may take to finish after
// SIGTERM before the server closes them.
const shutdownGrace = 20 * time.Second

func (serveCmd) Run(g *globals) error {
	cfg, log, err := loadConfig(g)
	if err != nil {
		return err
	}
	// Whatever is logged while serving a request carries its request ID.
	log = slog.New(httpapi.LogHandler(log.Handler()))
	db, err := openDatabase(g.ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AutoMigrate {
		if err := db.Migrate(g.ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}

	sh, err := openShared(cfg, log)
	if err != nil {
		return err
	}
	defer sh.close()
	if err := sh.followDatabase(g.ctx, cfg, db, log); err != nil {
		return err
	}
	mailer, err := newMailer(cfg, log)
	if err != nil {
		return err
	}
	// Deferred after the database and shared stores, so it runs before
	// them: once the HTTP server has drained, the queued mail goes out.
	defer stopMailer(mailer, log)
	ops := startOperations(g.ctx, cfg, db, log)
	defer ops.stop()
	ops.watchMail(mailer)
	ops.watchReady(sh.checks)
	svc, err := newService(cfg, db, log, sh.deps, withMailer(mailer), ops.deps,
		func(d *auth.Deps) { tuneRuntime(d.Hasher, log) })
	if err != nil {
		return err
	}
	go svc.FollowRevocations(g.ctx)
	pages, err := newPages(cfg, svc, log)
	if err != nil {
		return err
	}
	api := httpapi.New(svc, httpapi.Options{
		Production:     cfg.Production(),
		PublicURL:      cfg.PublicURL,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		Ready:          db.Ping,
		ReadyChecks:    sh.checks,
		RateLimits:     ops.rateLimits(sh.rateLimits(cfg)),
		Metrics:        ops.metrics,
		MetricsHandler: ops.apiMetrics(cfg),
		MetricsToken:   cfg.MetricsToken,
		Pages:          pages,
	}, log)

	srv := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.MetricsAddr != "" {
		if err := ops.listenMetrics(cfg.MetricsAddr, cfg.MetricsToken); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	dbInfo, _ := cfg.Database()
	log.Info("latchkey listening", "addr", ln.Addr().String(), "env", cfg.Env,
		"database", dbInfo, "version", buildVersion())

	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()

	select {
	case err := <-errc:
		return err
	case <-g.ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "grace", shutdownGrace)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
