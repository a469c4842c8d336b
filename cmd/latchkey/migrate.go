package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/store/sqlstore"
)

type migrateCmd struct {
	Up     migrateUpCmd     `cmd:"" help:"Apply every pending migration."`
	Status migrateStatusCmd `cmd:"" help:"List migrations and whether each is applied."`
}

type migrateUpCmd struct{}

func (migrateUpCmd) Run(g *globals) error {
	cfg, log, err := loadConfig(g)
	if err != nil {
		return err
	}
	db, err := openDatabase(g.ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(g.ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log.Info("migrations applied")
	return nil
}

type migrateStatusCmd struct{}

// migrationLister is an engine that can report its migrations.
type migrationLister interface {
	MigrationStatus(ctx context.Context) ([]sqlstore.Migration, error)
}

func (migrateStatusCmd) Run(g *globals) error {
	cfg, _, err := loadConfig(g)
	if err != nil {
		return err
	}
	db, err := openDatabase(g.ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	lister, ok := db.(migrationLister)
	if !ok {
		return fmt.Errorf("this database engine cannot list its migrations")
	}
	list, err := lister.MigrationStatus(g.ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, m := range list {
		state, at := "pending", ""
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
	}
	return w.Flush()
}
