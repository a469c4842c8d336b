package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one invocation measured.
type report struct {
	Target string `json:"target"`
	// Store is the server's store engine as -store named it, or empty.
	Store         string      `json:"store,omitempty"`
	StartedAt     time.Time   `json:"startedAt"`
	CPUs          int         `json:"cpus"`
	GoVersion     string      `json:"goVersion"`
	Seconds       float64     `json:"seconds"`
	WarmupSeconds float64     `json:"warmupSeconds"`
	Hash          *hashRate   `json:"hash,omitempty"`
	Runs          []runResult `json:"runs"`
	Ratios        []ratio     `json:"ratios"`
}

// runResult is one scenario at one concurrency. Its stats cover every
// operation; Operations breaks them down when the scenario mixes several.
type runResult struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	Clients     int     `json:"clients"`
	Seconds     float64 `json:"seconds"`
	stats
	Operations []opResult `json:"operations,omitempty"`
	// HashLimitShare is the rate of successful logins and registrations
	// over HashPerSecond.
	HashLimitShare *float64 `json:"hashLimitShare,omitempty"`
	// HashPerSecond is the raw hash rate measured just before this run,
	// for runs that hash: other work on the machine comes and goes, and a
	// share is only meaningful against a rate measured under the same
	// conditions.
	HashPerSecond *float64 `json:"hashPerSecond,omitempty"`
	// PeakRSSMiB is the server's peak resident memory: during this run when
	// PeakRSSScope is "run", over the server's life when it is "process".
	PeakRSSMiB   *float64 `json:"peakRSSMiB,omitempty"`
	PeakRSSScope string   `json:"peakRSSScope,omitempty"`
	// ServerCPUMicros is the CPU time, user plus system, the server spent
	// during this run per request answered, in microseconds. Unlike
	// throughput it hardly depends on what else the machine is doing.
	ServerCPUMicros *float64 `json:"serverCPUMicros,omitempty"`
}

type opResult struct {
	Op string `json:"op"`
	stats
}

// ratio compares two measurements of the same run, with the goal set for
// it where there is one.
type ratio struct {
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	Value       float64 `json:"value"`
	Goal        *goal   `json:"goal,omitempty"`
}

// goal is a bound on a ratio: at least Min, or at most Max.
type goal struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	Met bool     `json:"met"`
}

// measure checks the server, measures the hash rate, prepares accounts and
// sessions, and runs every scenario at every concurrency.
func measure(ctx context.Context, o options, progress io.Writer) (*report, error) {
	target, err := loopbackURL(o.target)
	if err != nil {
		return nil, err
	}
	list := make([]scenario, len(o.scenarios))
	for i, name := range o.scenarios {
		list[i] = newScenario(name, o)
	}
	conns := 0
	for _, sc := range list {
		conns = max(conns, sc.clients(maxOf(o.concurrency)))
	}
	dr := newDriver(target.String(), newClient(conns, o.timeout), o.password)

	if label := dr.call(ctx, http.MethodGet, "/healthz", "", nil, http.StatusOK, nil); label != "ok" {
		return nil, fmt.Errorf("GET %s/healthz: %s; is the server running?", dr.base, label)
	}
	if o.pid != 0 {
		if _, err := peakRSS(o.pid); err != nil {
			return nil, err
		}
	}

	rep := &report{
		Target:        dr.base,
		Store:         o.store,
		StartedAt:     time.Now().UTC().Truncate(time.Second),
		CPUs:          runtime.NumCPU(),
		GoVersion:     runtime.Version(),
		Seconds:       o.duration.Seconds(),
		WarmupSeconds: o.warmup.Seconds(),
	}
	if o.hashTime > 0 {
		fmt.Fprintf(progress, "measuring the %s hash rate for %s\n", o.hash.Algorithm, o.hashTime)
		if rep.Hash, err = measureHashRate(ctx, o.hash, o.hashTime, o.password); err != nil {
			return nil, err
		}
	}

	accounts, sessions := needs(list)
	if accounts {
		n := 0
		if sessions {
			n = o.sessions
		}
		fmt.Fprintf(progress, "preparing %d accounts and %d sessions\n", o.accounts, n)
		if err := dr.prepare(ctx, o.accounts, n); err != nil {
			return nil, err
		}
		runs := time.Duration(len(list) * len(o.concurrency))
		if planned := runs * (o.warmup + o.duration); sessions && planned >= dr.accessTTL {
			return nil, fmt.Errorf("the runs take %s, longer than the access tokens live (%s): "+
				"run fewer, or start the server with a longer ACCESS_TOKEN_EXPIRY",
				planned, dr.accessTTL)
		}
	}

	for _, n := range o.concurrency {
		for _, sc := range list {
			hr := rep.Hash
			if hr != nil && sc.hashes() {
				if hr, err = measureHashRate(ctx, o.hash, o.hashTime, o.password); err != nil {
					return nil, err
				}
			}
			r, err := runScenario(ctx, dr, sc, n, o, hr, progress)
			if err != nil {
				return nil, err
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Ratios = ratios(rep)
	return rep, nil
}

func runScenario(ctx context.Context, dr *driver, sc scenario, n int, o options, hr *hashRate,
	progress io.Writer) (runResult, error) {
	fmt.Fprintf(progress, "%s: %d clients, %s\n", sc.name, sc.clients(n), o.duration)
	if o.warmup > 0 {
		drive(ctx, dr, sc, n, o.warmup, o.maxRequests)
	}
	scope := ""
	var cpu0 time.Duration
	if o.pid != 0 {
		scope = "run"
		if resetPeakRSS(o.pid) != nil {
			scope = "process"
		}
		var err error
		if cpu0, err = cpuTime(o.pid); err != nil {
			return runResult{}, err
		}
	}
	l := drive(ctx, dr, sc, n, o.duration, o.maxRequests)
	if err := ctx.Err(); err != nil {
		return runResult{}, fmt.Errorf("interrupted: %w", err)
	}

	r := runResult{
		Scenario:    sc.name,
		Concurrency: n,
		Clients:     sc.clients(n),
		Seconds:     l.elapsed.Seconds(),
	}
	var all opTally
	hashedOK := 0
	for _, x := range sc.ops {
		all.merge(&l.ops[x])
		if x.hashed() {
			hashedOK += len(l.ops[x].latencies)
		}
		if len(sc.ops) > 1 {
			r.Operations = append(r.Operations, opResult{Op: x.String(),
				stats: summarise(&l.ops[x], l.elapsed)})
		}
	}
	r.stats = summarise(&all, l.elapsed)
	if hr != nil && hr.PerSecond > 0 && hashedOK > 0 {
		share := float64(hashedOK) / l.elapsed.Seconds() / hr.PerSecond
		r.HashLimitShare = &share
		r.HashPerSecond = &hr.PerSecond
	}
	if o.pid != 0 {
		mib, err := peakRSS(o.pid)
		if err != nil {
			return runResult{}, err
		}
		r.PeakRSSMiB, r.PeakRSSScope = &mib, scope
		cpu1, err := cpuTime(o.pid)
		if err != nil {
			return runResult{}, err
		}
		if r.Requests > 0 {
			us := float64((cpu1 - cpu0).Microseconds()) / float64(r.Requests)
			r.ServerCPUMicros = &us
		}
	}
	return r, nil
}

// ratios compares runs of the same concurrency, with the goals Latchkey
// sets itself: authentication costs at most about 3× a bare handler;
// rotation passes 1,000 a second and, on SQLite, keeps up with 40% of
// authenticated reads; logins and sign-ups use 95% of the hash limit; a
// login flood leaves reads at most 5× slower at the 99th percentile and
// the server under 128 MiB; and SQLite serves the mixed load without an
// error. Goals tied to a store engine are judged only when -store names it.
func ratios(rep *report) []ratio {
	find := func(name string, n int) *runResult {
		for i := range rep.Runs {
			if rep.Runs[i].Scenario == name && rep.Runs[i].Concurrency == n {
				return &rep.Runs[i]
			}
		}
		return nil
	}
	judge := func(r ratio, at int, min, max *float64) ratio {
		if at != 0 && at != r.Concurrency {
			return r
		}
		met := (min == nil || r.Value >= *min) && (max == nil || r.Value <= *max)
		r.Goal = &goal{Min: min, Max: max, Met: met}
		return r
	}
	atLeast := func(r ratio, at int, min float64) ratio { return judge(r, at, &min, nil) }
	atMost := func(r ratio, at int, max float64) ratio { return judge(r, at, nil, &max) }
	sqlite := rep.Store == "sqlite"

	var out []ratio
	seen := map[int]bool{}
	for _, run := range rep.Runs {
		n := run.Concurrency
		if seen[n] {
			continue
		}
		seen[n] = true
		health, profile := find("healthz", n), find("profile", n)
		if health != nil && profile != nil && health.RequestsPerSecond > 0 {
			out = append(out, atLeast(ratio{Name: "profile/healthz req/s", Concurrency: n,
				Value: profile.RequestsPerSecond / health.RequestsPerSecond}, 64, 0.30))
		}
		if refresh := find("refresh", n); refresh != nil {
			out = append(out, atLeast(ratio{Name: "refresh req/s", Concurrency: n,
				Value: refresh.RequestsPerSecond}, 0, 1000))
			if profile != nil && profile.RequestsPerSecond > 0 {
				q := ratio{Name: "refresh/profile req/s", Concurrency: n,
					Value: refresh.RequestsPerSecond / profile.RequestsPerSecond}
				if sqlite {
					q = atLeast(q, 0, 0.40)
				}
				out = append(out, q)
			}
		}
		for _, name := range []string{"login", "register"} {
			if r := find(name, n); r != nil && r.HashLimitShare != nil {
				out = append(out, atLeast(ratio{Name: name + "/hash limit", Concurrency: n,
					Value: *r.HashLimitShare}, 8, 0.95))
			}
		}
		flood := find("flood", n)
		if flood != nil && profile != nil && profile.LatencyMs.P99 > 0 {
			for _, x := range flood.Operations {
				if x.Op == opProfile.String() {
					out = append(out, atMost(ratio{Name: "flood/profile p99", Concurrency: n,
						Value: x.LatencyMs.P99 / profile.LatencyMs.P99}, 64, 5))
				}
			}
		}
		if flood != nil && flood.PeakRSSMiB != nil {
			out = append(out, atMost(ratio{Name: "flood peak RSS MiB", Concurrency: n,
				Value: *flood.PeakRSSMiB}, 0, 128))
		}
		if mixed := find("mixed", n); mixed != nil {
			q := ratio{Name: "mixed errors", Concurrency: n, Value: float64(mixed.Errors)}
			if sqlite {
				q = atMost(q, 64, 0)
			}
			out = append(out, q)
		}
	}
	return out
}

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (rep *report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "latchkey-bench  %s  %d CPUs  %s  runs of %s after %s warm-up\n",
		rep.Target, rep.CPUs, rep.StartedAt.Format(time.RFC3339),
		secs(rep.Seconds), secs(rep.WarmupSeconds))
	if h := rep.Hash; h != nil {
		fmt.Fprintf(&b, "password hash   %s %s: %.1f hashes/s on %d workers "+
			"(measured again before each run that hashes)\n",
			h.Algorithm, h.Params, h.PerSecond, h.Workers)
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t"+
		"of hash limit\tpeak RSS MiB\tserver CPU µs/req\t")
	for _, r := range rep.Runs {
		row(tw, r.Scenario, r.Clients, r.stats, r.HashLimitShare, r.PeakRSSMiB, r.ServerCPUMicros)
		for _, x := range r.Operations {
			row(tw, "  "+x.Op, 0, x.stats, nil, nil, nil)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var errs []string
	for _, r := range rep.Runs {
		if r.Errors > 0 {
			errs = append(errs, fmt.Sprintf("  %s at %d: %s", r.Scenario, r.Concurrency,
				formatErrors(r.ErrorsByStatus)))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\nerrors by status\n%s\n", strings.Join(errs, "\n"))
	}
	if len(rep.Ratios) > 0 {
		b.WriteString("\nratios and goals within this run\n")
		for _, q := range rep.Ratios {
			fmt.Fprintf(&b, "  %-24s at %4d: %8s%s\n", q.Name, q.Concurrency, number(q.Value),
				formatGoal(q.Goal))
		}
	}
	if scope := rssScope(rep); scope == "process" {
		b.WriteString("\npeak RSS is the server's lifetime peak " +
			"(no permission to reset it between runs)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func row(w io.Writer, name string, clients int, s stats, share, rss, cpu *float64) {
	c := ""
	if clients > 0 {
		c = fmt.Sprint(clients)
	}
	fmt.Fprintf(w, "%s\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t\n", name, c,
		s.RequestsPerSecond, s.LatencyMs.P50, s.LatencyMs.P90, s.LatencyMs.P99, s.LatencyMs.Max,
		s.Errors, optional(share, "%.0f%%", 100), optional(rss, "%.1f", 1),
		optional(cpu, "%.0f", 1))
}

func optional(v *float64, format string, scale float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v*scale)
}

func formatErrors(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func formatGoal(g *goal) string {
	if g == nil {
		return ""
	}
	verdict := "met"
	if !g.Met {
		verdict = "NOT met"
	}
	if g.Max != nil {
		return fmt.Sprintf("  (goal ≤ %s: %s)", number(*g.Max), verdict)
	}
	return fmt.Sprintf("  (goal ≥ %s: %s)", number(*g.Min), verdict)
}

// number prints a ratio with two decimals and a count or a rate without.
func number(v float64) string {
	if v >= 100 || v == float64(int(v)) && v != 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func rssScope(rep *report) string {
	for _, r := range rep.Runs {
		if r.PeakRSSScope == "process" {
			return "process"
		}
	}
	return ""
}

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).String()
}
