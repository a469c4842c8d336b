package token

import "log/slog"

// Redacted is what a Secret shows in logs and formatted output.
const Redacted = "[redacted]"

// Secret is a string that must not reach logs: a token, a code, a password.
// Its log and print forms are a placeholder; convert it with string(s) where
// the value itself is needed.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// String returns the placeholder, so fmt verbs such as %v and %s do not
// print the value either.
func (Secret) String() string { return Redacted }

// GoString returns the placeholder for %#v.
func (Secret) GoString() string { return Redacted }
