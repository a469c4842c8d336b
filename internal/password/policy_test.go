package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	want := Policy{MinLength: 8, MaxLength: 128, Composition: true, MaxBytes: 0}
	if got := DefaultPolicy(); got != want {
		t.Errorf("DefaultPolicy() = %+v, want %+v", got, want)
	}
}

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	composition := DefaultPolicy()
	common := DefaultPolicy()
	common.Composition = false
	bcryptPolicy := DefaultPolicy()
	bcryptPolicy.MaxBytes = BcryptMaxBytes

	tests := []struct {
		name    string
		policy  Policy
		plain   string
		message string // empty when the password is accepted
	}{
		{"a password meeting every rule is accepted", composition, "Abcdef1!", ""},
		{"non-ASCII letters count as upper and lower case", composition, "ÄÖÜäöü1#", ""},
		{"seven characters are too short", composition, "Abcde1!",
			"Password must be at least 8 characters."},
		{"length counts characters, not bytes", composition, "Ää1!Öö",
			"Password must be at least 8 characters."},
		{"an empty password is too short", composition, "",
			"Password must be at least 8 characters."},
		{"128 characters are accepted", composition, "Aa1!" + strings.Repeat("x", 124), ""},
		{"129 characters are too long", composition, "Aa1!" + strings.Repeat("x", 125),
			"Password must be at most 128 characters."},
		{"128 multi-byte characters are accepted without a byte limit", composition,
			"Aa1!" + strings.Repeat("é", 124), ""},
		{"a missing symbol is named", composition, "Abcdefg1",
			"Password must contain one of !@#$%^&*."},
		{"a symbol outside the list does not count", composition, "Abcdefg1?",
			"Password must contain one of !@#$%^&*."},
		{"a missing uppercase letter is named", composition, "abcdefg1!",
			"Password must contain an uppercase letter."},
		{"a missing lowercase letter is named", composition, "ABCDEFG1!",
			"Password must contain a lowercase letter."},
		{"a missing digit is named", composition, "Abcdefgh!",
			"Password must contain a digit."},
		{"several missing classes are listed together", composition, "abcdefgh",
			"Password must contain an uppercase letter, a digit and one of !@#$%^&*."},
		{"two missing classes are joined with and", composition, "abcdefg!",
			"Password must contain an uppercase letter and a digit."},
		{"a common password passes when composition is on", composition, "Password1!", ""},
		{"a common password is refused when composition is off", common, "password",
			"Password is too common; choose a less predictable one."},
		{"the common check ignores case", common, "PassWord123",
			"Password is too common; choose a less predictable one."},
		{"a long uncommon lowercase password passes when composition is off", common,
			"correct horse battery staple", ""},
		{"the common check still enforces length", common, "qwerty",
			"Password must be at least 8 characters."},
		{"72 bytes pass the bcrypt byte limit", bcryptPolicy, "Aa1!" + strings.Repeat("x", 68), ""},
		{"73 bytes fail the bcrypt byte limit", bcryptPolicy, "Aa1!" + strings.Repeat("x", 69),
			"Password must be at most 72 bytes; accented letters and symbols take more than one."},
		{"multi-byte characters count fully against the byte limit", bcryptPolicy,
			"Aa1!" + strings.Repeat("é", 35),
			"Password must be at most 72 bytes; accented letters and symbols take more than one."},
		{"invalid UTF-8 is refused", composition, "Abcdef1!\xff",
			"Password must be valid UTF-8 text."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.policy.Check(tt.plain)
			if tt.message == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v, want nil", tt.plain, err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v, want a *PolicyError", tt.plain, err)
			}
			if pe.Message != tt.message {
				t.Errorf("Check(%q) message = %q, want %q", tt.plain, pe.Message, tt.message)
			}
			if pe.Error() != tt.message {
				t.Errorf("Error() = %q, want %q", pe.Error(), tt.message)
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	if got := len(common); got < 300 {
		t.Errorf("common list has %d entries, want at least 300", got)
	}
	for word := range common {
		if n := utf8.RuneCountInString(word); n < 8 {
			t.Errorf("common list entry %q has %d characters; the length rule already "+
				"refuses it", word, n)
		}
		if word != strings.ToLower(word) {
			t.Errorf("common list entry %q is not lower case", word)
		}
	}

	tests := []struct {
		plain string
		want  bool
	}{
		{"password", true},
		{"PASSWORD", true},
		{"12345678", true},
		{"qwertyui", true},
		{"iloveyou", true},
		{"# Common passwords of at least 8 characters, one a line, lower case.", false},
		{"", false},
		{"vX9#tq2Lw", false},
	}
	for _, tt := range tests {
		if got := IsCommon(tt.plain); got != tt.want {
			t.Errorf("IsCommon(%q) = %v, want %v", tt.plain, got, tt.want)
		}
	}
}
