package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an argon2id hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2Params returns the OWASP recommendation: 19 MiB, two passes,
// one thread, a 16-byte salt and a 32-byte key.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on argon2id parameters. A stored hash decides how much memory and
// time its verification takes, so a hostile or corrupted one must not be
// able to demand gigabytes or minutes. The memory cap still admits hashes
// made with libsodium's "moderate" setting.
const (
	maxArgon2Memory  = 256 * 1024
	maxArgon2Time    = 16
	maxArgon2Threads = 16
	minSaltLen       = 8
	minNewSaltLen    = 16
	maxSaltLen       = 64
	minKeyLen        = 16
	maxKeyLen        = 64
)

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("time %d outside 1..%d", p.Time, maxArgon2Time)
	case p.Threads < 1 || p.Threads > maxArgon2Threads:
		return fmt.Errorf("threads %d outside 1..%d", p.Threads, maxArgon2Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("memory %d KiB outside %d..%d", p.Memory, 8*uint32(p.Threads),
			maxArgon2Memory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// weakerThan reports whether any cost parameter of p is below want's.
// Parallelism is left out: it changes how the work is spread, not how much
// an attacker must do.
func (p Argon2Params) weakerThan(want Argon2Params) bool {
	return p.Memory < want.Memory || p.Time < want.Time ||
		p.SaltLen < want.SaltLen || p.KeyLen < want.KeyLen
}

type argon2idHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

func hashArgon2id(plain string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(plain), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// parseArgon2id reads a PHC string such as
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, refusing anything outside
// the bounds above before any memory is spent on it.
func parseArgon2id(encoded string) (*argon2idHash, error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != Argon2id {
		return nil, fmt.Errorf("%w: argon2id: want 5 fields", ErrMalformedHash)
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("%w: argon2id: unsupported version", ErrMalformedHash)
	}

	var p Argon2Params
	if err := parseArgon2Params(fields[3], &p); err != nil {
		return nil, fmt.Errorf("%w: argon2id: %w", ErrMalformedHash, err)
	}

	// Base64 never decodes to more bytes than it has characters, and the
	// whole string is already capped, so these allocations are small.
	salt, err := base64.RawStdEncoding.DecodeString(fields[4])
	if err != nil {
		return nil, fmt.Errorf("%w: argon2id: salt encoding", ErrMalformedHash)
	}
	key, err := base64.RawStdEncoding.DecodeString(fields[5])
	if err != nil {
		return nil, fmt.Errorf("%w: argon2id: key encoding", ErrMalformedHash)
	}
	p.SaltLen = uint32(len(salt))
	p.KeyLen = uint32(len(key))

	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%w: argon2id: %w", ErrMalformedHash, err)
	}
	return &argon2idHash{params: p, salt: salt, key: key}, nil
}

var errArgon2Params = errors.New("want m=<KiB>,t=<passes>,p=<threads>")

func parseArgon2Params(s string, p *Argon2Params) error {
	m, rest, ok := strings.Cut(s, ",")
	if !ok {
		return errArgon2Params
	}
	t, pp, ok := strings.Cut(rest, ",")
	if !ok {
		return errArgon2Params
	}

	memory, err := parseParam(m, "m=", 32)
	if err != nil {
		return err
	}
	passes, err := parseParam(t, "t=", 32)
	if err != nil {
		return err
	}
	threads, err := parseParam(pp, "p=", 8)
	if err != nil {
		return err
	}
	p.Memory, p.Time, p.Threads = uint32(memory), uint32(passes), uint8(threads)
	return nil
}

func parseParam(s, prefix string, bits int) (uint64, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || len(digits) > 10 {
		return 0, errArgon2Params
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errArgon2Params
		}
	}
	n, err := strconv.ParseUint(digits, 10, bits)
	if err != nil {
		return 0, errArgon2Params
	}
	return n, nil
}

func (a *argon2idHash) matches(plain string) (bool, error) {
	p := a.params
	key := argon2.IDKey([]byte(plain), a.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(key, a.key) == 1, nil
}

func (a *argon2idHash) outdated(h *Hasher) bool {
	return h.algorithm != Argon2id || a.params.weakerThan(h.argon2)
}
