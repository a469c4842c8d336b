package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// storeUsers writes n users straight to the store, without hashing a
// password each, and returns their ids.
func (e *env) storeUsers(n int, email func(i int) string) []string {
	e.t.Helper()
	ids := make([]string, 0, n)
	now := e.clock.Now()
	for i := range n {
		u := store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email(i),
			PasswordHash: "x", Role: store.RoleUser, Active: true, CreatedAt: now, UpdatedAt: now}
		if err := e.store.CreateUser(e.t.Context(), u); err != nil {
			e.t.Fatalf("CreateUser %s: %v", u.Email, err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// nextCursor returns the nextCursor of a listing, failing when there is
// none.
func nextCursor(t *testing.T, r response) string {
	t.Helper()
	c, ok := r.Body["nextCursor"].(string)
	if r.Status != http.StatusOK || !ok || c == "" {
		t.Fatalf("listing = %d %s; want 200 with a nextCursor", r.Status, r.Raw)
	}
	return c
}

// retag replaces the position a cursor encodes and keeps the rest of it, as a
// client editing a cursor would.
func retag(t *testing.T, cursor, pos string) string {
	t.Helper()
	body, tag, ok := strings.Cut(cursor, ".")
	if !ok {
		body, tag = cursor, ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("cursor %q is not base64url: %v", cursor, err)
	}
	kind, _, _ := strings.Cut(string(raw), ":")
	edited := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
	if tag == "" {
		return edited
	}
	return edited + "." + tag
}

func TestAdminListingsRefuseBadLimitsAndCursors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		ids := e.storeUsers(4, func(i int) string { return fmt.Sprintf("u%d@example.com", i) })
		for i := range 3 {
			e.clock.Advance(time.Second)
			e.browser().login(fmt.Sprintf("ghost%d@example.com", i), "Wrong-password1!")
		}
		userCursor := nextCursor(t, admin.do("GET", "/api/admin/users?limit=2", nil))
		auditCursor := nextCursor(t, admin.do("GET", "/api/admin/audit?limit=1", nil))

		bad := []struct{ name, path string }{
			{"a negative user limit", "/api/admin/users?limit=-1"},
			{"a negative audit limit", "/api/admin/audit?limit=-5"},
			{"an audit limit of zero", "/api/admin/audit?limit=0"},
			{"a limit beyond any integer", "/api/admin/users?limit=99999999999999999999"},
			{"a fractional limit", "/api/admin/audit?limit=1.5"},
			{"an audit cursor on the user listing", "/api/admin/users?cursor=" + auditCursor},
			{"a user cursor on the audit listing", "/api/admin/audit?cursor=" + userCursor},
			{"a user cursor moved to another id",
				"/api/admin/users?cursor=" + retag(t, userCursor, ids[3])},
			{"a user cursor whose hash was cut off",
				"/api/admin/users?cursor=" + strings.Split(userCursor, ".")[0]},
			{"a user cursor built by hand", "/api/admin/users?cursor=" +
				base64.RawURLEncoding.EncodeToString([]byte("u:"+ids[0]))},
			{"an audit cursor moved in time", "/api/admin/audit?cursor=" +
				retag(t, auditCursor, "1:"+uuid.Must(uuid.NewV7()).String())},
			{"a cursor with a quote", "/api/admin/users?cursor=" +
				url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte("u:' OR 1=1 --")))},
			{"a cursor one character longer", "/api/admin/users?cursor=" + userCursor + "0"},
			{"a search longer than an email", "/api/admin/users?q=" + strings.Repeat("a", 300)},
			{"an event type that is too long", "/api/admin/audit?type=" + strings.Repeat("t", 65)},
			{"a user id filter that is too long",
				"/api/admin/audit?userId=" + strings.Repeat("1", 65)},
			{"a search with a NUL byte", "/api/admin/users?q=a%00b"},
			{"a search that is not UTF-8", "/api/admin/users?q=%ff%fe"},
			{"an event type with a NUL byte", "/api/admin/audit?type=login%00"},
			{"a user id filter with a NUL byte", "/api/admin/audit?userId=a%00"},
		}
		for _, tc := range bad {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				wantError(t, admin.do("GET", tc.path, nil), http.StatusBadRequest,
					"invalid_request")
			})
		}

		// The genuine cursors still work after all of that.
		if r := admin.do("GET", "/api/admin/users?limit=2&cursor="+userCursor, nil); r.Status !=
			http.StatusOK || len(r.list("users")) != 2 {
			t.Errorf("second user page = %d %s; want 2 users", r.Status, r.Raw)
		}
		if r := admin.do("GET", "/api/admin/audit?limit=1&cursor="+auditCursor, nil); r.Status !=
			http.StatusOK || len(r.list("events")) != 1 {
			t.Errorf("second audit page = %d %s; want 1 event", r.Status, r.Raw)
		}
	})
}

func TestAdminCapsAHugeLimitAndPagesTheRest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, adminID := e.newAdmin("root@example.com")
		ids := append(e.storeUsers(120, func(i int) string {
			return fmt.Sprintf("bulk%03d@example.com", i)
		}), adminID)
		slices.Sort(ids)

		first := admin.do("GET", "/api/admin/users?limit=100000", nil)
		if got := len(first.list("users")); first.Status != http.StatusOK || got != 100 {
			t.Fatalf("limit=100000 = %d with %d users; want 200 with the maximum of 100",
				first.Status, got)
		}
		second := admin.do("GET", "/api/admin/users?limit=100000&cursor="+
			url.QueryEscape(nextCursor(t, first)), nil)
		if _, more := second.Body["nextCursor"]; second.Status != http.StatusOK || more {
			t.Fatalf("second page = %d %s; want the last page", second.Status, second.Raw)
		}
		var got []string
		for _, u := range append(first.list("users"), second.list("users")...) {
			got = append(got, u["id"].(string))
		}
		if !slices.Equal(got, ids) {
			t.Errorf("two pages hold %d ids; want all %d users once, in id order", len(got),
				len(ids))
		}
	})
}

func TestAdminSearchMatchesWildcardsLiterally(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		emails := []string{"100%real@example.com", "under_score@example.com",
			"back\\slash@example.com", "plain@example.com", "underxscore@example.com"}
		e.storeUsers(len(emails), func(i int) string { return emails[i] })

		tests := []struct {
			q    string
			want []string
		}{
			{"%", []string{"100%real@example.com"}},
			{"%%", nil},
			{"0%r", []string{"100%real@example.com"}},
			{"_", []string{"under_score@example.com"}},
			{"r_s", []string{"under_score@example.com"}},
			{"\\", []string{"back\\slash@example.com"}},
			{"\\%", nil},
			{"%example%", nil},
			{"'", nil},
			// Folded as stored addresses are: case and compatibility forms.
			{"PLAIN", []string{"plain@example.com"}},
			{"ｐｌａｉｎ", []string{"plain@example.com"}},
		}
		for _, tc := range tests {
			t.Run("a search for "+tc.q+" matches it as text", func(t *testing.T) {
				r := admin.do("GET", "/api/admin/users?q="+url.QueryEscape(tc.q), nil)
				if r.Status != http.StatusOK {
					t.Fatalf("search %q = %d %s", tc.q, r.Status, r.Raw)
				}
				var got []string
				for _, u := range r.list("users") {
					got = append(got, u["email"].(string))
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("search %q found %v; want %v", tc.q, got, tc.want)
				}
			})
		}
	})
}

func TestAdminChangeRefusesBadBodies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		id := e.createUser("target@example.com", store.RoleUser)
		path := "/api/admin/users/" + id

		tests := []struct {
			name   string
			body   string
			ctype  string
			status int
			code   string
		}{
			{"malformed JSON", `{"role":`, "application/json", 400, "invalid_request"},
			{"an array", `[{"role":"ADMIN"}]`, "application/json", 400, "invalid_request"},
			{"null", `null`, "application/json", 400, "invalid_request"},
			{"a role in lower case", `{"role":"admin"}`, "application/json", 400,
				"invalid_request"},
			{"an empty role", `{"role":""}`, "application/json", 400, "invalid_request"},
			{"a role that is a number", `{"role":1}`, "application/json", 400,
				"invalid_request"},
			{"both fields null", `{"role":null,"active":null}`, "application/json", 400,
				"invalid_request"},
			{"a flag given as a string", `{"active":"false"}`, "application/json", 400,
				"invalid_request"},
			{"two JSON values", `{"active":false}{"active":true}`, "application/json", 400,
				"invalid_request"},
			{"a body that is not JSON", `active=false`, "application/x-www-form-urlencoded",
				415, "unsupported_media_type"},
			{"a body over 64 KiB", `{"role":"` + strings.Repeat("A", 70<<10) + `"}`,
				"application/json", 413, "payload_too_large"},
		}
		for _, tc := range tests {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				r := admin.do("PATCH", path, tc.body, "Content-Type", tc.ctype)
				wantError(t, r, tc.status, tc.code)
				if strings.Contains(r.Raw, "json:") || strings.Contains(r.Raw, "Go value") {
					t.Errorf("the answer echoes the parser's error: %s", r.Raw)
				}
			})
		}
		u, err := st.UserByID(t.Context(), id)
		if err != nil || u.Role != store.RoleUser || !u.Active {
			t.Errorf("user after refused changes = %+v, %v; want an active USER", u, err)
		}
		if events := auditOf(t, admin, "userId="+id+"&type=user.role_changed"); len(events) != 0 {
			t.Errorf("refused changes left %d role change events", len(events))
		}
	})
}

// TestAdminsDemotingEachOtherAtOnceLeaveOneAdmin races two admins, each
// demoting (or deactivating) the other, over HTTP. Whatever the order, one
// change wins and the other is refused: by the last-admin guard when it
// got past authentication first, as insufficient_role when it came after.
func TestAdminsDemotingEachOtherAtOnceLeaveOneAdmin(t *testing.T) {
	t.Parallel()
	changes := []struct {
		name string
		body map[string]any
	}{
		{"demoting", map[string]any{"role": "USER"}},
		{"deactivating", map[string]any{"active": false}},
	}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st store.Store) {
				e := newEnv(t, st)
				for round := range 4 {
					raceAdmins(t, e, round, ch.body)
				}
			})
		})
	}
}

func raceAdmins(t *testing.T, e *env, round int, body map[string]any) {
	t.Helper()
	a, aID := e.newAdmin(fmt.Sprintf("a%d@example.com", round))
	b, bID := e.newAdmin(fmt.Sprintf("b%d@example.com", round))
	// Earlier rounds left one admin; retire it so that a and b are the
	// only active admins.
	if round > 0 {
		for _, u := range adminsOf(t, e) {
			if u.ID != aID && u.ID != bID {
				off := false
				if _, _, err := e.store.ChangeUserAccess(t.Context(), u.ID,
					store.AccessChange{Active: &off}, e.clock.Now()); err != nil {
					t.Fatalf("retire %s: %v", u.Email, err)
				}
			}
		}
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]response, 2)
	for i, pair := range []struct {
		by     *browser
		target string
	}{{a, bID}, {b, aID}} {
		wg.Go(func() {
			<-start
			results[i] = pair.by.do("PATCH", "/api/admin/users/"+pair.target, body)
		})
	}
	close(start)
	wg.Wait()

	ok := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK:
			ok++
		case r.Status == http.StatusConflict && r.str("code") == "last_admin":
		case r.Status == http.StatusForbidden && r.str("code") == "insufficient_role":
		case r.Status == http.StatusForbidden && r.str("code") == "account_disabled",
			r.Status == http.StatusUnauthorized && r.str("code") == "invalid_token":
			// A deactivated admin's token stops working at once: the
			// account is refused, or its session is already revoked.
		default:
			t.Fatalf("round %d: answer %d %s; want 200, 409 last_admin or a refusal",
				round, r.Status, r.Raw)
		}
	}
	if left := len(adminsOf(t, e)); ok != 1 || left != 1 {
		t.Fatalf("round %d: %d changes succeeded leaving %d active admins; want 1 and 1 "+
			"(answers %d %s, %d %s)", round, ok, left, results[0].Status, results[0].Raw,
			results[1].Status, results[1].Raw)
	}
}

// adminsOf returns the active admins.
func adminsOf(t *testing.T, e *env) []store.User {
	t.Helper()
	users, err := e.store.SearchUsers(t.Context(), store.UserQuery{Limit: 1000})
	if err != nil {
		t.Fatalf("SearchUsers: %v", err)
	}
	return slices.DeleteFunc(users, func(u store.User) bool {
		return u.Role != store.RoleAdmin || !u.Active
	})
}

// pageAll follows the cursors of a listing at limit items a page and
// returns the ids in the order served; between pages it calls between.
func pageAll(t *testing.T, admin *browser, path, key string, limit int,
	between func()) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 1000 {
		r := admin.do("GET", fmt.Sprintf("%s&limit=%d&cursor=%s", path, limit,
			url.QueryEscape(cursor)), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s = %d %s", path, r.Status, r.Raw)
		}
		for _, item := range r.list(key) {
			ids = append(ids, item["id"].(string))
		}
		next, ok := r.Body["nextCursor"].(string)
		if !ok {
			return ids
		}
		cursor = next
		if between != nil {
			between()
		}
	}
	t.Fatal("paging does not end")
	return nil
}

func TestAuditPagingIsStableAmongEventsOfTheSameInstant(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		// The clock stands still: every event below has the same createdAt.
		for i := range 7 {
			e.browser().register(fmt.Sprintf("same%d@example.com", i))
		}
		const path = "/api/admin/audit?type=user.registered"
		want := pageAll(t, admin, path, "events", 100, nil)
		if len(want) != 7 {
			t.Fatalf("%d events on one page; want 7", len(want))
		}
		for _, limit := range []int{1, 2, 3} {
			if got := pageAll(t, admin, path, "events", limit, nil); !slices.Equal(got, want) {
				t.Errorf("pages of %d = %v; want every event once, in the order %v", limit,
					got, want)
			}
		}
	})
}

func TestUserPagingSkipsAndRepeatsNoUserWhileOthersSignUp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		admin, adminID := e.newAdmin("root@example.com")
		before := append(e.storeUsers(5, func(i int) string {
			return fmt.Sprintf("early%d@example.com", i)
		}), adminID)
		slices.Sort(before)

		signups := 0
		got := pageAll(t, admin, "/api/admin/users?q=", "users", 2, func() {
			e.storeUsers(1, func(int) string {
				signups++
				return fmt.Sprintf("late%d@example.com", signups)
			})
		})
		seen := map[string]int{}
		for _, id := range got {
			seen[id]++
		}
		for _, id := range before {
			if seen[id] != 1 {
				t.Errorf("user %s was served %d times; want once", id, seen[id])
			}
		}
		if !slices.IsSorted(got) || len(seen) != len(got) {
			t.Errorf("ids served %v; want each once, in id order", got)
		}
	})
}
