package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// devConfig loads a development configuration that keeps its data in a
// fresh directory.
func devConfig(t *testing.T, dataDir string, pairs ...string) *Config {
	t.Helper()
	return mustLoad(t, with(map[string]string{"DATA_DIR": dataDir}, pairs...))
}

func ensure(t *testing.T, c *Config) []string {
	t.Helper()
	warnings, err := c.EnsureSecrets()
	if err != nil {
		t.Fatalf("EnsureSecrets: %v", err)
	}
	return warnings
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return data
}

func TestEnsureSecretsCreatesAPrivateFileAndReusesIt(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "nested", "data")
	path := filepath.Join(dataDir, DevSecretsFile)

	first := devConfig(t, dataDir)
	warnings := ensure(t, first)

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode = %v, want 0600", got)
	}
	for _, name := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "MFA_ENCRYPTION_KEY"} {
		want := name + " is not set: using a generated development secret from " + path +
			"; never do this in production"
		if !slices.Contains(warnings, want) {
			t.Errorf("warnings %q lack %q", warnings, want)
		}
	}
	if len(warnings) != 3 {
		t.Errorf("got %d warnings, want 3: %q", len(warnings), warnings)
	}
	if len(first.AccessSecret) != 32 || len(first.RefreshSecret) != 32 || len(first.MFAKey) != 32 {
		t.Errorf("secret lengths = %d, %d, %d; want 32 each",
			len(first.AccessSecret), len(first.RefreshSecret), len(first.MFAKey))
	}
	if bytes.Equal(first.AccessSecret, first.RefreshSecret) {
		t.Error("generated access and refresh secrets are equal")
	}
	before := readFile(t, path)

	second := devConfig(t, dataDir)
	if got := ensure(t, second); len(got) != 3 {
		t.Errorf("second call: got %d warnings, want 3 (the secrets are still unset)", len(got))
	}
	if !bytes.Equal(second.AccessSecret, first.AccessSecret) ||
		!bytes.Equal(second.RefreshSecret, first.RefreshSecret) ||
		!bytes.Equal(second.MFAKey, first.MFAKey) {
		t.Error("second call produced different secrets; tokens would not survive a restart")
	}
	if after := readFile(t, path); !bytes.Equal(after, before) {
		t.Errorf("second call rewrote the file:\nbefore %s\nafter  %s", before, after)
	}
}

func TestEnsureSecretsFillsOnlyWhatIsMissing(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	c := devConfig(t, dataDir, "JWT_ACCESS_SECRET", testAccessSecret)

	warnings := ensure(t, c)

	if string(c.AccessSecret) != testAccessSecret {
		t.Error("EnsureSecrets replaced the configured access secret")
	}
	if len(c.RefreshSecret) != 32 || len(c.MFAKey) != 32 {
		t.Errorf("filled secret lengths = %d, %d; want 32 each",
			len(c.RefreshSecret), len(c.MFAKey))
	}
	if len(warnings) != 2 || strings.Contains(strings.Join(warnings, "\n"), "JWT_ACCESS_SECRET") {
		t.Errorf("warnings = %q, want two, none about JWT_ACCESS_SECRET", warnings)
	}
	var stored devSecrets
	data := readFile(t, filepath.Join(dataDir, DevSecretsFile))
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatalf("decode file: %v", err)
	}
	if stored.AccessSecret != nil {
		t.Error("the file holds an access secret although one was configured")
	}
}

func TestEnsureSecretsWithEverySecretConfiguredWritesNothing(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	c := devConfig(t, dataDir,
		"JWT_ACCESS_SECRET", testAccessSecret,
		"JWT_REFRESH_SECRET", testRefreshSecret,
		"MFA_ENCRYPTION_KEY", strings.Repeat("ab", 32),
	)
	if got := ensure(t, c); len(got) != 0 {
		t.Errorf("warnings = %q, want none", got)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data directory exists (stat error %v), want nothing created", err)
	}
}

func TestEnsureSecretsCompletesAnOlderFile(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, DevSecretsFile)
	oldAccess := bytes.Repeat([]byte{1}, 32)
	data, err := json.Marshal(devSecrets{AccessSecret: oldAccess, MFAKey: []byte("too short")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	c := devConfig(t, dataDir)
	ensure(t, c)

	if !bytes.Equal(c.AccessSecret, oldAccess) {
		t.Error("the stored access secret was not reused")
	}
	if len(c.RefreshSecret) != 32 || len(c.MFAKey) != 32 {
		t.Errorf("secret lengths = %d, %d; want 32 each", len(c.RefreshSecret), len(c.MFAKey))
	}
	var stored devSecrets
	if err := json.Unmarshal(readFile(t, path), &stored); err != nil {
		t.Fatalf("decode file: %v", err)
	}
	if !bytes.Equal(stored.AccessSecret, oldAccess) ||
		!bytes.Equal(stored.RefreshSecret, c.RefreshSecret) ||
		!bytes.Equal(stored.MFAKey, c.MFAKey) {
		t.Error("the rewritten file does not hold the secrets in use")
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("rewritten file: stat error %v, mode %v; want 0600", err, info.Mode().Perm())
	}
}

func TestEnsureSecretsRefusesACorruptFile(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, DevSecretsFile)
	corrupt := []byte(`{"JWT_ACCESS_SECRET": "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==`)
	if err := os.WriteFile(path, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := devConfig(t, dataDir).EnsureSecrets()
	if err == nil {
		t.Fatal("EnsureSecrets accepted a corrupt file")
	}
	if strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("error %q quotes the file", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, corrupt) {
		t.Error("EnsureSecrets overwrote the corrupt file")
	}
}

func TestEnsureSecretsWarnsAboutAReadableFile(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	c := devConfig(t, dataDir)
	ensure(t, c)
	path := filepath.Join(dataDir, DevSecretsFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}

	warnings := ensure(t, devConfig(t, dataDir))
	want := path + " is readable by other users; restrict it with chmod 600"
	if !slices.Contains(warnings, want) {
		t.Errorf("warnings = %q, want one saying %q", warnings, want)
	}
}

func TestEnsureSecretsInProductionInventsNothing(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	c := mustLoad(t, with(productionEnv(), "DATA_DIR", dataDir))

	t.Run("with every secret configured it does nothing", func(t *testing.T) {
		warnings, err := c.EnsureSecrets()
		if err != nil || len(warnings) != 0 {
			t.Errorf("EnsureSecrets = %q, %v; want no warnings and no error", warnings, err)
		}
	})
	t.Run("with a secret missing it fails", func(t *testing.T) {
		broken := *c
		broken.MFAKey = nil
		_, err := broken.EnsureSecrets()
		if err == nil || !strings.Contains(err.Error(), "MFA_ENCRYPTION_KEY") {
			t.Errorf("EnsureSecrets error = %v, want one naming MFA_ENCRYPTION_KEY", err)
		}
		if broken.MFAKey != nil {
			t.Error("EnsureSecrets generated a key in production")
		}
	})
	entries, err := os.ReadDir(dataDir)
	if err != nil || len(entries) != 0 {
		t.Errorf("data directory holds %d entries (error %v), want none", len(entries), err)
	}
}

func TestEnsureSecretsAgreesAcrossConcurrentStarts(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	const n = 8
	configs := make([]*Config, n)
	for i := range configs {
		configs[i] = devConfig(t, dataDir)
	}

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, c := range configs {
		wg.Go(func() { _, errs[i] = c.EnsureSecrets() })
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("EnsureSecrets #%d: %v", i, err)
		}
	}
	for i, c := range configs[1:] {
		if !bytes.Equal(c.AccessSecret, configs[0].AccessSecret) ||
			!bytes.Equal(c.RefreshSecret, configs[0].RefreshSecret) ||
			!bytes.Equal(c.MFAKey, configs[0].MFAKey) {
			t.Errorf("process #%d ended up with different secrets than #0", i+1)
		}
	}
}
