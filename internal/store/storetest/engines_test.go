package storetest

import (
	"fmt"
	"strings"
	"testing"
)

// outcome records what a helper did with the test it was given, instead of
// ending it.
type outcome struct {
	testing.TB
	failed, skipped string
}

func (o *outcome) Helper() {}

func (o *outcome) Fatalf(format string, args ...any) {
	if o.failed == "" {
		o.failed = fmt.Sprintf(format, args...)
	}
}

func (o *outcome) Skipf(format string, args ...any) {
	if o.skipped == "" && o.failed == "" {
		o.skipped = fmt.Sprintf(format, args...)
	}
}

func TestPostgresURLIsRequiredInCI(t *testing.T) {
	tests := []struct {
		name, url, ci      string
		wantURL            string
		wantFail, wantSkip bool
	}{
		{"a set URL is used", "postgres://db/test", "", "postgres://db/test", false, false},
		{"a set URL is used in CI", "postgres://db/test", "true", "postgres://db/test",
			false, false},
		{"without a URL the test is skipped outside CI", "", "", "", false, true},
		{"without a URL the test fails when CI=true", "", "true", "", true, false},
		{"CI must be exactly true to require it", "", "1", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PostgresURLEnv, tc.url)
			t.Setenv("CI", tc.ci)
			o := &outcome{TB: t}
			got := PostgresURL(o)
			if got != tc.wantURL || (o.failed != "") != tc.wantFail ||
				(o.skipped != "") != tc.wantSkip {
				t.Errorf("PostgresURL = %q, failed %q, skipped %q; want %q, fail %v, skip %v",
					got, o.failed, o.skipped, tc.wantURL, tc.wantFail, tc.wantSkip)
			}
			if tc.wantFail && (!strings.Contains(o.failed, PostgresURLEnv) ||
				!strings.Contains(o.failed, "CI=true")) {
				t.Errorf("failure %q does not name %s and CI=true", o.failed, PostgresURLEnv)
			}
		})
	}
}
