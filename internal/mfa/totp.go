// Package mfa holds the parts of two-factor authentication that know
// nothing of accounts or storage: TOTP secrets and codes (RFC 6238), the
// encryption that keeps secrets unreadable at rest, and backup codes.
// Package auth composes them into flows.
package mfa

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters. They are the ones every authenticator app supports
// and many support nothing else: SHA-1, six digits, 30-second steps.
const (
	// Digits is the length of a TOTP code.
	Digits = 6
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Skew is how many steps before and after the current one are
	// accepted, for phone clocks that drift and codes typed near the end of
	// their step.
	Skew = 1
)

const (
	periodSeconds = int64(Period / time.Second)
	// secretBytes is RFC 4226's recommended secret length: 160 bits.
	secretBytes = 20
	// qrSize is the width and height of the QR code image in pixels.
	qrSize = 256
)

var codeOpts = totp.ValidateOpts{
	Period:    uint(periodSeconds),
	Digits:    otp.DigitsSix,
	Algorithm: otp.AlgorithmSHA1,
}

// Enrollment is a new TOTP secret in the forms a user needs to add it to an
// authenticator app. All three carry the secret: show them to the user once
// and never log them.
type Enrollment struct {
	Secret string // base32 without padding
	URL    string // otpauth:// URL with issuer and account name
	QRCode string // the URL as a QR code, a PNG data URL
}

// NewEnrollment generates a secret of 160 random bits for account (the
// user's email) at issuer (the name the app shows).
func NewEnrollment(issuer, account string) (Enrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(periodSeconds),
		SecretSize:  secretBytes,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        rand.Reader,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("mfa: generate secret: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return Enrollment{}, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrollment{}, fmt.Errorf("mfa: QR code: %w", err)
	}
	return Enrollment{
		Secret: key.Secret(),
		URL:    key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// Step returns the number of the time step t falls in.
func Step(t time.Time) int64 {
	u := t.Unix()
	step := u / periodSeconds
	if u%periodSeconds < 0 {
		step--
	}
	return step
}

// Code returns the code of the base32 secret for time step step.
func Code(secret string, step int64) (string, error) {
	code, err := totp.GenerateCodeCustom(secret, time.Unix(step*periodSeconds, 0), codeOpts)
	if err != nil {
		return "", fmt.Errorf("mfa: code: %w", err)
	}
	return code, nil
}

// WellFormedCode reports whether code is exactly Digits ASCII digits.
// Anything else (spaces, other digit scripts, a sign) is refused rather
// than cleaned up, so that no normalization can turn it into a match.
func WellFormedCode(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Match returns the time step within Skew of now whose code is code, the
// earliest if several are. ok is false when no step matches or code is not
// well formed. Match does not know which steps were already used: the
// caller must refuse a step that is not later than the last one accepted.
func Match(secret, code string, now time.Time) (step int64, ok bool, err error) {
	if !WellFormedCode(code) {
		return 0, false, nil
	}
	current := Step(now)
	found := 0
	for s := current - Skew; s <= current+Skew; s++ {
		want, err := Code(secret, s)
		if err != nil {
			return 0, false, err
		}
		// Every candidate is compared, in constant time, so the answer
		// takes the same time whichever step matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			step, found = s, 1
		}
	}
	return step, found == 1, nil
}
