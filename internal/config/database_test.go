package config

import (
	"strings"
	"testing"
)

func TestDatabaseResolvesURLForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		dataDir string
		want    Database
	}{
		{
			name:    "unset falls back to SQLite in the data directory",
			dataDir: "./data",
			want:    Database{Kind: KindSQLite, Path: "data/latchkey.db"},
		},
		{
			name:    "unset follows a custom data directory",
			dataDir: "/var/lib/latchkey",
			want:    Database{Kind: KindSQLite, Path: "/var/lib/latchkey/latchkey.db"},
		},
		{
			name: "sqlite with an absolute path",
			url:  "sqlite:///var/lib/latchkey/auth.db",
			want: Database{Kind: KindSQLite, Path: "/var/lib/latchkey/auth.db"},
		},
		{
			name: "sqlite with a dot-relative path",
			url:  "sqlite://./rel/path/auth.db",
			want: Database{Kind: KindSQLite, Path: "rel/path/auth.db"},
		},
		{
			name: "sqlite with an opaque relative path",
			url:  "sqlite:relative.db",
			want: Database{Kind: KindSQLite, Path: "relative.db"},
		},
		{
			name: "file as Prisma writes it",
			url:  "file:./dev.db",
			want: Database{Kind: KindSQLite, Path: "dev.db"},
		},
		{
			name: "file with an absolute path",
			url:  "file:///tmp/latchkey.db",
			want: Database{Kind: KindSQLite, Path: "/tmp/latchkey.db"},
		},
		{
			name: "sqlite with a percent-encoded space",
			url:  "sqlite:///srv/my%20data/auth.db",
			want: Database{Kind: KindSQLite, Path: "/srv/my data/auth.db"},
		},
		{
			name: "upper-case scheme",
			url:  "SQLITE:auth.db",
			want: Database{Kind: KindSQLite, Path: "auth.db"},
		},
		{
			name: "postgres",
			url:  "postgres://app:secret@db:5432/latchkey?sslmode=disable",
			want: Database{
				Kind: KindPostgres,
				URL:  "postgres://app:secret@db:5432/latchkey?sslmode=disable",
			},
		},
		{
			name: "postgresql",
			url:  "postgresql://db/latchkey",
			want: Database{Kind: KindPostgres, URL: "postgresql://db/latchkey"},
		},
		{
			name: "postgres over a Unix socket",
			url:  "postgres:///latchkey?host=/var/run/postgresql",
			want: Database{
				Kind: KindPostgres,
				URL:  "postgres:///latchkey?host=/var/run/postgresql",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{DatabaseURL: tt.url, DataDir: tt.dataDir}
			got, err := c.Database()
			if err != nil {
				t.Fatalf("Database() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("Database() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDatabaseRefusesBadURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		url         string
		wantMessage string
	}{
		{name: "an unknown scheme", url: "mysql://db/x", wantMessage: `unsupported scheme "mysql"`},
		{name: "a bare path", url: "data/latchkey.db", wantMessage: "missing scheme"},
		{name: "an empty SQLite path", url: "sqlite://", wantMessage: "empty"},
		{name: "SQLite options", url: "file:dev.db?mode=memory", wantMessage: "query parameters"},
		{name: "a bad escape", url: "sqlite:///srv/%zz.db", wantMessage: "invalid escape"},
		{name: "postgres without slashes", url: "postgres:db", wantMessage: "not a valid"},
		{
			name:        "postgres that does not parse",
			url:         "postgres://app:p%zzword@db/latchkey",
			wantMessage: "not a valid PostgreSQL URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{DatabaseURL: tt.url, DataDir: "./data"}
			got, err := c.Database()
			if err == nil {
				t.Fatalf("Database() = %+v, want an error", got)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "DATABASE_URL: ") {
				t.Errorf("error %q does not name DATABASE_URL", msg)
			}
			if !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("error = %q, want it to contain %q", msg, tt.wantMessage)
			}
			if strings.Contains(msg, "p%zzword") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

func TestDatabaseStringHidesThePassword(t *testing.T) {
	t.Parallel()
	db := Database{Kind: KindPostgres, URL: "postgres://app:hunter2hunter2@db/latchkey"}
	got := db.String()
	if strings.Contains(got, "hunter2hunter2") {
		t.Errorf("String() = %q, shows the password", got)
	}
	if want := "postgres postgres://app:xxxxx@db/latchkey"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
