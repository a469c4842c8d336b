package main

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/cleanup"
)

type cleanupCmd struct{}

// Run deletes once what the server's background job deletes every
// CLEANUP_INTERVAL, for a cron job or before a backup.
func (cleanupCmd) Run(g *globals) error {
	cfg, log, err := loadConfig(g)
	if err != nil {
		return err
	}
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

	start := time.Now()
	n, err := cleanup.New(db, retention(cfg), nil, log).Run(g.ctx)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	fmt.Printf("deleted %d sessions, %d refresh tokens, %d one-time tokens, "+
		"%d login history entries and %d audit events in %v\n",
		n.Sessions, n.RefreshTokens, n.OneTimeTokens, n.LoginHistory, n.AuditEvents,
		time.Since(start).Round(time.Millisecond))
	return nil
}
