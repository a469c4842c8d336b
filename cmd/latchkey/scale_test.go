package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// reply is one HTTP answer of a server process.
type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r reply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// caller speaks to a deployment as one client: every request carries its
// address in X-Forwarded-For, as a load balancer in TRUSTED_PROXIES would
// add it.
type caller struct {
	t    *testing.T
	ip   string
	http *http.Client
}

// newCaller returns a client with an address no other caller or test run
// uses, so that budgets kept in the shared Redis never mix.
func newCaller(t *testing.T) *caller {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<24))
	if err != nil {
		t.Fatal(err)
	}
	v := n.Int64()
	ip := fmt.Sprintf("10.%d.%d.%d", v>>16, v>>8&0xff, v&0xff)
	return &caller{t: t, ip: ip, http: &http.Client{Timeout: 20 * time.Second}}
}

func (c *caller) send(s *server, method, path, token string, body any) reply {
	c.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, s.url+path, &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("Auth-Token-Transport", "body")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := reply{status: res.StatusCode, header: res.Header}
	json.NewDecoder(res.Body).Decode(&out.body)
	return out
}

func (c *caller) login(s *server, email, password string) reply {
	c.t.Helper()
	return c.send(s, "POST", "/api/auth/login", "",
		map[string]string{"email": email, "password": password})
}

func wantReply(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("code") != code {
		t.Fatalf("%s: %d %q %v; want %d %q", what, r.status, r.str("code"), r.body, status, code)
	}
}

// refusedEverywhereWithinASecond polls the servers with tok until each
// refuses it, failing the test when one still accepts it after a second.
func refusedEverywhereWithinASecond(t *testing.T, c *caller, servers []*server, tok string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for i, s := range servers {
		for {
			r := c.send(s, "GET", "/api/auth/profile", tok, nil)
			if r.status == http.StatusUnauthorized {
				break
			}
			if r.status != http.StatusOK {
				t.Fatalf("instance %d: profile answered %d %v", i, r.status, r.body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still accepts the token a second after revocation", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

const testPassword = "Correct-horse9!"

// startDeployment starts n server processes sharing one fresh PostgreSQL
// schema and one Redis, as behind a load balancer on 127.0.0.1.
func startDeployment(t *testing.T, n int, redisURL string, extra ...string) []*server {
	t.Helper()
	dir := t.TempDir()
	env := append([]string{
		"DATABASE_URL=" + storetest.PostgresSchemaURL(t),
		"REDIS_URL=" + redisURL,
		"JWT_ACCESS_SECRET=scale-test-access-secret-0123456789abcdef",
		"JWT_REFRESH_SECRET=scale-test-refresh-secret-0123456789abcdef",
		"MFA_ENCRYPTION_KEY=" + strings.Repeat("ab", 32),
		"PASSWORD_HASH=bcrypt",
		"BCRYPT_ROUNDS=4",
		"TRUSTED_PROXIES=127.0.0.1/32",
		"REFRESH_REUSE_GRACE=500ms",
		"DATA_DIR=" + dir,
	}, extra...)
	servers := make([]*server, n)
	for i := range servers {
		servers[i] = startServer(t, dir, env...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, s := range servers {
				t.Logf("instance %d log:\n%s", i, s.logs)
			}
		}
	})
	return servers
}

func TestThreeInstancesHoldEverySecurityLimitTogether(t *testing.T) {
	t.Parallel()
	servers := startDeployment(t, 3, redistest.URL(t))
	a, b, c := servers[0], servers[1], servers[2]
	run := strings.ToLower(rand.Text())
	email := func(name string) string { return name + "-" + run + "@example.com" }

	newCaller(t).send(a, "POST", "/api/auth/register", "",
		map[string]string{"email": email("locked"), "password": testPassword})
	newCaller(t).send(a, "POST", "/api/auth/register", "",
		map[string]string{"email": email("user"), "password": testPassword})

	t.Run("five failures spread over the instances lock the account", func(t *testing.T) {
		for i := range 5 {
			// A new address each time: the lockout counts per account,
			// not per client.
			r := newCaller(t).login(servers[i%3], email("locked"), "Wrong-password1!")
			if i < 4 {
				wantReply(t, fmt.Sprintf("failure %d", i+1), r, 401, "invalid_credentials")
			} else {
				wantReply(t, "failure 5", r, 429, "account_locked")
			}
		}
		r := newCaller(t).login(c, email("locked"), testPassword)
		wantReply(t, "the right password on another instance", r, 429, "account_locked")
		if r.header.Get("Retry-After") == "" {
			t.Error("account_locked without Retry-After")
		}
	})

	t.Run("the login rate limit counts failures on every instance", func(t *testing.T) {
		cl := newCaller(t)
		if r := cl.login(b, email("user"), testPassword); r.status != http.StatusOK {
			t.Fatalf("successful login: %d %v", r.status, r.body)
		}
		for i := range 5 {
			// Unknown accounts, so that no lockout interferes.
			r := cl.login(servers[i%3], email(fmt.Sprintf("nobody%d", i)), "Wrong-password1!")
			wantReply(t, fmt.Sprintf("failure %d", i+1), r, 401, "invalid_credentials")
			if got, want := r.header.Get("RateLimit-Remaining"), fmt.Sprint(4-i); got != want {
				t.Errorf("failure %d: RateLimit-Remaining %q; want %q", i+1, got, want)
			}
		}
		r := cl.login(c, email("user"), testPassword)
		wantReply(t, "sixth attempt", r, 429, "rate_limited")
		if r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Limit") != "5" {
			t.Errorf("429 headers: Retry-After %q, RateLimit-Limit %q",
				r.header.Get("Retry-After"), r.header.Get("RateLimit-Limit"))
		}
		if r := newCaller(t).login(a, email("user"), testPassword); r.status != http.StatusOK {
			t.Errorf("another client's login: %d %v; want 200", r.status, r.body)
		}
	})

	t.Run("a refresh token replayed on another instance kills its family", func(t *testing.T) {
		cl := newCaller(t)
		first := cl.login(a, email("user"), testPassword)
		if first.status != http.StatusOK || first.str("refreshToken") == "" {
			t.Fatalf("login: %d %v", first.status, first.body)
		}
		rotated := cl.send(b, "POST", "/api/auth/refresh", "",
			map[string]string{"refreshToken": first.str("refreshToken")})
		if rotated.status != http.StatusOK || rotated.str("refreshToken") == "" {
			t.Fatalf("refresh on a second instance: %d %v", rotated.status, rotated.body)
		}
		for _, s := range servers {
			cl.send(s, "GET", "/api/auth/profile", rotated.str("accessToken"), nil)
		}

		time.Sleep(700 * time.Millisecond) // past REFRESH_REUSE_GRACE
		r := cl.send(c, "POST", "/api/auth/refresh", "",
			map[string]string{"refreshToken": first.str("refreshToken")})
		wantReply(t, "replay of the rotated token", r, 401, "invalid_token")
		r = cl.send(a, "POST", "/api/auth/refresh", "",
			map[string]string{"refreshToken": rotated.str("refreshToken")})
		wantReply(t, "the family's newest token", r, 401, "invalid_token")
		refusedEverywhereWithinASecond(t, cl, servers, rotated.str("accessToken"))
	})

	t.Run("logout on one instance ends the token on the others at once", func(t *testing.T) {
		// Each instance caches sessions, so only the feed can make this
		// hold: a cached session would otherwise live for seconds.
		for i, s := range servers {
			if !strings.Contains(s.logs.String(), "sessions are cached") {
				t.Fatalf("instance %d does not cache sessions:\n%s", i, s.logs)
			}
		}
		cl := newCaller(t)
		g := cl.login(a, email("user"), testPassword)
		tok := g.str("accessToken")
		for range 2 {
			for i, s := range servers {
				r := cl.send(s, "GET", "/api/auth/profile", tok, nil)
				if r.status != http.StatusOK {
					t.Fatalf("instance %d before logout: %d %v", i, r.status, r.body)
				}
			}
		}
		if r := cl.send(a, "POST", "/api/auth/logout", tok, nil); r.status != http.StatusOK {
			t.Fatalf("logout: %d %v", r.status, r.body)
		}
		refusedEverywhereWithinASecond(t, cl, []*server{b, c, a}, tok)
	})
}

func TestInstancesSurviveARedisOutage(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	servers := startDeployment(t, 2, rs.URL())
	a, b := servers[0], servers[1]
	cl := newCaller(t)
	cl.send(a, "POST", "/api/auth/register", "",
		map[string]string{"email": "outage@example.com", "password": testPassword})
	tok := cl.login(a, "outage@example.com", testPassword).str("accessToken")
	spare := cl.login(b, "outage@example.com", testPassword).str("accessToken")

	rs.Stop()

	wantReply(t, "login with Redis down", cl.login(b, "outage@example.com", testPassword),
		503, "rate_limiter_unavailable")
	if r := cl.send(b, "GET", "/api/auth/profile", tok, nil); r.status != http.StatusOK {
		t.Errorf("profile with Redis down: %d %v; want 200", r.status, r.body)
	}
	r := cl.send(a, "GET", "/readyz", "", nil)
	checks, _ := r.body["checks"].(map[string]any)
	if r.status != http.StatusOK || checks["redis"] != "unavailable" {
		t.Errorf("/readyz with Redis down: %d %v; want 200, redis unavailable", r.status, r.body)
	}
	if r := cl.send(a, "POST", "/api/auth/logout", spare, nil); r.status != http.StatusOK {
		t.Fatalf("logout with Redis down: %d %v", r.status, r.body)
	}
	refusedEverywhereWithinASecond(t, cl, servers, spare)
	for i, s := range servers {
		if !strings.Contains(s.logs.String(), "redis unavailable") {
			t.Errorf("instance %d did not log the outage", i)
		}
	}

	rs.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := cl.login(b, "outage@example.com", testPassword)
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login 15s after Redis returned: %d %v", r.status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := cl.send(a, "GET", "/readyz", "", nil); r.str("status") != "ok" {
		t.Errorf("/readyz after recovery: %d %v; want ok", r.status, r.body)
	}
}
