package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
)

// Migration is the state of one schema migration.
type Migration struct {
	// Version is the number the migration's file name starts with.
	Version int64
	// Name is the migration's file name, such as "00001_initial.sql".
	Name string
	// Applied reports whether the migration is recorded as applied.
	Applied bool
	// AppliedAt is when it was applied, in UTC; zero while pending.
	AppliedAt time.Time
}

// Migrator applies the versioned SQL migrations of an engine, keeping track
// of them in the database itself.
type Migrator struct {
	s *Store
	p *goose.Provider
}

// NewMigrator returns a Migrator running the migrations in fsys (the
// directory holding the .sql files) on the write handle of s. Extra options
// add, for instance, a lock that keeps several instances from migrating the
// same database at once.
func NewMigrator(
	s *Store,
	dialect goose.Dialect,
	fsys fs.FS,
	opts ...goose.ProviderOption,
) (*Migrator, error) {
	opts = append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, opts...)
	p, err := goose.NewProvider(dialect, s.write, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: load migrations: %w", s.d.Name, err)
	}
	return &Migrator{s: s, p: p}, nil
}

// Up applies every pending migration, in version order.
func (m *Migrator) Up(ctx context.Context) error {
	if _, err := m.p.Up(ctx); err != nil {
		return m.s.fail("migrate", err)
	}
	return nil
}

// Status returns every known migration, in version order, with whether and
// when it was applied.
func (m *Migrator) Status(ctx context.Context) ([]Migration, error) {
	states, err := m.p.Status(ctx)
	if err != nil {
		return nil, m.s.fail("migration status", err)
	}
	out := make([]Migration, 0, len(states))
	for _, st := range states {
		mig := Migration{
			Version: st.Source.Version,
			Name:    path.Base(st.Source.Path),
			Applied: st.State == goose.StateApplied,
		}
		if mig.Applied {
			mig.AppliedAt = st.AppliedAt.UTC()
		}
		out = append(out, mig)
	}
	return out, nil
}
