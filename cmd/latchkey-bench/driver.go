package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome labels besides HTTP status codes.
const (
	labelTransport   = "transport"    // no HTTP answer: refused, reset, timed out
	labelBadResponse = "bad_response" // the expected status with an unusable body
	labelNoToken     = "no_token"     // the refresh pool ran dry
	labelSkipped     = ""             // the run ended before the request was sent
)

// poolWait is how long a client waits for an unused refresh token before
// counting the pool as dry.
const poolWait = time.Second

// driver sends the API's requests and holds what they need: accounts to
// log in to, access tokens of prepared sessions, and the pool of unused
// refresh tokens.
type driver struct {
	base     string
	client   *http.Client
	password string
	runID    string

	logins  [][]byte // login bodies, one per account
	access  []string // access tokens of the prepared sessions
	refresh chan string
	// accessTTL is the lifetime of the prepared access tokens.
	accessTTL time.Duration

	loginSeq    atomic.Uint64
	registerSeq atomic.Uint64
}

func newDriver(base string, client *http.Client, password string) *driver {
	var id [4]byte
	_, _ = rand.Read(id[:])
	return &driver{
		base:     strings.TrimSuffix(base, "/"),
		client:   client,
		password: password,
		runID:    hex.EncodeToString(id[:]),
	}
}

// grant is the part of a login, registration or refresh answer the tool
// keeps.
type grant struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int64  `json:"expiresIn"`
}

// send performs one request of kind o for client w and returns its outcome
// label: the empty string when the run ended first, "ok" on success, or
// what went wrong. stop closes when the run's time is up.
func (d *driver) send(ctx context.Context, o op, w int, stop <-chan struct{}) string {
	switch o {
	case opHealthz:
		return d.call(ctx, http.MethodGet, "/healthz", "", nil, http.StatusOK, nil)
	case opProfile:
		tok := d.access[w%len(d.access)]
		return d.call(ctx, http.MethodGet, "/api/auth/profile", tok, nil, http.StatusOK, nil)
	case opRefresh:
		return d.rotate(ctx, stop)
	case opLogin:
		body := d.logins[d.loginSeq.Add(1)%uint64(len(d.logins))]
		return d.call(ctx, http.MethodPost, "/api/auth/login", "", body, http.StatusOK, nil)
	case opRegister:
		n := d.registerSeq.Add(1)
		body := d.credentials(fmt.Sprintf("bench-%s-r%d@example.com", d.runID, n))
		return d.call(ctx, http.MethodPost, "/api/auth/register", "", body,
			http.StatusCreated, nil)
	}
	panic("unknown operation")
}

// rotate presents an unused refresh token from the pool and puts its
// successor back. A token whose request failed is dropped: presenting it
// again could be taken for reuse.
func (d *driver) rotate(ctx context.Context, stop <-chan struct{}) string {
	var tok string
	// The pool holds a token for every client, and a client puts back the
	// successor of each token it takes; it runs dry only when refreshes
	// failed and their tokens were lost, which is then counted, not waited
	// out.
	dry := time.NewTimer(poolWait)
	defer dry.Stop()
	select {
	case tok = <-d.refresh:
	case <-dry.C:
		return labelNoToken
	case <-stop:
		return labelSkipped
	case <-ctx.Done():
		return labelSkipped
	}
	body, err := json.Marshal(map[string]string{"refreshToken": tok})
	if err != nil {
		return labelBadResponse
	}
	var g grant
	label := d.call(ctx, http.MethodPost, "/api/auth/refresh", "", body, http.StatusOK, &g)
	if label == "ok" && g.RefreshToken == "" {
		label = labelBadResponse
	}
	if label == "ok" {
		d.refresh <- g.RefreshToken
	}
	return label
}

// call sends one request and reads the whole answer, so the connection is
// reused. out, when not nil, receives the decoded JSON body.
func (d *driver) call(ctx context.Context, method, path, bearer string, body []byte, want int,
	out any) string {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return labelTransport
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Auth-Token-Transport", "body")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("User-Agent", "latchkey-bench")

	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return labelSkipped
		}
		return labelTransport
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		_, _ = io.Copy(io.Discard, resp.Body)
		return strconv.Itoa(resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return labelBadResponse
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return labelTransport
	}
	return "ok"
}

func (d *driver) credentials(email string) []byte {
	b, err := json.Marshal(map[string]string{"email": email, "password": d.password})
	if err != nil {
		panic(err) // strings always marshal
	}
	return b
}

// setupParallel bounds the requests in flight while preparing: each costs
// the server a password hash, and the server turns away hashes that wait
// too long for a slot.
const setupParallel = 4

// prepare registers accounts and opens sessions for the runs ahead: the
// first sessions come with the registrations, the rest from logins spread
// over the accounts.
func (d *driver) prepare(ctx context.Context, accounts, sessions int) error {
	d.logins = make([][]byte, accounts)
	for i := range accounts {
		d.logins[i] = d.credentials(fmt.Sprintf("bench-%s-a%d@example.com", d.runID, i))
	}
	grants := make([]grant, max(accounts, sessions))
	errs := make([]error, len(grants))

	work := func(from, to int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		next.Store(int64(from))
		for range setupParallel {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= to {
						return
					}
					if i < accounts {
						grants[i], errs[i] = d.setupCall(ctx, "/api/auth/register",
							d.logins[i], http.StatusCreated)
					} else {
						grants[i], errs[i] = d.setupCall(ctx, "/api/auth/login",
							d.logins[i%accounts], http.StatusOK)
					}
				}
			})
		}
		wg.Wait()
	}
	// Accounts exist before any login is tried against them.
	work(0, accounts)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	work(accounts, len(grants))
	if err := errors.Join(errs...); err != nil {
		return err
	}

	d.access = make([]string, 0, sessions)
	d.refresh = make(chan string, sessions)
	for _, g := range grants[:sessions] {
		if g.AccessToken == "" || g.RefreshToken == "" {
			return errors.New("setup: an answer lacks its tokens; is Auth-Token-Transport honoured?")
		}
		d.access = append(d.access, g.AccessToken)
		d.refresh <- g.RefreshToken
	}
	d.accessTTL = time.Duration(grants[0].ExpiresIn) * time.Second
	return nil
}

// setupCall sends one preparing request, retrying while the server says it
// is busy hashing; any other failure ends the setup.
func (d *driver) setupCall(ctx context.Context, path string, body []byte, want int) (grant, error) {
	const attempts = 5
	var label string
	for range attempts {
		var g grant
		label = d.call(ctx, http.MethodPost, path, "", body, want, &g)
		if label == "ok" {
			return g, nil
		}
		if label == labelSkipped {
			return grant{}, ctx.Err()
		}
		if label != "429" && label != "503" {
			break
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return grant{}, ctx.Err()
		}
	}
	hint := ""
	if label == "429" {
		hint = " (rate limited: start the server with RATE_LIMIT_MAX raised, " +
			"see docs/performance.md)"
	}
	return grant{}, fmt.Errorf("setup: POST %s answered %s%s", path, label, hint)
}
