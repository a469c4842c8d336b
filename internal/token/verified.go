package token

import (
	"sync"
	"time"
)

// maxVerifiedTokens bounds the verified-token cache: at about a kilobyte
// an entry (the token itself and its claims), some ten megabytes at most.
const maxVerifiedTokens = 10_000

// verifiedTokens remembers the claims of access tokens whose signature and
// header already passed, keyed by the token's exact text.
//
// Every authenticated request presents its access token, and a client
// presents the same one until it expires. Parsing the JSON and checking
// the signature again each time is most of what authentication costs; the
// outcome cannot change, since the text is the same and the keys are fixed
// for the life of an Access. What can change is the time, so the claims
// checks that depend on it run on every hit. Only tokens that passed are
// kept: a forged or altered token is never a hit, because its text is not
// one that verified.
type verifiedTokens struct {
	mu      sync.RWMutex
	entries map[string]verifiedToken
	// swept is when a full cache was last searched for dead entries; the
	// search runs at most once a second, so that a cache full of live
	// tokens does not cost every new token a scan.
	swept time.Time
}

type verifiedToken struct {
	claims Claims
	// until is when the entry stops being useful: the token's expiry plus
	// the leeway, after which it can only be refused.
	until time.Time
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{entries: make(map[string]verifiedToken)}
}

// get returns the claims of token if it verified before.
func (v *verifiedTokens) get(token string) (Claims, bool) {
	v.mu.RLock()
	e, ok := v.entries[token]
	v.mu.RUnlock()
	return e.claims, ok
}

// put remembers that token verified with claims. When the cache is full,
// entries past their use at now are dropped first; if none is, the token is
// simply not kept.
func (v *verifiedTokens) put(token string, claims Claims, until, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= maxVerifiedTokens {
		if now.Sub(v.swept) < time.Second && !now.Before(v.swept) {
			return
		}
		v.swept = now
		for k, e := range v.entries {
			if !now.Before(e.until) {
				delete(v.entries, k)
			}
		}
		if len(v.entries) >= maxVerifiedTokens {
			return
		}
	}
	v.entries[token] = verifiedToken{claims: claims, until: until}
}
