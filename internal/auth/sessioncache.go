package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Every authenticated request needs its session and user. With a revocation
// feed, an instance keeps them for under a second instead of asking the
// database each time, and every write that ends a session or changes a user
// is announced on the feed so that each instance drops its copy at once.
// Without a feed (SQLite without Redis) nothing is cached.

// sessionCacheTTL bounds how long a cached session and user are used,
// counted from the start of the database read that fetched them. The feed
// makes announced changes take effect at once; the TTL is what keeps a
// revoked session refused on every instance within one second when the
// feed does not: an announcement whose publication failed, a feed that
// broke without a word and has not been noticed yet, or a change made
// outside the flows. It costs one read per session per TTL on each
// instance, however many requests the session makes.
const sessionCacheTTL = 900 * time.Millisecond

// maxCachedSessions bounds the cache's memory; past it new sessions are
// simply not cached until old entries expire.
const maxCachedSessions = 100_000

// announceTimeout bounds the publication of a revocation, which runs after
// the database write it announces has been committed.
const announceTimeout = 2 * time.Second

// Revocation names sessions that ended and users whose record changed, so
// that every instance forgets what it cached about them.
type Revocation struct {
	Sessions []string `json:"s,omitempty"`
	Users    []string `json:"u,omitempty"`
}

// RevocationFeed carries revocations between the instances that share a
// database. A message published by any instance reaches every instance
// following the feed, the publisher included.
type RevocationFeed interface {
	// Publish announces r to every instance.
	Publish(ctx context.Context, r Revocation) error
	// Follow delivers every revocation published from now on to apply, until
	// ctx ends. It calls connected(true) once delivery is established and
	// connected(false) as soon as it may have missed a message, and keeps
	// reconnecting until ctx ends.
	Follow(ctx context.Context, apply func(Revocation), connected func(bool)) error
}

// sessionCache keeps recently used sessions with their users. It trusts an
// entry only while the feed is connected, and only for sessionCacheTTL.
type sessionCache struct {
	now func() time.Time

	mu        sync.Mutex
	connected bool
	// version changes with every eviction and every change of connection,
	// so that a lookup that raced one is not stored.
	version uint64
	entries map[string]cachedSession
}

type cachedSession struct {
	su      store.SessionUser
	expires time.Time
}

func newSessionCache(now func() time.Time) *sessionCache {
	return &sessionCache{now: now, entries: make(map[string]cachedSession)}
}

// get returns the cached session with id, if it may be trusted.
func (c *sessionCache) get(id string) (store.SessionUser, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !c.connected || !c.now().Before(e.expires) {
		return store.SessionUser{}, false
	}
	return e.su, true
}

// lookup is a database read whose result may be cached.
type lookup struct {
	version uint64
	began   time.Time
}

// begin is called before a database lookup whose result may be cached; the
// lookup it returns goes to put.
func (c *sessionCache) begin() (l lookup, caching bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lookup{version: c.version, began: c.now()}, c.connected
}

// put caches su unless anything was evicted, or the feed dropped, since the
// lookup began: the row read may predate a revocation already applied. The
// entry expires sessionCacheTTL after the lookup began rather than after it
// ended, so that a slow read, whose row may predate a revocation that was
// never announced, is trusted no longer than a fast one.
func (c *sessionCache) put(su store.SessionUser, l lookup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	expires := l.began.Add(sessionCacheTTL)
	if !c.connected || c.version != l.version || !now.Before(expires) {
		return
	}
	if len(c.entries) >= maxCachedSessions {
		for id, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxCachedSessions {
			return
		}
	}
	c.entries[su.Session.ID] = cachedSession{su: su, expires: expires}
}

// touched records a new last activity for a cached session, so that the
// next requests do not write it again.
func (c *sessionCache) touched(id string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok && e.su.Session.RevokedAt.IsZero() {
		e.su.Session.LastActivity = at
		c.entries[id] = e
	}
}

// evict forgets the sessions and users r names.
func (c *sessionCache) evict(r Revocation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	for _, id := range r.Sessions {
		delete(c.entries, id)
	}
	if len(r.Users) == 0 {
		return
	}
	users := make(map[string]bool, len(r.Users))
	for _, id := range r.Users {
		users[id] = true
	}
	for id, e := range c.entries {
		if users[e.su.Session.UserID] || users[e.su.User.ID] {
			delete(c.entries, id)
		}
	}
}

// setConnected follows the feed's state. Either way everything cached so
// far is dropped: after a disconnection it may have missed revocations,
// and while disconnected nothing is cached.
func (c *sessionCache) setConnected(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected = up
	c.version++
	clear(c.entries)
}

// revocations is what a Service with a feed adds: the cache and the feed
// that keeps it honest.
type revocations struct {
	cache *sessionCache
	feed  RevocationFeed
	log   *slog.Logger
}

// newRevocations returns the session cache and its feed, or nil when d has
// no feed.
func newRevocations(d Deps) *revocations {
	if d.Revocations == nil {
		return nil
	}
	return &revocations{cache: newSessionCache(d.Now), feed: d.Revocations, log: d.Log}
}

// sessionUser returns the session with id and its user: from the cache when
// a trusted entry still passes every check, from the store otherwise. A
// cached entry that fails a check is read again rather than trusted to fail:
// its last activity may be older than the database's.
func (s *Service) sessionUser(ctx context.Context, id, subject string,
	now time.Time) (store.SessionUser, error) {
	if s.revs == nil {
		return s.store.SessionUser(ctx, id)
	}
	c := s.revs.cache
	if su, ok := c.get(id); ok && su.Session.UserID == subject &&
		s.sessionLive(su.Session, su.User, now) == nil {
		return su, nil
	}
	l, caching := c.begin()
	su, err := s.store.SessionUser(ctx, id)
	if err == nil && caching && su.Session.UserID == subject &&
		s.sessionLive(su.Session, su.User, now) == nil {
		c.put(su, l)
	}
	return su, err
}

// FollowRevocations applies the revocations every instance announces to
// this one's session cache until ctx ends. Run it in its own goroutine for
// the life of the server; without a feed it returns at once.
func (s *Service) FollowRevocations(ctx context.Context) error {
	if s.revs == nil {
		return nil
	}
	r := s.revs
	return r.feed.Follow(ctx, r.cache.evict, func(up bool) {
		r.cache.setConnected(up)
		if up {
			r.log.InfoContext(ctx, "revocation feed connected: sessions are cached")
		} else {
			r.log.WarnContext(ctx, "revocation feed interrupted: "+
				"every request reads its session from the database")
		}
	})
}

// announce makes every instance forget what it cached about the sessions
// and users rev names: this one at once, the others through the feed. It
// does nothing when sessions are not cached.
//
// Every store method that ends sessions or changes a user (revocations,
// password and access changes, email verification, two-factor changes) is
// announced by announcingStore below, so the flows need do nothing. A flow
// that ends a session or changes a user's record through a store method
// added later must either add that method to announcingStore or call
// announce after the write; otherwise other instances see the change only
// after sessionCacheTTL.
func (s *Service) announce(ctx context.Context, rev Revocation) {
	s.revs.announce(ctx, rev)
}

func (r *revocations) announce(ctx context.Context, rev Revocation) {
	if r == nil {
		return
	}
	r.cache.evict(rev)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	if err := r.feed.Publish(ctx, rev); err != nil {
		// The write is committed; instances that missed the message drop
		// their copy when it expires, within sessionCacheTTL, and any
		// instance whose feed broke has stopped caching.
		r.log.ErrorContext(ctx, "revocation not announced to other instances",
			"sessions", len(rev.Sessions), "users", len(rev.Users), "err", err)
	}
}

// announcingStore is the store as the flows see it when sessions are
// cached: each write that ends a session or changes a user announces it,
// whether or not it succeeded, since a failed call may still have
// committed and an extra announcement costs only a cache miss.
type announcingStore struct {
	store.Store
	r *revocations
}

func (a announcingStore) TouchSession(ctx context.Context, sessionID string, now time.Time) error {
	err := a.Store.TouchSession(ctx, sessionID, now)
	if err == nil {
		a.r.cache.touched(sessionID, now)
	}
	return err
}

func (a announcingStore) sessions(ctx context.Context, ids ...string) {
	a.r.announce(ctx, Revocation{Sessions: ids})
}

func (a announcingStore) users(ctx context.Context, ids ...string) {
	a.r.announce(ctx, Revocation{Users: ids})
}

func (a announcingStore) RevokeSession(ctx context.Context, userID, sessionID string,
	now time.Time) error {
	err := a.Store.RevokeSession(ctx, userID, sessionID, now)
	a.sessions(ctx, sessionID)
	return err
}

func (a announcingStore) RevokeUserSessions(ctx context.Context, userID, except string,
	now time.Time) ([]string, error) {
	ids, err := a.Store.RevokeUserSessions(ctx, userID, except, now)
	// Announcing the user also drops the session it kept, which costs that
	// session one lookup; naming each id could miss one revoked by a
	// failed call.
	a.users(ctx, userID)
	return ids, err
}

func (a announcingStore) UpdatePasswordHash(ctx context.Context, userID, hash string,
	now time.Time) error {
	err := a.Store.UpdatePasswordHash(ctx, userID, hash, now)
	a.users(ctx, userID)
	return err
}

func (a announcingStore) RehashPassword(ctx context.Context, userID, old, hash string,
	now time.Time) error {
	err := a.Store.RehashPassword(ctx, userID, old, hash, now)
	a.users(ctx, userID)
	return err
}

func (a announcingStore) UpdateUserAccess(ctx context.Context, userID, role string,
	active bool, now time.Time) (store.User, error) {
	u, err := a.Store.UpdateUserAccess(ctx, userID, role, active, now)
	a.users(ctx, userID)
	return u, err
}

func (a announcingStore) ChangeUserAccess(ctx context.Context, userID string,
	ch store.AccessChange, now time.Time) (store.User, store.User, error) {
	before, after, err := a.Store.ChangeUserAccess(ctx, userID, ch, now)
	a.users(ctx, userID)
	return before, after, err
}

func (a announcingStore) ChangePassword(ctx context.Context, userID, old, passwordHash string,
	now time.Time) (store.User, error) {
	u, err := a.Store.ChangePassword(ctx, userID, old, passwordHash, now)
	a.users(ctx, userID)
	return u, err
}

func (a announcingStore) ResetPassword(ctx context.Context, tokenHash, passwordHash string,
	now time.Time) (store.User, error) {
	u, err := a.Store.ResetPassword(ctx, tokenHash, passwordHash, now)
	if u.ID != "" {
		a.users(ctx, u.ID)
	}
	return u, err
}

func (a announcingStore) VerifyEmail(ctx context.Context, tokenHash string,
	now time.Time) (store.User, error) {
	u, err := a.Store.VerifyEmail(ctx, tokenHash, now)
	if u.ID != "" {
		a.users(ctx, u.ID)
	}
	return u, err
}

func (a announcingStore) EnableTOTP(ctx context.Context, userID string, sealed []byte,
	step int64, codeHashes []string, now time.Time) error {
	err := a.Store.EnableTOTP(ctx, userID, sealed, step, codeHashes, now)
	a.users(ctx, userID)
	return err
}

func (a announcingStore) DisableTOTP(ctx context.Context, userID string, now time.Time) error {
	err := a.Store.DisableTOTP(ctx, userID, now)
	a.users(ctx, userID)
	return err
}
