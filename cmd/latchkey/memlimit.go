package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/latchkey/latchkey/internal/password"
)

// memoryHeadroom is what the server needs besides its password hashes:
// connections, sessions, caches and the Go runtime's own, for a deployment
// of modest size. With the default argon2id parameters on two cores the
// collector then runs about once a hash, which costs a few per cent of the
// hashing rate; more headroom lets dead hash blocks pile up past 128 MiB
// again.
const memoryHeadroom = 32 << 20

// limitMemory gives the Go runtime a soft memory limit of the hashes'
// working set plus memoryHeadroom, unless GOMEMLIMIT sets one.
//
// Each argon2id hash allocates its whole memory parameter (19 MiB by
// default) and drops it a few tens of milliseconds later. Left to its
// default pacing, the collector lets the heap grow to twice what was live
// at its last cycle, and a cycle that ran while hashes were in flight
// counts their blocks as live: during a login flood the process then holds
// several dead hash blocks for each live one, and a flood of logins takes
// it past 128 MiB. The limit makes the collector run before that happens.
// Those blocks hold no pointers, so the extra cycles cost little. A
// deployment that keeps more in memory (many cached sessions) sets
// GOMEMLIMIT itself.
func limitMemory(h *password.Hasher, log *slog.Logger) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	ws := h.WorkingSet()
	if ws == 0 {
		return
	}
	limit := ws + memoryHeadroom
	debug.SetMemoryLimit(limit)
	log.Info("soft memory limit set from the password hash working set",
		"limit_mib", limit>>20, "hash_working_set_mib", ws>>20)
}
