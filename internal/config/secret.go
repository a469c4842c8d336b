package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
)

const (
	redacted  = "[REDACTED]"
	notSet    = "[NOT SET]"
	minSecret = 32 // bytes; 256 bits matches HS256 and the pepper's HMAC-SHA256
	mfaKeyLen = 32 // bytes; an AES-256 key
)

// Secret is key material. Every way of printing, logging or marshaling it
// yields a placeholder, so that a Config can be dumped while debugging
// without leaking keys; code that needs the bytes indexes the slice.
type Secret []byte

// String returns a placeholder that says only whether the secret is set.
func (s Secret) String() string {
	if len(s) == 0 {
		return notSet
	}
	return redacted
}

// GoString returns the same placeholder as String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format writes the placeholder for every verb, including %x and %d, which
// would otherwise print the bytes of a byte slice.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer with the placeholder.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler with the placeholder, so that
// JSON or YAML encoders cannot emit the key either.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// decodeKey decodes key material given as hex or base64 (standard or URL
// alphabet, padded or not) and returns the decoding that is exactly n bytes
// long. Several decodings can succeed for one string (a 64-digit hex string
// is also valid base64 of 48 bytes), so the length decides. When none fits,
// got is the length of the first successful decoding, or -1 when the text is
// neither hex nor base64.
func decodeKey(s string, n int) (key []byte, got int) {
	got = -1
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for _, decode := range decoders {
		b, err := decode(s)
		if err != nil {
			continue
		}
		if len(b) == n {
			return b, n
		}
		if got < 0 {
			got = len(b)
		}
	}
	return nil, got
}
