package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// Behind a trusted proxy, forwarding headers are believed for the client's
// address, and for nothing else: a forged host still never reaches a link.
func TestForgedHostHeadersThroughATrustedProxyLeaveLinksOnThePublicURL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st, withTrustedProxies("127.0.0.0/8", "::1/128"))
		b := m.browser()
		b.register("ada@example.com")

		cases := []struct {
			name, path, bearer, body, subject, page string
		}{
			{"a reset link", "/api/auth/password/forgot", "", `{"email":"ada@example.com"}`,
				"Reset your password", "reset-password"},
			{"a verification link", "/api/auth/email/verify/send", b.token, "",
				"Confirm your email address", "verify-email"},
		}
		for _, tc := range cases {
			t.Run(tc.name+" stays on the public URL", func(t *testing.T) {
				if got := forged(t, m.env, tc.path, tc.bearer, tc.body); got !=
					http.StatusAccepted {
					t.Fatalf("%s with forged host headers: status %d; want 202", tc.path, got)
				}
				msg := m.nextMail(t, "ada@example.com", tc.subject)
				followLink(t, msg, tc.page)
				if strings.Contains(msg.Text+msg.HTML, "evil.example") {
					t.Errorf("mail names the forged host:\n%s", msg.Text)
				}
			})
		}
	})
}
