package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/password"
)

// hashRate is how fast this machine computes the configured password hash
// with every CPU busy: the ceiling for logins and registrations, each of
// which costs the server one hash.
type hashRate struct {
	Algorithm string  `json:"algorithm"`
	Params    string  `json:"params"`
	Workers   int     `json:"workers"`
	Hashes    int64   `json:"hashes"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"perSecond"`
}

// measureHashRate hashes with o on GOMAXPROCS goroutines for about d, as
// many at once as the server's hasher allows by default.
func measureHashRate(ctx context.Context, o password.Options, d time.Duration,
	plain string) (*hashRate, error) {
	workers := runtime.GOMAXPROCS(0)
	o.MaxInFlight = workers
	h, err := password.NewHasher(o)
	if err != nil {
		return nil, err
	}
	// One unmeasured hash, so that first-use costs do not count.
	if _, err := h.Hash(ctx, plain); err != nil {
		return nil, fmt.Errorf("hash rate: %w", err)
	}

	var done atomic.Int64
	errs := make([]error, workers)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := h.Hash(ctx, plain); err != nil {
					errs[w] = err
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("hash rate: %w", err)
	}

	r := &hashRate{
		Algorithm: h.Algorithm(),
		Workers:   workers,
		Hashes:    done.Load(),
		Seconds:   elapsed.Seconds(),
		PerSecond: float64(done.Load()) / elapsed.Seconds(),
	}
	if r.Algorithm == password.Bcrypt {
		r.Params = fmt.Sprintf("cost=%d", o.BcryptCost)
	} else {
		p := o.Argon2
		if p == (password.Argon2Params{}) {
			p = password.DefaultArgon2Params()
		}
		r.Params = fmt.Sprintf("m=%dKiB,t=%d,p=%d", p.Memory, p.Time, p.Threads)
	}
	return r, nil
}

// peakRSS returns the peak resident set size of process pid in MiB: the
// VmHWM line of /proc/<pid>/status.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS of %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			break
		}
		return float64(kb) / 1024, nil
	}
	return 0, fmt.Errorf("peak RSS of %d: no VmHWM line in its status", pid)
}

// resetPeakRSS restarts the peak of process pid from its current resident
// size (Linux's clear_refs value 5), so that the next reading is the peak of
// one run rather than of the process's life. It fails without permission,
// and the caller then reports the lifetime peak.
func resetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat: fixed at 100 per
// second by the kernel's interface, whatever the internal tick rate.
const userHZ = 100

// cpuTime returns the user plus system CPU time process pid has used, from
// /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("CPU time of %d: %w", pid, err)
	}
	// The command name is in parentheses and may contain anything, so the
	// fields are counted from the last closing one: state is field 3, utime
	// 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("CPU time of %d: unreadable stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("CPU time of %d: unreadable stat", pid)
	}
	var ticks int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of %d: unreadable stat", pid)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
