package main

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/latchkey/latchkey/internal/password"
)

// The tests here change the whole process's runtime settings, so none of
// them runs in parallel, and each puts the settings back.

func TestTuneRuntimeFitsTheRuntimeToTheHashingSlots(t *testing.T) {
	restoreRuntime(t)
	for _, name := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS"} {
		unsetenv(t, name)
	}
	procs := runtime.GOMAXPROCS(0)
	h := newHasher(t, password.Options{MaxInFlight: procs})

	tuneRuntime(h, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC = %d, want %d", got, gcPercent)
	}
	wantLimit := int64(procs)*int64(password.DefaultArgon2Params().Memory)<<10 + memoryHeadroom
	if got := debug.SetMemoryLimit(-1); got != wantLimit {
		t.Errorf("memory limit = %d, want %d", got, wantLimit)
	}
	if got := runtime.GOMAXPROCS(0); got != procs+1 {
		t.Errorf("GOMAXPROCS = %d, want %d (one more than the %d slots)", got, procs+1, procs)
	}
}

func TestTuneRuntimeLeavesWhatTheEnvironmentSets(t *testing.T) {
	restoreRuntime(t)
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("GOMAXPROCS", "1")
	gc := debug.SetGCPercent(77)
	limit := debug.SetMemoryLimit(1 << 30)
	procs := runtime.GOMAXPROCS(0)
	h := newHasher(t, password.Options{MaxInFlight: procs + 3})

	tuneRuntime(h, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if got := debug.SetGCPercent(gc); got != 77 {
		t.Errorf("GOGC = %d, want 77 as it was", got)
	}
	if got := debug.SetMemoryLimit(limit); got != 1<<30 {
		t.Errorf("memory limit = %d, want %d as it was", got, 1<<30)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS = %d, want %d as it was", got, procs)
	}
}

func TestTuneRuntimeSetsNoMemoryLimitForBcrypt(t *testing.T) {
	restoreRuntime(t)
	for _, name := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS"} {
		unsetenv(t, name)
	}
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	limit := debug.SetMemoryLimit(-1)
	h := newHasher(t, password.Options{Algorithm: password.Bcrypt, MaxInFlight: 1})

	tuneRuntime(h, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if got := debug.SetGCPercent(gc); got != gc {
		t.Errorf("GOGC = %d, want %d as it was: bcrypt allocates next to nothing", got, gc)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit = %d, want %d as it was", got, limit)
	}
}

func newHasher(t *testing.T, o password.Options) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// restoreRuntime puts the collector's pacing, the memory limit and
// GOMAXPROCS back as they were when the test ends.
func restoreRuntime(t *testing.T) {
	t.Helper()
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	limit := debug.SetMemoryLimit(-1)
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
		runtime.GOMAXPROCS(procs)
	})
}

// unsetenv removes name from the environment for the test, restoring it
// afterwards.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}
