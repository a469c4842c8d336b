package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/latchkey/latchkey/internal/password"
)

// Password hashing shapes how the server should use its runtime: each
// argon2id hash allocates its whole memory parameter (19 MiB by default),
// fills it for a few tens of milliseconds and drops it, and while a login
// flood lasts every hashing slot is busy. tuneRuntime sets three knobs for
// that, each only where its environment variable does not set it already.
//
//   - GOGC: left to its default pacing, the collector lets the heap grow to
//     twice what was live at its last cycle, and a cycle that ran while
//     hashes were in flight counts their blocks as live. A login flood then
//     keeps several dead hash blocks for each live one. Collecting at half
//     the live heap instead keeps them few. The blocks hold no pointers, so
//     the extra cycles cost little.
//   - GOMEMLIMIT: a soft limit of the hashes' working set plus
//     memoryHeadroom, a ceiling for the rare cycle that still runs late.
//     It is set loose on purpose: near the limit the runtime hands freed
//     pages back to the kernel at once, and every later hash faults 19 MiB
//     in again, which cost a quarter of the login rate when the headroom
//     was 32 MiB. Between 48 and 64 MiB the login rate no longer moved
//     beyond the noise, and the lower end keeps peak RSS further from
//     128 MiB.
//   - GOMAXPROCS: one processor more than the hashing slots, so that a
//     flood of logins occupying every slot still leaves a processor for
//     token refreshes and authenticated reads. With exactly as many
//     processors as slots those waited for the runtime to preempt a hash,
//     10 ms at a time; with one more, the kernel shares the cores among
//     the threads in far shorter slices.
func tuneRuntime(h *password.Hasher, log *slog.Logger) {
	var tuned []any
	if ws := h.WorkingSet(); ws > 0 {
		if _, set := os.LookupEnv("GOGC"); !set {
			debug.SetGCPercent(gcPercent)
			tuned = append(tuned, "gogc", gcPercent)
		}
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(ws + memoryHeadroom)
			tuned = append(tuned, "memory_limit_mib", (ws+memoryHeadroom)>>20)
		}
	}
	_, set := os.LookupEnv("GOMAXPROCS")
	if slots := h.MaxInFlight(); !set && slots >= runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(slots + 1)
		tuned = append(tuned, "gomaxprocs", slots+1)
	}
	if len(tuned) > 0 {
		log.Info("runtime tuned for password hashing", append(tuned,
			"hashing_slots", h.MaxInFlight(), "hash_working_set_mib", h.WorkingSet()>>20)...)
	}
}

// gcPercent is the collector's pacing unless GOGC sets it.
const gcPercent = 50

// memoryHeadroom is what the server needs besides its password hashes:
// connections, sessions, caches and the Go runtime's own, for a deployment
// of modest size, with room left for dead hash blocks between cycles. A
// deployment that keeps more in memory (many cached sessions) sets
// GOMEMLIMIT itself.
const memoryHeadroom = 48 << 20
