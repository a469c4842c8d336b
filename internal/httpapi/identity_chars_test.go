package httpapi_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestRegisterRefusesInvisibleAndOddCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		odd := []struct {
			name string
			text string // put inside a name, between "al" and "ice"
		}{
			{"a zero-width space", "\u200b"},
			{"a zero-width joiner", "\u200d"},
			{"a right-to-left override", "\u202e"},
			{"a left-to-right isolate", "\u2066"},
			{"a byte order mark", "\ufeff"},
			{"a soft hyphen", "\u00ad"},
			{"a control character", "\u0007"},
			{"a private-use character", "\ue000"},
			{"an unassigned code point", "\u0378"},
			{"a Hangul filler", "\u3164"},
			{"a halfwidth Hangul filler", "\uffa0"},
			{"a variation selector", "\ufe0f"},
			{"a combining grapheme joiner", "\u034f"},
			{"a space", " "},
			{"a no-break space", "\u00a0"},
			{"an ideographic space", "\u3000"},
			{"a line separator", "\u2028"},
			{"a tab", "\t"},
		}
		for i, o := range odd {
			t.Run("refuses an email with "+o.name, func(t *testing.T) {
				email := "al" + o.text + "ice@example.com"
				r := e.browser().do("POST", "/api/auth/register",
					map[string]string{"email": email, "password": strongPassword})
				wantError(t, r, 400, "invalid_request")
				if r.obj("fields")["email"] == nil {
					t.Errorf("fields = %v; want an entry for email", r.Body["fields"])
				}
			})
			t.Run("refuses a username with "+o.name, func(t *testing.T) {
				email := fmt.Sprintf("user%d@example.com", i)
				r := e.browser().do("POST", "/api/auth/register", map[string]string{
					"email": email, "password": strongPassword, "username": "al" + o.text + "ice",
				})
				wantError(t, r, 400, "invalid_request")
				if r.obj("fields")["username"] == nil {
					t.Errorf("fields = %v; want an entry for username", r.Body["fields"])
				}
				if _, err := st.UserByEmail(t.Context(), email); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("the refused registration stored a user: err = %v", err)
				}
			})
		}
		t.Run("refuses a username of Hangul fillers alone", func(t *testing.T) {
			r := e.browser().do("POST", "/api/auth/register", map[string]string{
				"email": "fillers@example.com", "password": strongPassword,
				"username": "\u3164\u3164\u3164",
			})
			wantError(t, r, 400, "invalid_request")
		})
	})
}

func TestCompatibilityFormsNameTheSameAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		r := m.browser().do("POST", "/api/auth/register", map[string]string{
			"email": "alice@example.com", "password": strongPassword, "username": "alice",
		})
		if r.Status != 201 {
			t.Fatalf("register alice: %d %s", r.Status, r.Raw)
		}

		taken := []struct {
			name, email, username, code string
		}{
			{"a fullwidth email", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "", "email_taken"},
			{"a fullwidth email in capitals", "ＡＬＩＣＥ@example.com", "", "email_taken"},
			{"a fullwidth username", "other1@example.com", "ａｌｉｃｅ", "username_taken"},
			{"a mathematical bold username", "other2@example.com", "𝐚𝐥𝐢𝐜𝐞", "username_taken"},
		}
		for _, tc := range taken {
			t.Run("refuses "+tc.name+" as taken", func(t *testing.T) {
				body := map[string]string{"email": tc.email, "password": strongPassword}
				if tc.username != "" {
					body["username"] = tc.username
				}
				wantError(t, m.browser().do("POST", "/api/auth/register", body), 409, tc.code)
			})
		}

		t.Run("signs in with a fullwidth email", func(t *testing.T) {
			r := m.browser().login("ａｌｉｃｅ@example.com", strongPassword)
			if r.Status != 200 || r.obj("user")["email"] != "alice@example.com" {
				t.Errorf("login = %d %s; want 200 as alice@example.com", r.Status, r.Raw)
			}
		})
		t.Run("does not sign in with a zero-width space in the email", func(t *testing.T) {
			wantError(t, m.browser().login("al\u200bice@example.com", strongPassword),
				401, "invalid_credentials")
		})
		t.Run("mails a reset for a fullwidth email to the account", func(t *testing.T) {
			r := m.browser().do("POST", "/api/auth/password/forgot",
				map[string]string{"email": "ａｌｉｃｅ@example.com"})
			if r.Status != 202 {
				t.Fatalf("forgot = %d %s; want 202", r.Status, r.Raw)
			}
			m.nextMail(t, "alice@example.com", "Reset your password")
		})
		t.Run("refuses a reset for an email with a bidi control", func(t *testing.T) {
			r := m.browser().do("POST", "/api/auth/password/forgot",
				map[string]string{"email": "alice\u202e@example.com"})
			wantError(t, r, 400, "invalid_request")
			if r.obj("fields")["email"] == nil {
				t.Errorf("fields = %v; want an entry for email", r.Body["fields"])
			}
		})
	})
}

func TestOrdinaryNonASCIINamesStillWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		tests := []struct {
			name, email, username, stored, login string
		}{
			{"an accented email", "josé@example.com", "josé", "josé@example.com",
				"jose\u0301@example.com"},
			{"a Chinese email and domain", "用户@例子.广告", "用户名", "用户@例子.广告", "用户@例子.广告"},
			{"a Greek email in capitals", "ΣΟΦΙΑ@example.com", "σοφια", "σοφια@example.com",
				"σοφια@example.com"},
			{"a ligature folded to its letters", "ﬁnn@example.com", "ﬁnn", "finn@example.com",
				"finn@example.com"},
		}
		for _, tc := range tests {
			t.Run("registers and signs in with "+tc.name, func(t *testing.T) {
				r := e.browser().do("POST", "/api/auth/register", map[string]string{
					"email": tc.email, "password": strongPassword, "username": tc.username,
				})
				if r.Status != 201 {
					t.Fatalf("register %q = %d %s", tc.email, r.Status, r.Raw)
				}
				if got := r.obj("user")["email"]; got != tc.stored {
					t.Errorf("stored email = %q, want %q", got, tc.stored)
				}
				r = e.browser().login(tc.login, strongPassword)
				if r.Status != 200 || r.obj("user")["email"] != tc.stored {
					t.Errorf("login as %q = %d %s; want 200 as %s", tc.login, r.Status, r.Raw,
						tc.stored)
				}
			})
		}
	})
}
