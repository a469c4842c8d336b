package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// server is the latchkey binary, built once for the smoke runs.
var server string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latchkey-bench-")
	if err != nil {
		panic(err)
	}
	server = filepath.Join(dir, "latchkey")
	build := exec.Command("go", "build", "-o", server, "../latchkey")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building latchkey: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var listening = regexp.MustCompile(`latchkey listening.* addr=(\S+)`)

// startServer runs `latchkey serve` on a free loopback port with the given
// database, cheap bcrypt hashes and limits high enough for a load test, and
// returns its URL and process ID.
func startServer(t *testing.T, databaseURL string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(server, "serve")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"LISTEN_ADDR=127.0.0.1:0",
		"DATABASE_URL=" + databaseURL,
		"PASSWORD_HASH=bcrypt",
		"BCRYPT_ROUNDS=4",
		"RATE_LIMIT_MAX=100000000",
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	// The listening line is at level info, so the access records come too;
	// the pipe is drained until the process ends.
	addr := make(chan string, 1)
	ended := make(chan string, 1)
	go func() {
		var early strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
			if early.Len() < 4096 {
				early.WriteString(sc.Text() + "\n")
			}
		}
		ended <- early.String()
	}()
	select {
	case a := <-addr:
		return "http://" + a, cmd.Process.Pid
	case logs := <-ended:
		t.Fatalf("latchkey serve ended before listening:\n%s", logs)
	case <-time.After(time.Minute):
		t.Fatalf("latchkey serve did not start within a minute")
	}
	return "", 0
}

// decodeReport reads a JSON report strictly: every field must be one the
// report type knows.
func decodeReport(t *testing.T, b []byte) report {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rep report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("report is not well-formed JSON: %v\n%s", err, b)
	}
	return rep
}

func TestEveryScenarioRunsWithoutErrorsOnEachEngine(t *testing.T) {
	t.Parallel()
	engines := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "latchkey.db")
		}},
		{"postgres", func(t *testing.T) string { return storetest.PostgresSchemaURL(t) }},
	}
	for _, engine := range engines {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			url, pid := startServer(t, engine.url(t))
			var out, progress bytes.Buffer
			err := run(t.Context(), []string{
				"-url", url, "-pid", strconv.Itoa(pid), "-json", "-store", engine.name,
				"-scenario", strings.Join(scenarioNames, ","),
				"-c", "1,4", "-d", "1s", "-warmup", "100ms",
				"-accounts", "3", "-flood-logins", "2",
				"-hash", "bcrypt", "-bcrypt-rounds", "4", "-hash-time", "200ms",
			}, &out, &progress)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, progress.String())
			}
			rep := decodeReport(t, out.Bytes())
			if rep.Store != engine.name {
				t.Errorf("store: got %q, want %q", rep.Store, engine.name)
			}
			checkReport(t, rep, 2*len(scenarioNames))
		})
	}
}

// checkReport checks that every run of rep succeeded throughout and that
// its numbers are consistent; never how fast anything was.
func checkReport(t *testing.T, rep report, runs int) {
	t.Helper()
	if rep.Hash == nil || rep.Hash.PerSecond <= 0 || rep.Hash.Algorithm != password.Bcrypt {
		t.Errorf("hash rate: got %+v, want a positive bcrypt rate", rep.Hash)
	}
	if len(rep.Runs) != runs {
		t.Fatalf("runs: got %d, want %d", len(rep.Runs), runs)
	}
	for _, r := range rep.Runs {
		name := fmt.Sprintf("%s at %d", r.Scenario, r.Concurrency)
		checkStats(t, name, r.stats)
		if r.PeakRSSMiB == nil || *r.PeakRSSMiB <= 0 {
			t.Errorf("%s: no peak RSS", name)
		}
		if r.ServerCPUMicros == nil || *r.ServerCPUMicros < 0 {
			t.Errorf("%s: server CPU per request %v, want a measurement", name, r.ServerCPUMicros)
		}
		if hashed := r.Scenario == "login" || r.Scenario == "register" ||
			r.Scenario == "mixed" || r.Scenario == "flood"; hashed != (r.HashLimitShare != nil) {
			t.Errorf("%s: hash limit share %v, want one only for hashing scenarios",
				name, r.HashLimitShare)
		}
		if (r.HashPerSecond != nil) != (r.HashLimitShare != nil) ||
			(r.HashPerSecond != nil && *r.HashPerSecond <= 0) {
			t.Errorf("%s: hash rate %v beside share %v, want a positive rate with every share",
				name, r.HashPerSecond, r.HashLimitShare)
		}
		if mixes := r.Scenario == "mixed" || r.Scenario == "flood"; mixes != (len(r.Operations) > 1) {
			t.Errorf("%s: %d operations broken down", name, len(r.Operations))
		}
		for _, x := range r.Operations {
			checkStats(t, name+" "+x.Op, x.stats)
		}
	}
	names := map[string]bool{}
	for _, q := range rep.Ratios {
		names[q.Name] = true
		switch {
		case q.Name == "mixed errors" && q.Value != 0:
			t.Errorf("mixed errors at %d: got %g, want 0", q.Concurrency, q.Value)
		case q.Name != "mixed errors" && q.Value <= 0:
			t.Errorf("ratio %s at %d: got %g, want a positive value", q.Name, q.Concurrency, q.Value)
		}
		if sqliteGoal := q.Name == "refresh/profile req/s"; sqliteGoal &&
			(q.Goal != nil) != (rep.Store == "sqlite") {
			t.Errorf("%s on %q: goal %+v, want one on SQLite only", q.Name, rep.Store, q.Goal)
		}
	}
	for _, want := range []string{"profile/healthz req/s", "refresh/profile req/s",
		"refresh req/s", "login/hash limit", "register/hash limit", "flood/profile p99",
		"flood peak RSS MiB", "mixed errors"} {
		if !names[want] {
			t.Errorf("ratios lack %q: %+v", want, rep.Ratios)
		}
	}
}

func checkStats(t *testing.T, name string, s stats) {
	t.Helper()
	if s.Errors != 0 || len(s.ErrorsByStatus) != 0 {
		t.Errorf("%s: %d errors %v, want none", name, s.Errors, s.ErrorsByStatus)
	}
	if s.OK == 0 || s.Requests != s.OK || s.RequestsPerSecond <= 0 {
		t.Errorf("%s: %d requests, %d ok, %g/s; want some, all ok", name, s.Requests, s.OK,
			s.RequestsPerSecond)
	}
	l := s.LatencyMs
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("%s: latencies %+v are not ordered", name, l)
	}
}

func TestTheTextReportHasOneRowPerRun(t *testing.T) {
	t.Parallel()
	url, _ := startServer(t, "sqlite://"+filepath.Join(t.TempDir(), "latchkey.db"))
	var out, progress bytes.Buffer
	err := run(t.Context(), []string{"-url", url, "-scenario", "healthz,profile",
		"-c", "2", "-d", "300ms", "-warmup", "0", "-hash-time", "0", "-accounts", "1"},
		&out, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	text := out.String()
	for _, want := range []string{"req/s", "p99 ms", "healthz", "profile",
		"profile/healthz req/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
}

// stub answers /healthz: 200 to the tool's first check, then status.
func stub(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestFailedRequestsAreCountedByStatus(t *testing.T) {
	t.Parallel()
	srv, _ := stub(t, http.StatusServiceUnavailable)
	var out, progress bytes.Buffer
	err := run(t.Context(), []string{"-url", srv.URL, "-scenario", "healthz", "-c", "2",
		"-d", "200ms", "-warmup", "0", "-hash-time", "0", "-json"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	r := decodeReport(t, out.Bytes()).Runs[0]
	if r.OK != 0 || r.Errors == 0 || r.ErrorsByStatus["503"] != r.Errors {
		t.Errorf("got %d ok, %d errors %v; want every request counted under 503",
			r.OK, r.Errors, r.ErrorsByStatus)
	}
}

func TestARunStopsAtItsRequestCap(t *testing.T) {
	t.Parallel()
	srv, served := stub(t, http.StatusOK)
	var out, progress bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"-url", srv.URL, "-scenario", "healthz", "-c", "3",
		"-d", "1h", "-warmup", "0", "-hash-time", "0", "-max-requests", "25", "-json"},
		&out, &progress)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r := decodeReport(t, out.Bytes()).Runs[0]; r.Requests != 25 {
		t.Errorf("requests: got %d, want 25", r.Requests)
	}
	if got := served.Load(); got != 26 {
		t.Errorf("requests served: got %d, want the check and 25", got)
	}
}

func TestOnlyLoopbackTargetsAreAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.3.2.1:8080/", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"https://127.0.0.1:8443", true},
		{"http://10.0.0.1:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://example.com", false},
		{"http://[::ffff:8.8.8.8]:80", false},
		{"ftp://127.0.0.1", false},
		{"http://user:pass@127.0.0.1:8080", false},
		{"http://127.0.0.1:8080/?x=1", false},
		{"127.0.0.1:8080", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			_, err := loopbackURL(tc.url)
			if (err == nil) != tc.ok {
				t.Errorf("loopbackURL(%q) = %v; want ok %v", tc.url, err, tc.ok)
			}
		})
	}
}

func TestTheClientRefusesToDialOutsideLoopback(t *testing.T) {
	t.Parallel()
	// A name could resolve anywhere; the dialer checks the address itself.
	c := newClient(1, 5*time.Second)
	_, err := c.Get("http://192.0.2.1:9/")
	if !errors.Is(err, errNotLoopback) {
		t.Errorf("dialing a documentation address: got %v, want errNotLoopback", err)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"an unknown scenario", []string{"-scenario", "healthz,nap"}},
		{"a client count of zero", []string{"-c", "0"}},
		{"a client count that is not a number", []string{"-c", "8,many"}},
		{"too many clients", []string{"-c", "100000"}},
		{"a zero duration", []string{"-d", "0s"}},
		{"a duration over an hour", []string{"-d", "2h"}},
		{"a mix without weights", []string{"-mix", "profile"}},
		{"a mix of an operation it cannot mix", []string{"-mix", "register=1"}},
		{"a mix of zero weights", []string{"-mix", "profile=0"}},
		{"an unknown hash", []string{"-hash", "md5"}},
		{"a bcrypt cost out of range", []string{"-hash", "bcrypt", "-bcrypt-rounds", "40"}},
		{"a remote target", []string{"-url", "http://192.0.2.1:8080"}},
		{"a stray argument", []string{"now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			if _, err := parseOptions(tc.args, &stderr); err == nil {
				t.Errorf("parseOptions(%q) accepted it", tc.args)
			}
		})
	}
}

func TestTheHashDefaultsFollowTheServersVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		env    map[string]string
		alg    string
		rounds int
		want   password.Options
	}{
		{"nothing set means argon2id", nil, "", 0,
			password.Options{Algorithm: password.Argon2id, BcryptCost: 12}},
		{"the variables are read", map[string]string{"PASSWORD_HASH": "bcrypt",
			"BCRYPT_ROUNDS": "10"}, "", 0,
			password.Options{Algorithm: password.Bcrypt, BcryptCost: 10}},
		{"flags win over variables", map[string]string{"PASSWORD_HASH": "argon2id",
			"BCRYPT_ROUNDS": "10"}, "bcrypt", 11,
			password.Options{Algorithm: password.Bcrypt, BcryptCost: 11}},
		{"other variables are ignored", map[string]string{"APP_ENV": "production"}, "", 0,
			password.Options{Algorithm: password.Argon2id, BcryptCost: 12}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := hashOptions(tc.alg, tc.rounds, func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			})
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestPercentilesAreNearestRank(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no samples", nil, 0.5, 0},
		{"one sample", []time.Duration{7}, 0.99, 7},
		{"median of a hundred", hundred, 0.50, 50 * time.Millisecond},
		{"p99 of a hundred", hundred, 0.99, 99 * time.Millisecond},
		{"max of a hundred", hundred, 1, 100 * time.Millisecond},
		{"p90 of three", []time.Duration{1, 2, 3}, 0.90, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%g) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestPeakRSSIsReadFromTheProcessStatus(t *testing.T) {
	t.Parallel()
	mib, err := peakRSS(os.Getpid())
	if err != nil || mib <= 0 {
		t.Fatalf("peakRSS(self) = %g, %v; want a positive size", mib, err)
	}
	if _, err := peakRSS(1 << 30); err == nil {
		t.Error("peakRSS of a process that does not exist gave no error")
	}
}

func TestGoalsAreJudgedWhereTheyApply(t *testing.T) {
	t.Parallel()
	rps := func(name string, n int, perSecond float64) runResult {
		return runResult{Scenario: name, Concurrency: n,
			stats: stats{RequestsPerSecond: perSecond, LatencyMs: latency{P99: 2}}}
	}
	rss := 130.0
	flood := rps("flood", 64, 900)
	flood.PeakRSSMiB = &rss
	flood.Operations = []opResult{{Op: opProfile.String(), stats: stats{LatencyMs: latency{P99: 9}}}}
	mixed := rps("mixed", 64, 3000)
	mixed.Errors = 2
	runs := []runResult{rps("healthz", 64, 10000), rps("profile", 64, 2900),
		rps("refresh", 64, 1100), flood, mixed}

	tests := []struct {
		store string
		want  map[string]string // ratio name → "met", "NOT met" or "" for no goal
	}{
		{"sqlite", map[string]string{
			"profile/healthz req/s": "NOT met", // 0.29 < 0.30
			"refresh req/s":         "met",     // 1100 ≥ 1000
			"refresh/profile req/s": "NOT met", // 1100/2900 = 0.38 < 0.40
			"flood/profile p99":     "met",     // 4.5 ≤ 5
			"flood peak RSS MiB":    "NOT met",
			"mixed errors":          "NOT met",
		}},
		{"postgres", map[string]string{
			"profile/healthz req/s": "NOT met",
			"refresh req/s":         "met",
			"refresh/profile req/s": "",
			"flood/profile p99":     "met",
			"flood peak RSS MiB":    "NOT met",
			"mixed errors":          "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			got := map[string]string{}
			for _, q := range ratios(&report{Store: tt.store, Runs: runs}) {
				got[q.Name] = ""
				if q.Goal != nil {
					got[q.Name] = map[bool]string{true: "met", false: "NOT met"}[q.Goal.Met]
				}
			}
			for name, want := range tt.want {
				if v, ok := got[name]; !ok || v != want {
					t.Errorf("%s: got %q (present %v), want %q", name, v, ok, want)
				}
			}
		})
	}
}
