// Package password hashes and verifies user passwords and checks new ones
// against the password policy.
//
// New hashes use argon2id (the default) or bcrypt; hashes of either kind,
// including bcrypt hashes made by other systems, always verify. Hashing is
// the most expensive thing the server does, so a Hasher bounds how many
// hashes run at once and turns callers away with ErrBusy rather than letting
// a flood of logins exhaust memory.
package password

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Algorithms a Hasher can use for new hashes.
const (
	Argon2id = "argon2id"
	Bcrypt   = "bcrypt"
)

// BcryptMaxBytes is the longest password, in bytes, that bcrypt uses in full;
// bcrypt ignores anything beyond it.
const BcryptMaxBytes = 72

const (
	defaultBcryptCost = 12
	// maxBcryptCost bounds the work a stored hash can demand: each step
	// doubles it, and cost 31 would take days.
	maxBcryptCost  = 16
	defaultMaxWait = 2 * time.Second
)

var (
	// ErrBusy means no hashing slot became free within the configured wait,
	// or the caller's context ended first (the error then also wraps the
	// context's error).
	ErrBusy = errors.New("password: hashing capacity exhausted")
	// ErrTooLong means the password is longer than bcrypt can use in full;
	// hashing it would silently ignore the excess.
	ErrTooLong = errors.New("password: longer than 72 bytes, which bcrypt cannot hash")
	// ErrMalformedHash means an encoded hash is not one this package can
	// verify: an unknown algorithm, a bad encoding, or parameters outside
	// sane bounds.
	ErrMalformedHash = errors.New("password: malformed hash")
)

// Options configure a Hasher. Zero values select the defaults.
type Options struct {
	// Algorithm is used for new hashes: Argon2id (default) or Bcrypt.
	Algorithm string
	// BcryptCost is the bcrypt cost for new hashes; default 12.
	BcryptCost int
	// Argon2 are the argon2id parameters for new hashes; the zero value
	// selects DefaultArgon2Params.
	Argon2 Argon2Params
	// MaxInFlight is how many hashes may be computed at once; default
	// runtime.GOMAXPROCS(0) when the Hasher is made.
	MaxInFlight int
	// MaxWait is how long a caller waits for a hashing slot; default 2s.
	MaxWait time.Duration
}

// Hasher hashes and verifies passwords with bounded concurrency. It is safe
// for concurrent use.
type Hasher struct {
	algorithm  string
	bcryptCost int
	argon2     Argon2Params
	maxWait    time.Duration
	slots      chan struct{}

	dummyOnce sync.Once
	dummy     storedHash
	dummyErr  error
}

// NewHasher validates o, fills in defaults and returns a Hasher.
func NewHasher(o Options) (*Hasher, error) {
	if o.Algorithm == "" {
		o.Algorithm = Argon2id
	}
	if o.Algorithm != Argon2id && o.Algorithm != Bcrypt {
		return nil, fmt.Errorf("password: unknown algorithm %q (want %q or %q)",
			o.Algorithm, Argon2id, Bcrypt)
	}

	if o.BcryptCost == 0 {
		o.BcryptCost = defaultBcryptCost
	}
	if o.BcryptCost < bcrypt.MinCost || o.BcryptCost > maxBcryptCost {
		return nil, fmt.Errorf("password: bcrypt cost %d outside %d..%d",
			o.BcryptCost, bcrypt.MinCost, maxBcryptCost)
	}

	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2Params()
	}
	if err := o.Argon2.validate(); err != nil {
		return nil, fmt.Errorf("password: argon2id parameters: %w", err)
	}
	if o.Argon2.SaltLen < minNewSaltLen {
		return nil, fmt.Errorf("password: argon2id salt of %d bytes is shorter than %d",
			o.Argon2.SaltLen, minNewSaltLen)
	}

	if o.MaxInFlight == 0 {
		// GOMAXPROCS, not NumCPU: in a container with a CPU quota it is the
		// quota, and hashes beyond it would only wait, each holding its
		// memory.
		o.MaxInFlight = runtime.GOMAXPROCS(0)
	}
	if o.MaxInFlight < 0 {
		return nil, fmt.Errorf("password: max in flight %d is negative", o.MaxInFlight)
	}
	if o.MaxWait == 0 {
		o.MaxWait = defaultMaxWait
	}
	if o.MaxWait < 0 {
		return nil, fmt.Errorf("password: max wait %s is negative", o.MaxWait)
	}

	return &Hasher{
		algorithm:  o.Algorithm,
		bcryptCost: o.BcryptCost,
		argon2:     o.Argon2,
		maxWait:    o.MaxWait,
		slots:      make(chan struct{}, o.MaxInFlight),
	}, nil
}

// Algorithm returns the algorithm used for new hashes.
func (h *Hasher) Algorithm() string { return h.algorithm }

// MaxBytes returns the byte limit new passwords must respect for the
// configured algorithm, or 0 when there is none. It is meant for
// Policy.MaxBytes.
func (h *Hasher) MaxBytes() int {
	if h.algorithm == Bcrypt {
		return BcryptMaxBytes
	}
	return 0
}

// WorkingSet returns the memory, in bytes, that the hashes in flight take
// at most with the configured algorithm: every slot busy with an argon2id
// hash of the configured parameters, or nothing worth counting for bcrypt.
// Verifying a stored argon2id hash made with more memory takes more.
func (h *Hasher) WorkingSet() int64 {
	if h.algorithm != Argon2id {
		return 0
	}
	return int64(cap(h.slots)) * int64(h.argon2.Memory) << 10
}

// MaxInFlight returns how many hashes may be computed at once.
func (h *Hasher) MaxInFlight() int { return cap(h.slots) }

// InFlight returns how many hashing slots are taken right now.
func (h *Hasher) InFlight() int { return len(h.slots) }

// Hash returns an encoded hash of plain with the configured algorithm: a PHC
// string for argon2id, a $2a$ string for bcrypt.
func (h *Hasher) Hash(ctx context.Context, plain string) (string, error) {
	if h.algorithm == Bcrypt && len(plain) > BcryptMaxBytes {
		return "", ErrTooLong
	}

	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()

	return h.hash(plain)
}

// Verify reports whether plain matches encoded (an argon2id PHC string or a
// bcrypt $2a$/$2b$/$2y$ hash), and whether the hash should be replaced
// because it uses another algorithm or weaker parameters than configured.
// A malformed encoded hash gives an error wrapping ErrMalformedHash.
func (h *Hasher) Verify(ctx context.Context, encoded, plain string) (ok, rehash bool, err error) {
	// Parsing first means a broken hash never occupies a slot.
	stored, err := parse(encoded)
	if err != nil {
		return false, false, err
	}

	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()

	ok, err = stored.matches(plain)
	if err != nil || !ok {
		return false, false, err
	}
	return true, stored.outdated(h), nil
}

// VerifyDummy spends the same time as a Verify against a real hash of the
// configured algorithm and always reports false (it returns only an error,
// such as ErrBusy). Login calls it for unknown accounts so that they answer in
// the same time as known ones.
func (h *Hasher) VerifyDummy(ctx context.Context, plain string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()

	// The dummy hash is made on first use, inside a slot, so that creating a
	// Hasher stays cheap and the extra work is bounded like any other.
	h.dummyOnce.Do(func() { h.dummy, h.dummyErr = h.newDummy() })
	if h.dummyErr != nil {
		return h.dummyErr
	}
	_, err := h.dummy.matches(plain)
	return err
}

func (h *Hasher) newDummy() (storedHash, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, fmt.Errorf("password: dummy hash: %w", err)
	}
	encoded, err := h.hash(hex.EncodeToString(secret[:]))
	if err != nil {
		return nil, fmt.Errorf("password: dummy hash: %w", err)
	}
	return parse(encoded)
}

// hash computes a new hash; the caller holds a slot.
func (h *Hasher) hash(plain string) (string, error) {
	if h.algorithm == Bcrypt {
		b, err := bcrypt.GenerateFromPassword([]byte(plain), h.bcryptCost)
		if err != nil {
			return "", fmt.Errorf("password: bcrypt: %w", err)
		}
		return string(b), nil
	}
	return hashArgon2id(plain, h.argon2)
}

// acquire takes a hashing slot, waiting at most maxWait.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}

	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// storedHash is a parsed encoded hash.
type storedHash interface {
	// matches reports whether plain is the password the hash was made from.
	matches(plain string) (bool, error)
	// outdated reports whether h would hash differently, with another
	// algorithm or stronger parameters.
	outdated(h *Hasher) bool
}

// maxEncodedLen bounds the encoded hashes parse looks at; real ones are
// around 100 bytes, and anything longer is refused before any decoding.
const maxEncodedLen = 256

func parse(encoded string) (storedHash, error) {
	if len(encoded) > maxEncodedLen {
		return nil, fmt.Errorf("%w: %d bytes long", ErrMalformedHash, len(encoded))
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2id(encoded)
	case strings.HasPrefix(encoded, "$2"):
		return parseBcrypt(encoded)
	default:
		return nil, fmt.Errorf("%w: unknown algorithm", ErrMalformedHash)
	}
}
