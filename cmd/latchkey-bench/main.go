// Command latchkey-bench measures a running Latchkey server the way its
// users will judge it: closed-loop clients over loopback HTTP, each sending
// its next request as soon as the last one is answered. For every scenario
// and concurrency it reports requests per second, latency percentiles,
// errors by status and, given the server's PID, its peak resident memory
// and the CPU time it spent per request.
// In the same run it measures how many password hashes per second this
// machine computes with the configured algorithm, so that login and
// registration can be reported as a share of that limit.
//
// Every loop is bounded by a duration and a request cap, and the tool
// refuses to connect anywhere but a loopback address.
//
//	latchkey-bench -url http://127.0.0.1:8080 -scenario healthz,profile -c 8,64 -d 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/password"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "latchkey-bench:", err)
		os.Exit(1)
	}
}

// Limits that keep a mistyped flag from turning the tool into a flood or a
// memory hog.
const (
	maxConcurrency = 4096
	maxDuration    = time.Hour
	maxAccounts    = 10_000
)

// options are the parsed command line.
type options struct {
	target      string
	store       string
	scenarios   []string
	concurrency []int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int
	timeout     time.Duration
	accounts    int
	sessions    int
	mix         []weighted
	floodLogins int
	pid         int
	json        bool
	hash        password.Options
	hashTime    time.Duration
	password    string
}

// run parses args, measures and writes the report to stdout; progress goes
// to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	rep, err := measure(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		return rep.writeJSON(stdout)
	}
	return rep.writeText(stdout)
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("latchkey-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: latchkey-bench [flags]\n\n"+
			"Drives a running Latchkey server on loopback with closed-loop clients.\n"+
			"Scenarios: %s.\n\nFlags:\n", strings.Join(scenarioNames, ", "))
		fs.PrintDefaults()
	}

	var o options
	var scenarios, conc, mix string
	var hashAlg string
	var bcryptRounds int
	fs.StringVar(&o.target, "url", "http://127.0.0.1:8080", "base URL of the server (loopback only)")
	fs.StringVar(&o.store, "store", "",
		"the server's store engine, sqlite or postgres, for the goals tied to one")
	fs.StringVar(&scenarios, "scenario", strings.Join(defaultScenarios, ","),
		"comma-separated scenarios to run, in order")
	fs.StringVar(&conc, "c", "8,64", "comma-separated client counts; each scenario runs at each")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration of each run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	fs.IntVar(&o.maxRequests, "max-requests", 2_000_000,
		"stop a run after this many requests even before its duration")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of each request")
	fs.IntVar(&o.accounts, "accounts", 16, "accounts registered beforehand for logins")
	fs.IntVar(&o.sessions, "sessions", 0,
		"sessions prepared beforehand for profile and refresh; 0 means the largest -c")
	fs.StringVar(&mix, "mix", "profile=90,refresh=9,login=1",
		"operation weights of the mixed scenario")
	fs.IntVar(&o.floodLogins, "flood-logins", 64,
		"clients that log in without pause beside the flood scenario's profile readers")
	fs.IntVar(&o.pid, "pid", 0,
		"server process ID, to report its peak resident memory and CPU time per request")
	fs.BoolVar(&o.json, "json", false, "write the report as JSON")
	fs.StringVar(&hashAlg, "hash", "",
		"password hash the server uses: argon2id or bcrypt (default: $PASSWORD_HASH, else argon2id)")
	fs.IntVar(&bcryptRounds, "bcrypt-rounds", 0,
		"bcrypt cost the server uses (default: $BCRYPT_ROUNDS, else 12)")
	fs.DurationVar(&o.hashTime, "hash-time", 2*time.Second,
		"how long to measure the raw hash rate; 0 skips it")
	fs.StringVar(&o.password, "password", "Bench-Passw0rd!",
		"password of the accounts the tool creates; must pass the server's policy")

	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	var err error
	if o.scenarios, err = parseScenarios(scenarios); err != nil {
		return options{}, err
	}
	if o.concurrency, err = parseConcurrency(conc); err != nil {
		return options{}, err
	}
	if o.mix, err = parseMix(mix); err != nil {
		return options{}, err
	}
	if o.hash, err = hashOptions(hashAlg, bcryptRounds, os.LookupEnv); err != nil {
		return options{}, err
	}
	if _, err := loopbackURL(o.target); err != nil {
		return options{}, err
	}
	switch {
	case o.store != "" && o.store != "sqlite" && o.store != "postgres":
		return options{}, fmt.Errorf("-store %q: want sqlite or postgres", o.store)
	case o.duration <= 0 || o.duration > maxDuration:
		return options{}, fmt.Errorf("-d %s: want more than 0 and at most %s", o.duration, maxDuration)
	case o.warmup < 0 || o.warmup > maxDuration:
		return options{}, fmt.Errorf("-warmup %s: want 0 to %s", o.warmup, maxDuration)
	case o.hashTime < 0 || o.hashTime > time.Minute:
		return options{}, fmt.Errorf("-hash-time %s: want 0 to 1m", o.hashTime)
	case o.maxRequests < 1:
		return options{}, fmt.Errorf("-max-requests %d: want at least 1", o.maxRequests)
	case o.timeout <= 0:
		return options{}, fmt.Errorf("-timeout %s: want more than 0", o.timeout)
	case o.accounts < 1 || o.accounts > maxAccounts:
		return options{}, fmt.Errorf("-accounts %d: want 1 to %d", o.accounts, maxAccounts)
	case o.sessions < 0 || o.sessions > maxAccounts:
		return options{}, fmt.Errorf("-sessions %d: want 0 to %d", o.sessions, maxAccounts)
	case o.floodLogins < 1 || o.floodLogins > maxConcurrency:
		return options{}, fmt.Errorf("-flood-logins %d: want 1 to %d", o.floodLogins, maxConcurrency)
	case o.pid < 0:
		return options{}, fmt.Errorf("-pid %d: want a process ID", o.pid)
	}
	if o.sessions == 0 {
		o.sessions = maxOf(o.concurrency)
	}
	return o, nil
}

func parseScenarios(s string) ([]string, error) {
	var list []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if _, ok := scenarios[name]; !ok {
			return nil, fmt.Errorf("-scenario: unknown scenario %q (want one of %s)",
				name, strings.Join(scenarioNames, ", "))
		}
		list = append(list, name)
	}
	if len(list) == 0 {
		return nil, errors.New("-scenario: no scenario given")
	}
	return list, nil
}

func parseConcurrency(s string) ([]int, error) {
	var list []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxConcurrency {
			return nil, fmt.Errorf("-c: %q is not a client count from 1 to %d", f, maxConcurrency)
		}
		list = append(list, n)
	}
	return list, nil
}

// parseMix reads "op=weight,…" for the mixed scenario.
func parseMix(s string) ([]weighted, error) {
	var mix []weighted
	for _, f := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(f), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("-mix: %q is not op=weight", f)
		}
		op, ok := mixable[name]
		if !ok {
			return nil, fmt.Errorf("-mix: %q is not one of profile, refresh, login, healthz", name)
		}
		if n > 0 {
			mix = append(mix, weighted{op: op, weight: n})
		}
	}
	if len(mix) == 0 {
		return nil, errors.New("-mix: every weight is zero")
	}
	return mix, nil
}

// hashOptions resolves the password hash the server is assumed to use:
// the flags, else the server's own variables read with the server's own
// rules and defaults.
func hashOptions(alg string, rounds int, lookup func(string) (string, bool)) (password.Options, error) {
	cfg, err := config.Load(func(name string) (string, bool) {
		if name == "PASSWORD_HASH" || name == "BCRYPT_ROUNDS" {
			return lookup(name)
		}
		return "", false
	})
	if err != nil {
		return password.Options{}, err
	}
	o := password.Options{Algorithm: cfg.PasswordHash, BcryptCost: cfg.BcryptRounds}
	if alg != "" {
		o.Algorithm = alg
	}
	if rounds != 0 {
		o.BcryptCost = rounds
	}
	// Validates the algorithm and cost the way the server does.
	if _, err := password.NewHasher(o); err != nil {
		return password.Options{}, fmt.Errorf("-hash/-bcrypt-rounds: %w", err)
	}
	return o, nil
}

func maxOf(list []int) int {
	m := 0
	for _, n := range list {
		m = max(m, n)
	}
	return m
}
