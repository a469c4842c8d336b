package token

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

var refreshSecret = []byte("refresh-secret-refresh-secret-32b!")

func newTestKeyed(t testing.TB, secret []byte) *Keyed {
	t.Helper()
	k, err := NewKeyed(secret)
	if err != nil {
		t.Fatalf("NewKeyed: %v", err)
	}
	return k
}

func mustOpaque(t testing.TB) string {
	t.Helper()
	tok, err := NewOpaque()
	if err != nil {
		t.Fatalf("NewOpaque: %v", err)
	}
	return tok
}

func TestNewOpaque(t *testing.T) {
	t.Parallel()
	const draws = 10000
	seen := make(map[string]bool, draws)
	for range draws {
		tok := mustOpaque(t)
		if len(tok) != OpaqueLen {
			t.Fatalf("NewOpaque() = %q, %d characters; want %d", tok, len(tok), OpaqueLen)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("NewOpaque() = %q, want 32 bytes as unpadded base64url", tok)
		}
		if !WellFormed(tok) {
			t.Fatalf("WellFormed(%q) = false for a fresh token", tok)
		}
		if seen[tok] {
			t.Fatalf("NewOpaque() returned %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestWellFormed(t *testing.T) {
	t.Parallel()
	valid := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	tests := []struct {
		name string
		tok  string
		want bool
	}{
		{"a token using '-' and '_' is well formed", valid, true},
		{"all zero bytes are well formed", strings.Repeat("A", 43), true},
		{"an empty string is not", "", false},
		{"42 characters are not", valid[:42], false},
		{"44 characters are not", valid + "A", false},
		{"padding is not", valid[:42] + "=", false},
		{"standard base64 '+' is not", "+" + valid[1:], false},
		{"standard base64 '/' is not", "/" + valid[1:], false},
		{"a space is not", " " + valid[1:], false},
		{"a line break in place of a character is not", valid[:20] + "\n" + valid[21:], false},
		{"a non-ASCII character is not", "é" + valid[2:], false},
		{"a final character with spare bits set is not", strings.Repeat("A", 42) + "B", false},
		{"a 64-character hex hash is not", strings.Repeat("ab", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := WellFormed(tt.tok); got != tt.want {
				t.Errorf("WellFormed(%q) = %v, want %v", tt.tok, got, tt.want)
			}
		})
	}
}

func TestNewKeyedRefusesShortSecrets(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31} {
		if _, err := NewKeyed(make([]byte, n)); err == nil {
			t.Errorf("NewKeyed(%d bytes) = nil error, want one", n)
		}
	}
}

func TestKeyedHash(t *testing.T) {
	t.Parallel()
	k := newTestKeyed(t, refreshSecret)
	tok := mustOpaque(t)

	got := k.Hash(tok)
	if raw, err := hex.DecodeString(got); err != nil || len(raw) != 32 {
		t.Errorf("Hash = %q, want 64 hex characters", got)
	}
	if again := k.Hash(tok); again != got {
		t.Errorf("Hash twice = %q then %q, want the same", got, again)
	}
	if same := newTestKeyed(t, refreshSecret).Hash(tok); same != got {
		t.Errorf("Hash under an equal secret = %q, want %q", same, got)
	}

	other := append(bytes.Clone(refreshSecret), '!')
	if diff := newTestKeyed(t, other).Hash(tok); diff == got {
		t.Errorf("Hash under another secret = %q, want a different hash", diff)
	}
	if diff := k.Hash(mustOpaque(t)); diff == got {
		t.Errorf("Hash of another token = %q, want a different hash", diff)
	}
	if strings.Contains(got, tok) {
		t.Errorf("Hash = %q contains the token", got)
	}
}

func TestKeyedSuccessor(t *testing.T) {
	t.Parallel()
	k := newTestKeyed(t, refreshSecret)
	tok := mustOpaque(t)

	next := k.Successor(tok)
	if !WellFormed(next) {
		t.Errorf("Successor = %q, want a well-formed opaque token", next)
	}
	if again := k.Successor(tok); again != next {
		t.Errorf("Successor twice = %q then %q, want the same", next, again)
	}
	if next == tok {
		t.Error("Successor returned its parent")
	}
	other := append(bytes.Clone(refreshSecret), '!')
	if diff := newTestKeyed(t, other).Successor(tok); diff == next {
		t.Errorf("Successor under another secret = %q, want a different token", diff)
	}

	// A rotation family must never revisit a token.
	seen := map[string]bool{tok: true}
	for cur := tok; len(seen) < 1000; {
		cur = k.Successor(cur)
		if seen[cur] {
			t.Fatalf("family revisits %q after %d rotations", cur, len(seen))
		}
		seen[cur] = true
	}
}

func TestKeyedHashDiffersFromSuccessor(t *testing.T) {
	t.Parallel()
	k := newTestKeyed(t, refreshSecret)
	for i := range 100 {
		tok := mustOpaque(t)
		hash, next := k.Hash(tok), k.Successor(tok)
		if hash == next {
			t.Fatalf("Hash and Successor of token %d are both %q", i, hash)
		}
		// The stored hash must not reveal the successor even when both are
		// decoded to bytes.
		raw, _ := hex.DecodeString(hash)
		if base64.RawURLEncoding.EncodeToString(raw) == next {
			t.Fatalf("Hash and Successor of token %d share their bytes", i)
		}
	}
}

func TestSecretIsRedacted(t *testing.T) {
	t.Parallel()
	const value = "a-very-secret-token"
	s := Secret(value)

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("issued", "token", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("issued", slog.Any("token", s))
	printed := fmt.Sprintf("%v %s %+v %#v %q", s, s, s, s, s)

	for name, out := range map[string]string{"log": buf.String(), "fmt": printed} {
		if strings.Contains(out, value) {
			t.Errorf("%s output %q contains the secret", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s output %q lacks %q", name, out, Redacted)
		}
	}
	if got := string(s); got != value {
		t.Errorf("string(s) = %q, want %q", got, value)
	}
}

func FuzzWellFormed(f *testing.F) {
	f.Add(mustOpaque(f))
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("A", 42) + "B")
	f.Add("")
	f.Add(strings.Repeat("=", 43))
	f.Add(strings.Repeat("A", 42) + "\n" + "A")

	strict := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := strict.DecodeString(s)
		// The decoder skips line breaks; a well-formed token has none.
		want := err == nil && len(raw) == 32 && len(s) == OpaqueLen
		if got := WellFormed(s); got != want {
			t.Fatalf("WellFormed(%q) = %v, want %v", s, got, want)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	k := newTestKeyed(b, refreshSecret)
	tok := mustOpaque(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Hash(tok)
	}
}
