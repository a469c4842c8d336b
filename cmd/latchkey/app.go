package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

// configError marks a configuration problem, which exits with status 2.
type configError struct{ err error }

func (e *configError) Error() string { return "configuration:\n" + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// loadConfig reads the environment (and the env file) and fills in
// development secrets.
func loadConfig(g *globals) (*config.Config, *slog.Logger, error) {
	lookup, err := config.LoadEnvFile(g.envFile, os.LookupEnv)
	if err != nil {
		return nil, nil, &configError{err}
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return nil, nil, &configError{err}
	}
	log := newLogger(cfg)
	warnings, err := cfg.EnsureSecrets()
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		log.Warn("!!! " + w)
	}
	return cfg, log, nil
}

func newLogger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h)
}

// database is a store engine with its migrations.
type database interface {
	store.Store
	Migrate(ctx context.Context) error
}

// openDatabase opens the configured engine.
func openDatabase(ctx context.Context, cfg *config.Config) (database, error) {
	db, err := cfg.Database()
	if err != nil {
		return nil, &configError{err}
	}
	switch db.Kind {
	case config.KindPostgres:
		return postgres.Open(ctx, db.URL)
	default:
		return sqlite.Open(ctx, db.Path)
	}
}

// newService builds the authentication flows from configuration. Each of
// with may adjust the dependencies, as the server does to share lockout
// counters and revocations through Redis.
func newService(cfg *config.Config, st store.Store, log *slog.Logger,
	with ...func(*auth.Deps)) (*auth.Service, error) {
	hasher, err := password.NewHasher(password.Options{
		Algorithm:  cfg.PasswordHash,
		BcryptCost: cfg.BcryptRounds,
	})
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	policy := password.DefaultPolicy()
	policy.Composition = cfg.PasswordComposition
	policy.MaxBytes = hasher.MaxBytes()
	access, err := newAccess(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("access tokens: %w", err)
	}
	keyed, err := token.NewKeyed(cfg.RefreshSecret)
	if err != nil {
		return nil, fmt.Errorf("refresh tokens: %w", err)
	}
	d := auth.Deps{
		Store:    st,
		Hasher:   hasher,
		Policy:   policy,
		Access:   access,
		Keyed:    keyed,
		Attempts: ratelimit.NewMemory(nil),
		Log:      log,
		MFAKey:   cfg.MFAKey,
	}
	for _, f := range with {
		f(&d)
	}
	return auth.New(d, auth.Options{
		RefreshTTL:       cfg.RefreshTTL,
		ReuseGrace:       cfg.RefreshReuseGrace,
		IdleTimeout:      cfg.SessionIdleTimeout,
		MaxAge:           cfg.SessionMaxAge,
		MaxLoginAttempts: cfg.MaxLoginAttempts,
		LockoutDuration:  cfg.LockoutDuration,
		PublicURL:        cfg.PublicURL,
		PagesURL:         pagesURL(cfg),
		ResetLimitWindow: cfg.RateLimitResetWindow,
		ResetLimitMax:    cfg.RateLimitResetMax,
	}), nil
}
