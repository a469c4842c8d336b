package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// testAgent is the User-Agent the audit tests send, to find it recorded.
const testAgent = "latchkey-audit-test/1.0"

// createUser stores an account with the strong password and role, without
// signing it in, and returns its id.
func (e *env) createUser(email, role string) string {
	e.t.Helper()
	u, err := e.svc.CreateUser(e.t.Context(), auth.RegisterInput{
		Email: email, Password: strongPassword,
	}, role)
	if err != nil {
		e.t.Fatalf("create %s: %v", email, err)
	}
	return u.ID
}

// signedIn returns a browser logged in as email.
func (e *env) signedIn(email string) *browser {
	e.t.Helper()
	b := e.browser()
	if r := b.login(email, strongPassword); r.Status != http.StatusOK {
		e.t.Fatalf("login %s = %d %s", email, r.Status, r.Raw)
	}
	return b
}

// newAdmin creates an admin and returns a browser signed in as them.
func (e *env) newAdmin(email string) (*browser, string) {
	e.t.Helper()
	id := e.createUser(email, store.RoleAdmin)
	return e.signedIn(email), id
}

// list returns the array under key of a response.
func (r response) list(key string) []map[string]any {
	raw, _ := r.Body[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, v := range raw {
		m, _ := v.(map[string]any)
		out = append(out, m)
	}
	return out
}

func TestAdminRoutesAreForAdminsOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		user := e.browser()
		id := user.register("plain@example.com").obj("user")["id"].(string)
		anonymous := e.browser()

		routes := []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/admin/users", nil},
			{"GET", "/api/admin/users/" + id, nil},
			{"PATCH", "/api/admin/users/" + id, map[string]any{"role": "ADMIN"}},
			{"DELETE", "/api/admin/users/" + id + "/sessions", nil},
			{"GET", "/api/admin/audit", nil},
		}
		for _, rt := range routes {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				wantError(t, user.do(rt.method, rt.path, rt.body), http.StatusForbidden,
					"insufficient_role")
				r := anonymous.do(rt.method, rt.path, rt.body)
				wantError(t, r, http.StatusUnauthorized, "invalid_token")
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without a WWW-Authenticate challenge")
				}
			})
		}
		got, err := st.UserByID(t.Context(), id)
		if err != nil || got.Role != store.RoleUser {
			t.Errorf("user after refused calls: role %q, %v; want USER", got.Role, err)
		}
	})
}

func TestAdminSearchesAndPagesUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, adminID := e.newAdmin("root@example.com")
		ids := []string{adminID}
		for i := range 6 {
			ids = append(ids, e.createUser(fmt.Sprintf("member%d@corp.example", i), store.RoleUser))
		}
		slices.Sort(ids)

		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > len(ids) {
				t.Fatal("paging does not end")
			}
			r := admin.do("GET", "/api/admin/users?limit=3&cursor="+url.QueryEscape(cursor), nil)
			if r.Status != http.StatusOK {
				t.Fatalf("page %d = %d %s", pages, r.Status, r.Raw)
			}
			users := r.list("users")
			if len(users) > 3 {
				t.Fatalf("page %d has %d users; want at most 3", pages, len(users))
			}
			for _, u := range users {
				if _, ok := u["passwordHash"]; ok {
					t.Fatalf("user object carries a hash: %v", u)
				}
				got = append(got, u["id"].(string))
			}
			next, ok := r.Body["nextCursor"].(string)
			if !ok {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, ids) {
			t.Errorf("paged ids = %v; want every user once, by id: %v", got, ids)
		}

		searches := []struct {
			name, q string
			want    int
		}{
			{"part of an email in another case", "CORP.EXAMPLE", 6},
			{"one email", "member3@", 1},
			{"an exact id", ids[2], 1},
			{"nothing", "nobody-here", 0},
		}
		for _, tc := range searches {
			t.Run("search for "+tc.name, func(t *testing.T) {
				r := admin.do("GET", "/api/admin/users?q="+url.QueryEscape(tc.q), nil)
				if r.Status != http.StatusOK || len(r.list("users")) != tc.want {
					t.Errorf("search %q = %d %s; want %d users", tc.q, r.Status, r.Raw, tc.want)
				}
				if _, ok := r.Body["nextCursor"]; ok {
					t.Errorf("a single page carries a nextCursor: %s", r.Raw)
				}
			})
		}

		one := admin.do("GET", "/api/admin/users/"+ids[3], nil)
		if one.Status != http.StatusOK || one.obj("user")["id"] != ids[3] {
			t.Errorf("GET user = %d %s; want user %s", one.Status, one.Raw, ids[3])
		}

		bad := []struct{ name, path string }{
			{"a cursor the server did not issue", "/api/admin/users?cursor=bm9wZQ"},
			{"a limit of zero", "/api/admin/users?limit=0"},
			{"a limit that is not a number", "/api/admin/users?limit=ten"},
		}
		for _, tc := range bad {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				wantError(t, admin.do("GET", tc.path, nil), http.StatusBadRequest,
					"invalid_request")
			})
		}
		wantError(t, admin.do("GET", "/api/admin/users/0190ffff-0000-7000-8000-000000000000", nil),
			http.StatusNotFound, "not_found")
	})
}

func TestAdminChangesRoleAndDeactivationEndsAccessAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, adminID := e.newAdmin("root@example.com")
		user := e.browser()
		id := user.register("worker@example.com").obj("user")["id"].(string)
		refreshToken := user.refreshCookie()
		other := e.signedIn("worker@example.com")
		path := "/api/admin/users/" + id

		r := admin.do("PATCH", path, map[string]any{"role": "ADMIN"})
		if r.Status != http.StatusOK || r.obj("user")["role"] != "ADMIN" {
			t.Fatalf("promote = %d %s", r.Status, r.Raw)
		}
		if r := user.do("GET", "/api/auth/admin", nil); r.Status != http.StatusOK {
			t.Errorf("promoted user on the admin route = %d; want 200 with the same token",
				r.Status)
		}
		r = admin.do("PATCH", path, map[string]any{"role": "USER"})
		if r.Status != http.StatusOK || r.obj("user")["role"] != "USER" {
			t.Fatalf("demote = %d %s", r.Status, r.Raw)
		}
		wantError(t, user.do("GET", "/api/auth/admin", nil), http.StatusForbidden,
			"insufficient_role")

		r = admin.do("PATCH", path, map[string]any{"active": false})
		if r.Status != http.StatusOK || r.obj("user")["active"] != false {
			t.Fatalf("deactivate = %d %s", r.Status, r.Raw)
		}
		for _, b := range []*browser{user, other} {
			wantError(t, b.do("GET", "/api/auth/profile", nil), http.StatusUnauthorized,
				"invalid_token")
		}
		stale := e.browser().do("POST", "/api/auth/refresh",
			map[string]string{"refreshToken": refreshToken})
		wantError(t, stale, http.StatusUnauthorized, "invalid_token")
		if live := countLiveSessions(t, e, id); live != 0 {
			t.Errorf("%d live sessions after deactivation; want 0", live)
		}
		wantError(t, e.browser().login("worker@example.com", strongPassword), http.StatusForbidden,
			"account_disabled")

		r = admin.do("PATCH", path, map[string]any{"active": true})
		if r.Status != http.StatusOK || r.obj("user")["active"] != true {
			t.Fatalf("reactivate = %d %s", r.Status, r.Raw)
		}
		e.signedIn("worker@example.com")

		events := auditOf(t, admin, "userId="+id+"&type=user.active_changed")
		if len(events) != 2 || events[1]["actorId"] != adminID ||
			events[1].detail()["sessions_revoked"] != "2" || events[0].detail()["to"] != "true" {
			t.Errorf("active change events = %v; want deactivation by %s ending 2 sessions, "+
				"then reactivation", events, adminID)
		}

		bad := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"an unknown role", map[string]any{"role": "ROOT"}, 400, "invalid_request"},
			{"a body with neither field", map[string]any{}, 400, "invalid_request"},
			{"a flag that is not a boolean", `{"active":"no"}`, 400, "invalid_request"},
		}
		for _, tc := range bad {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				wantError(t, admin.do("PATCH", path, tc.body), tc.status, tc.code)
			})
		}
		wantError(t, admin.do("PATCH", "/api/admin/users/0190ffff-0000-7000-8000-000000000000",
			map[string]any{"active": false}), http.StatusNotFound, "not_found")
	})
}

// countLiveSessions counts the user's sessions that are neither revoked nor
// expired.
func countLiveSessions(t *testing.T, e *env, userID string) int {
	t.Helper()
	list, err := e.store.ListSessions(t.Context(), userID, e.clock.Now())
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	return len(list)
}

func TestTheLastActiveAdminStays(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		root, rootID := e.newAdmin("root@example.com")
		self := "/api/admin/users/" + rootID

		wantError(t, root.do("PATCH", self, map[string]any{"role": "USER"}), http.StatusConflict,
			"last_admin")
		wantError(t, root.do("PATCH", self, map[string]any{"active": false}), http.StatusConflict,
			"last_admin")

		deputyID := e.createUser("deputy@example.com", store.RoleAdmin)
		// An inactive admin is no admin to fall back on.
		r := root.do("PATCH", "/api/admin/users/"+deputyID, map[string]any{"active": false})
		if r.Status != http.StatusOK {
			t.Fatalf("deactivate deputy = %d %s", r.Status, r.Raw)
		}
		wantError(t, root.do("PATCH", self, map[string]any{"role": "USER"}), http.StatusConflict,
			"last_admin")

		r = root.do("PATCH", "/api/admin/users/"+deputyID, map[string]any{"active": true})
		if r.Status != http.StatusOK {
			t.Fatalf("reactivate deputy = %d %s", r.Status, r.Raw)
		}
		deputy := e.signedIn("deputy@example.com")
		if r := root.do("PATCH", self, map[string]any{"role": "USER"}); r.Status != http.StatusOK {
			t.Fatalf("demote self with another admin active = %d %s", r.Status, r.Raw)
		}
		wantError(t, root.do("GET", "/api/admin/users", nil), http.StatusForbidden,
			"insufficient_role")
		wantError(t, deputy.do("PATCH", "/api/admin/users/"+deputyID,
			map[string]any{"active": false}), http.StatusConflict, "last_admin")

		u, err := st.UserByID(t.Context(), deputyID)
		if err != nil || u.Role != store.RoleAdmin || !u.Active {
			t.Errorf("deputy = %+v, %v; want the remaining active admin", u, err)
		}
	})
}

func TestAdminEndsEverySessionOfAUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, adminID := e.newAdmin("root@example.com")
		first := e.browser()
		id := first.register("target@example.com").obj("user")["id"].(string)
		second := e.signedIn("target@example.com")

		r := admin.do("DELETE", "/api/admin/users/"+id+"/sessions", nil)
		if r.Status != http.StatusNoContent {
			t.Fatalf("revoke sessions = %d %s", r.Status, r.Raw)
		}
		for _, b := range []*browser{first, second} {
			wantError(t, b.do("GET", "/api/auth/profile", nil), http.StatusUnauthorized,
				"invalid_token")
		}
		wantError(t, first.do("POST", "/api/auth/refresh", nil), http.StatusUnauthorized,
			"invalid_token")
		if r := admin.do("GET", "/api/auth/profile", nil); r.Status != http.StatusOK {
			t.Errorf("the admin's own session = %d; want it untouched", r.Status)
		}
		e.signedIn("target@example.com")

		events := auditOf(t, admin, "userId="+id+"&type=session.revoked")
		if len(events) != 1 || events[0]["actorId"] != adminID ||
			events[0].detail()["count"] != "2" {
			t.Errorf("revocation events = %v; want one by %s counting 2 sessions", events, adminID)
		}
		ghost := "/api/admin/users/0190ffff-0000-7000-8000-000000000000/sessions"
		wantError(t, admin.do("DELETE", ghost, nil), http.StatusNotFound, "not_found")
	})
}

// event is one audit event as the API returns it.
type event map[string]any

func (ev event) detail() map[string]any {
	d, _ := ev["detail"].(map[string]any)
	return d
}

// auditOf returns every event of the audit trail matching query (without
// limit or cursor), newest first, following the cursors.
func auditOf(t *testing.T, admin *browser, query string) []event {
	t.Helper()
	var events []event
	cursor := ""
	for range 100 {
		r := admin.do("GET", "/api/admin/audit?limit=100&"+query+"&cursor="+
			url.QueryEscape(cursor), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("audit %s = %d %s", query, r.Status, r.Raw)
		}
		for _, m := range r.list("events") {
			events = append(events, event(m))
		}
		next, ok := r.Body["nextCursor"].(string)
		if !ok {
			return events
		}
		cursor = next
	}
	t.Fatal("audit paging does not end")
	return nil
}

func TestAuditTrailRecordsEverySecurityEvent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		// A low lockout threshold keeps this test's failed logins under any
		// per-client login limit.
		e := newEnv(t, st, func(c *envConfig) { c.auth.MaxLoginAttempts = 2 })
		admin, adminID := e.newAdmin("root@example.com")
		ua := []string{"User-Agent", testAgent}

		alice := e.browser()
		reg := alice.do("POST", "/api/auth/register",
			map[string]string{"email": "alice@example.com", "password": strongPassword}, ua...)
		aliceID := reg.obj("user")["id"].(string)

		wantError(t, e.browser().do("POST", "/api/auth/login", map[string]string{
			"email": "alice@example.com", "password": "Wrong-password1!"}, ua...),
			http.StatusUnauthorized, "invalid_credentials")
		wantError(t, e.browser().do("POST", "/api/auth/login", map[string]string{
			"email": "nobody@example.com", "password": "Wrong-password1!"}, ua...),
			http.StatusUnauthorized, "invalid_credentials")
		second := e.browser()
		login := second.do("POST", "/api/auth/login",
			map[string]string{"email": "alice@example.com", "password": strongPassword}, ua...)
		secondSession := sessionOf(t, e, login.str("accessToken"))

		// Refresh, then replay the first token after the grace window.
		stolen := alice.refreshCookie()
		if r := alice.do("POST", "/api/auth/refresh", nil, ua...); r.Status != http.StatusOK {
			t.Fatalf("refresh = %d %s", r.Status, r.Raw)
		}
		e.clock.Advance(e.opts.ReuseGrace + time.Second)
		replay := e.browser().do("POST", "/api/auth/refresh",
			map[string]string{"refreshToken": stolen}, ua...)
		wantError(t, replay, http.StatusUnauthorized, "invalid_token")

		third := e.signedIn("alice@example.com")
		r := third.do("DELETE", "/api/auth/sessions/"+secondSession, nil, ua...)
		if r.Status != http.StatusNoContent {
			t.Fatalf("revoke session = %d %s", r.Status, r.Raw)
		}
		if r := third.do("POST", "/api/auth/logout", nil, ua...); r.Status != http.StatusOK {
			t.Fatalf("logout = %d %s", r.Status, r.Raw)
		}

		bobID := e.createUser("bob@example.com", store.RoleUser)
		for range e.opts.MaxLoginAttempts {
			e.browser().do("POST", "/api/auth/login", map[string]string{
				"email": "bob@example.com", "password": "Wrong-password1!"}, ua...)
		}

		path := "/api/admin/users/" + bobID
		admin.do("PATCH", path, map[string]any{"role": "ADMIN"}, ua...)
		admin.do("PATCH", path, map[string]any{"active": false}, ua...)

		tests := []struct {
			name    string
			typ     string
			user    any // the userId wanted: a string, or nil for none
			actor   any
			detail  map[string]any
			atLeast int
		}{
			{"registration", auth.EventRegistered, aliceID, nil, map[string]any{}, 1},
			{"a successful login", auth.EventLoginSucceeded, aliceID, nil,
				map[string]any{"session_id": secondSession}, 1},
			{"a wrong password", auth.EventLoginFailed, aliceID, nil,
				map[string]any{"reason": "invalid_credentials"}, 1},
			{"an unknown email", auth.EventLoginFailed, nil, nil,
				map[string]any{"reason": "invalid_credentials"}, 1},
			{"refresh token reuse", auth.EventReuseDetected, aliceID, nil, nil, 1},
			{"a revoked session", auth.EventSessionRevoked, aliceID, nil,
				map[string]any{"session_id": secondSession}, 1},
			{"a logout", auth.EventLogout, aliceID, nil, map[string]any{"all": "false"}, 1},
			{"a lockout", auth.EventLocked, bobID, nil, nil, 1},
			{"a role change", auth.EventRoleChanged, bobID, adminID,
				map[string]any{"from": "USER", "to": "ADMIN"}, 1},
			{"a deactivation", auth.EventActiveChanged, bobID, adminID,
				map[string]any{"from": "true", "to": "false", "sessions_revoked": "0"}, 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := "type=" + url.QueryEscape(tc.typ)
				if id, ok := tc.user.(string); ok {
					q += "&userId=" + id
				}
				var found []event
				for _, ev := range auditOf(t, admin, q) {
					if ev["userId"] == tc.user && ev["actorId"] == tc.actor &&
						ev["userAgent"] == testAgent && ev["ipAddress"] == "127.0.0.1" &&
						hasDetail(ev.detail(), tc.detail) {
						found = append(found, ev)
					}
				}
				if len(found) < tc.atLeast {
					t.Fatalf("no %s event for user %v by %v from %s with detail %v; trail: %v",
						tc.typ, tc.user, tc.actor, testAgent, tc.detail, auditOf(t, admin, q))
				}
				ev := found[0]
				if _, err := time.Parse(time.RFC3339, ev["createdAt"].(string)); err != nil {
					t.Errorf("createdAt %v is not RFC 3339", ev["createdAt"])
				}
				if ev["id"] == "" || ev["type"] != tc.typ {
					t.Errorf("event = %v; want an id and type %s", ev, tc.typ)
				}
			})
		}
	})
}

// hasDetail reports whether got holds every pair of want.
func hasDetail(got, want map[string]any) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return got != nil
}

func TestAuditTrailPagesNewestFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		for i := range 5 {
			e.clock.Advance(time.Second)
			e.browser().register(fmt.Sprintf("user%d@example.com", i))
		}

		var stamps []string
		cursor := ""
		pages := 0
		for {
			r := admin.do("GET", "/api/admin/audit?type=user.registered&limit=2&cursor="+
				url.QueryEscape(cursor), nil)
			if r.Status != http.StatusOK {
				t.Fatalf("audit page = %d %s", r.Status, r.Raw)
			}
			pages++
			for _, ev := range r.list("events") {
				stamps = append(stamps, ev["createdAt"].(string))
			}
			next, ok := r.Body["nextCursor"].(string)
			if !ok {
				break
			}
			cursor = next
		}
		if pages != 3 || len(stamps) != 5 {
			t.Fatalf("%d pages with %d events; want 3 pages with 5", pages, len(stamps))
		}
		if !slices.IsSortedFunc(stamps, func(a, b string) int { return -compareTimes(t, a, b) }) {
			t.Errorf("events are not newest first: %v", stamps)
		}
		if len(slices.Compact(slices.Clone(stamps))) != 5 {
			t.Errorf("a page repeats an event: %v", stamps)
		}
		wantError(t, admin.do("GET", "/api/admin/audit?cursor=not*base64", nil),
			http.StatusBadRequest, "invalid_request")
	})
}

func compareTimes(t *testing.T, a, b string) int {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad timestamps %q, %q", a, b)
	}
	return ta.Compare(tb)
}
