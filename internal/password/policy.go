package password

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Specials are the characters the composition rule accepts as a symbol.
const Specials = "!@#$%^&*"

// Policy is the set of rules a new password must satisfy. Lengths count
// characters (runes), not bytes; a zero MaxLength or MaxBytes means no limit.
type Policy struct {
	MinLength, MaxLength int
	// Composition requires an upper-case letter, a lower-case letter, a
	// digit and one of Specials. When it is off, a check against a list of
	// common passwords applies instead.
	Composition bool
	// MaxBytes caps the UTF-8 length; set it to Hasher.MaxBytes so that
	// bcrypt never has to drop part of a password.
	MaxBytes int
}

// DefaultPolicy returns the default rules: 8 to 128 characters with the
// composition rule on and no byte limit.
func DefaultPolicy() Policy {
	return Policy{MinLength: 8, MaxLength: 128, Composition: true}
}

// PolicyError says why a password was refused. Message is a sentence fit to
// show to the person choosing the password.
type PolicyError struct {
	Message string
}

// Error returns the message.
func (e *PolicyError) Error() string { return e.Message }

// Check returns nil when plain satisfies p, or a *PolicyError whose Message
// is a human readable sentence suitable for the API.
func (p Policy) Check(plain string) error {
	if !utf8.ValidString(plain) {
		return &PolicyError{Message: "Password must be valid UTF-8 text."}
	}

	n := utf8.RuneCountInString(plain)
	if n < p.MinLength {
		return &PolicyError{
			Message: fmt.Sprintf("Password must be at least %d characters.", p.MinLength),
		}
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		return &PolicyError{
			Message: fmt.Sprintf("Password must be at most %d characters.", p.MaxLength),
		}
	}
	if p.MaxBytes > 0 && len(plain) > p.MaxBytes {
		return &PolicyError{Message: fmt.Sprintf(
			"Password must be at most %d bytes; accented letters and symbols take more than one.",
			p.MaxBytes)}
	}

	if p.Composition {
		return checkComposition(plain)
	}
	if IsCommon(plain) {
		return &PolicyError{Message: "Password is too common; choose a less predictable one."}
	}
	return nil
}

func checkComposition(plain string) error {
	var upper, lower, digit, special bool
	for _, r := range plain {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune(Specials, r):
			special = true
		}
	}

	var missing []string
	if !upper {
		missing = append(missing, "an uppercase letter")
	}
	if !lower {
		missing = append(missing, "a lowercase letter")
	}
	if !digit {
		missing = append(missing, "a digit")
	}
	if !special {
		missing = append(missing, "one of "+Specials)
	}
	if len(missing) == 0 {
		return nil
	}
	return &PolicyError{Message: "Password must contain " + joinAnd(missing) + "."}
}

// joinAnd joins items as an English list: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

//go:embed common.txt
var commonList string

var common = func() map[string]struct{} {
	m := make(map[string]struct{})
	for line := range strings.Lines(commonList) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
}()

// IsCommon reports whether plain, ignoring case, is on the embedded list of
// common passwords.
func IsCommon(plain string) bool {
	_, ok := common[strings.ToLower(plain)]
	return ok
}
