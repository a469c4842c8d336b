package password

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptLen is the length of every modular-crypt bcrypt hash:
// "$2b$" + two cost digits + "$" + 22 salt and 31 hash characters.
const bcryptLen = 60

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

type bcryptHash struct {
	encoded []byte
	cost    int
}

// parseBcrypt accepts the $2a$, $2b$ and $2y$ variants, which differ only
// in bugs of old C implementations that never affected Go's. $2x$ marks
// hashes made by such a bug and is refused.
func parseBcrypt(encoded string) (*bcryptHash, error) {
	if len(encoded) != bcryptLen {
		return nil, fmt.Errorf("%w: bcrypt: length %d", ErrMalformedHash, len(encoded))
	}
	switch encoded[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return nil, fmt.Errorf("%w: bcrypt: unsupported variant", ErrMalformedHash)
	}

	d1, d2 := encoded[4], encoded[5]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' || encoded[6] != '$' {
		return nil, fmt.Errorf("%w: bcrypt: cost", ErrMalformedHash)
	}
	cost := int(d1-'0')*10 + int(d2-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return nil, fmt.Errorf("%w: bcrypt: cost %d outside %d..%d",
			ErrMalformedHash, cost, bcrypt.MinCost, maxBcryptCost)
	}

	for i := 7; i < len(encoded); i++ {
		if !strings.ContainsRune(bcryptAlphabet, rune(encoded[i])) {
			return nil, fmt.Errorf("%w: bcrypt: encoding", ErrMalformedHash)
		}
	}
	return &bcryptHash{encoded: []byte(encoded), cost: cost}, nil
}

func (b *bcryptHash) matches(plain string) (bool, error) {
	if len(plain) > BcryptMaxBytes {
		// bcrypt would compare only the first 72 bytes, so a password that
		// merely starts like the real one would pass. Refuse it, after the
		// same work as a real comparison so the answer takes as long.
		_ = bcrypt.CompareHashAndPassword(b.encoded, []byte(plain[:BcryptMaxBytes]))
		return false, nil
	}

	err := bcrypt.CompareHashAndPassword(b.encoded, []byte(plain))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
	}
}

func (b *bcryptHash) outdated(h *Hasher) bool {
	return h.algorithm != Bcrypt || b.cost < h.bcryptCost
}
