package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "Go minutes", in: "15m", want: 15 * time.Minute},
		{name: "Go compound", in: "1h30m", want: 90 * time.Minute},
		{name: "Go fraction", in: "1.5h", want: 90 * time.Minute},
		{name: "Go seconds", in: "10s", want: 10 * time.Second},
		{name: "Go zero", in: "0", want: 0},
		{name: "Go negative keeps its sign", in: "-5m", want: -5 * time.Minute},
		{name: "days", in: "7d", want: 7 * 24 * time.Hour},
		{name: "days then hours", in: "1d12h", want: 36 * time.Hour},
		{name: "days then compound", in: "2d3h4m5s", want: 51*time.Hour + 245*time.Second},
		{name: "negative days", in: "-1d", want: -24 * time.Hour},
		{name: "plus days", in: "+1d", want: 24 * time.Hour},
		{name: "bare integer is milliseconds", in: "900000", want: 15 * time.Minute},
		{name: "bare one millisecond", in: "1", want: time.Millisecond},
		{name: "bare negative milliseconds", in: "-250", want: -250 * time.Millisecond},
		{name: "largest milliseconds", in: "9223372036854", want: 9223372036854 * time.Millisecond},
		{name: "unknown unit", in: "15x", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "blank", in: " ", wantErr: true},
		{name: "only a unit", in: "d", wantErr: true},
		{name: "fractional days", in: "1.5d", wantErr: true},
		{name: "days after hours", in: "12h1d", wantErr: true},
		{name: "days twice", in: "1d2d", wantErr: true},
		{name: "signed remainder after days", in: "1d-12h", wantErr: true},
		{name: "upper-case day unit", in: "7D", wantErr: true},
		{name: "milliseconds overflow", in: "9223372036855", wantErr: true},
		{name: "days overflow", in: "106752d", wantErr: true},
		{name: "days plus remainder overflow", in: "106751d23h59m59s", wantErr: true},
		{name: "words", in: "fifteen minutes", wantErr: true},
		{name: "number with spaces", in: "15 m", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDuration(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDurationErrorQuotesTheInput(t *testing.T) {
	t.Parallel()
	_, err := ParseDuration("15x")
	if err == nil {
		t.Fatal("ParseDuration(\"15x\") succeeded, want an error")
	}
	if got, want := err.Error(), `invalid duration "15x"`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"15m", "1h30m", "7d", "1d12h", "900000", "0", "-1d", "+0d", "1d0",
		"9223372036854", "106751d", "1d.5h", "-", "d", "", "1e3", "0x10",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDuration(s)
		if want, werr := time.ParseDuration(s); werr == nil {
			if err != nil || got != want {
				t.Fatalf("ParseDuration(%q) = %v, %v; time.ParseDuration = %v", s, got, err, want)
			}
			return
		}
		// Beyond Go syntax, overflow must be refused rather than wrap
		// around, so the sign of the result follows the sign of the input.
		if err == nil && strings.HasPrefix(s, "-") != (got < 0) && got != 0 {
			t.Fatalf("ParseDuration(%q) = %v, sign does not match the input", s, got)
		}
	})
}
