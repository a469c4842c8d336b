package config

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

const day = 24 * time.Hour

// ParseDuration parses a duration in any of the forms Latchkey accepts:
// Go syntax ("15m", "1h30m"), a leading whole number of days ("7d",
// "1d12h"), or a bare integer counting milliseconds ("900000"), the unit
// that Node configuration files commonly use. Whatever time.ParseDuration
// accepts means the same here. The sign is kept; callers that need a
// positive duration check it themselves.
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if d, ok := parseMillis(s); ok {
		return d, nil
	}
	if d, ok := parseDays(s); ok {
		return d, nil
	}
	return 0, fmt.Errorf("invalid duration %q", s)
}

func parseMillis(s string) (time.Duration, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	const limit = math.MaxInt64 / int64(time.Millisecond)
	if n > limit || n < -limit {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// parseDays accepts [sign]<digits>d[<unsigned Go duration>]. Days come first
// because they are the largest unit; fractions of a day are left out on
// purpose, since "1d12h" says the same thing without rounding questions.
func parseDays(s string) (time.Duration, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) || s[i] != 'd' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > int64(math.MaxInt64/day) {
		return 0, false
	}
	d := time.Duration(n) * day

	if rest := s[i+1:]; rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, false
		}
		r, err := time.ParseDuration(rest)
		if err != nil || r > math.MaxInt64-d {
			return 0, false
		}
		d += r
	}
	if neg {
		d = -d
	}
	return d, true
}
