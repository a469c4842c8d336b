package mfa_test

import (
	"encoding/base32"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mfa"
)

// rfcSecret is the SHA-1 key of RFC 6238's test vectors, "12345678901234567890",
// in base32.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).
	EncodeToString([]byte("12345678901234567890"))

func TestCodeMatchesTheRFCTestVectors(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B lists eight-digit codes; six-digit codes are
	// their last six digits.
	tests := []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, tc := range tests {
		t.Run(time.Unix(tc.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
			t.Parallel()
			got, err := mfa.Code(rfcSecret, mfa.Step(time.Unix(tc.unix, 0)))
			if err != nil {
				t.Fatalf("Code: %v", err)
			}
			if got != tc.want {
				t.Errorf("code = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStepIsTheThirtySecondWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0},
		{29, 0},
		{30, 1},
		{59, 1},
		{60, 2},
		{-1, -1},
	}
	for _, tc := range tests {
		if got := mfa.Step(time.Unix(tc.unix, 0)); got != tc.want {
			t.Errorf("Step(%d) = %d, want %d", tc.unix, got, tc.want)
		}
	}
}

func TestMatchAcceptsOneStepEitherSideAndNoMore(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, time.May, 1, 12, 0, 10, 0, time.UTC)
	current := mfa.Step(now)
	tests := []struct {
		name   string
		offset int64
		want   bool
	}{
		{"the current step's code is accepted", 0, true},
		{"the previous step's code is accepted", -1, true},
		{"the next step's code is accepted", 1, true},
		{"a code two steps old is refused", -2, false},
		{"a code two steps ahead is refused", 2, false},
		{"a code an hour old is refused", -120, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, err := mfa.Code(rfcSecret, current+tc.offset)
			if err != nil {
				t.Fatalf("Code: %v", err)
			}
			// A code of a far step may by chance equal one inside the window.
			if !tc.want && codeWithinWindow(t, code, current) {
				t.Skip("the code collides with one inside the window")
			}
			step, ok, err := mfa.Match(rfcSecret, code, now)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if ok != tc.want {
				t.Fatalf("Match ok = %v, want %v", ok, tc.want)
			}
			if ok && step != current+tc.offset {
				t.Errorf("matched step = %d, want %d", step, current+tc.offset)
			}
		})
	}
}

func codeWithinWindow(t *testing.T, code string, current int64) bool {
	t.Helper()
	for s := current - mfa.Skew; s <= current+mfa.Skew; s++ {
		c, err := mfa.Code(rfcSecret, s)
		if err != nil {
			t.Fatalf("Code: %v", err)
		}
		if c == code {
			return true
		}
	}
	return false
}

func TestMatchRefusesMalformedCodesInsteadOfNormalizingThem(t *testing.T) {
	t.Parallel()
	now := time.Unix(59, 0) // the current code is 287082
	tests := []struct {
		name string
		code string
	}{
		{"a leading space", " 287082"},
		{"a trailing newline", "287082\n"},
		{"a space in the middle", "287 082"},
		{"a hyphen in the middle", "287-082"},
		{"five digits", "28708"},
		{"seven digits", "2870820"},
		{"full-width digits", "２８７０８２"},
		{"Arabic-Indic digits", "٢٨٧٠٨٢"},
		{"a plus sign", "+287082"},
		{"the empty string", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			t.Parallel()
			if mfa.WellFormedCode(tc.code) {
				t.Errorf("WellFormedCode(%q) = true, want false", tc.code)
			}
			if _, ok, err := mfa.Match(rfcSecret, tc.code, now); ok || err != nil {
				t.Errorf("Match(%q) = %v, %v; want false, nil", tc.code, ok, err)
			}
		})
	}
	if _, ok, _ := mfa.Match(rfcSecret, "287082", now); !ok {
		t.Error("the well-formed code itself does not match")
	}
}

func TestNewEnrollmentGivesAWorkingSecretURLAndQRCode(t *testing.T) {
	t.Parallel()
	e, err := mfa.NewEnrollment("Latchkey", "ada@example.com")
	if err != nil {
		t.Fatalf("NewEnrollment: %v", err)
	}

	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) != 20 {
		t.Errorf("secret %q decodes to %d bytes (%v); want 20", e.Secret, len(raw), err)
	}

	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatalf("URL %q: %v", e.URL, err)
	}
	q := u.Query()
	checks := map[string][2]string{
		"scheme":    {u.Scheme, "otpauth"},
		"type":      {u.Host, "totp"},
		"label":     {u.Path, "/Latchkey:ada@example.com"},
		"secret":    {q.Get("secret"), e.Secret},
		"issuer":    {q.Get("issuer"), "Latchkey"},
		"digits":    {q.Get("digits"), "6"},
		"period":    {q.Get("period"), "30"},
		"algorithm": {q.Get("algorithm"), "SHA1"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("URL %s = %q, want %q", name, c[0], c[1])
		}
	}

	data, ok := strings.CutPrefix(e.QRCode, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR code %.40q is not a PNG data URL", e.QRCode)
	}
	png, err := base64.StdEncoding.DecodeString(data)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
		t.Errorf("QR code data is not a PNG image (%v)", err)
	}

	other, err := mfa.NewEnrollment("Latchkey", "ada@example.com")
	if err != nil {
		t.Fatalf("NewEnrollment: %v", err)
	}
	if other.Secret == e.Secret {
		t.Error("two enrollments got the same secret")
	}
}
