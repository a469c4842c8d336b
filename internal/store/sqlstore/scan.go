package sqlstore

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// timeDest scans a timestamp column, whether native or Unix microseconds,
// into a UTC time; NULL becomes the zero time.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = v.UTC()
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

// The dest functions return the scan destinations for the matching column
// lists in queries.go, so that joined rows are scanned by concatenation.

func userDest(u *store.User) []any {
	return []any{&u.ID, &u.Email, &u.Username, &u.PasswordHash, &u.Role,
		&u.Active, &u.EmailVerified, &u.TwoFactorEnabled,
		timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}}
}

func sessionDest(s *store.Session) []any {
	return []any{&s.ID, &s.UserID, &s.IPAddress, &s.UserAgent, timeDest{&s.CreatedAt},
		timeDest{&s.LastActivity}, timeDest{&s.ExpiresAt}, timeDest{&s.RevokedAt}}
}

func tokenDest(t *store.RefreshToken) []any {
	return []any{&t.ID, &t.SessionID, &t.UserID, &t.TokenHash, timeDest{&t.CreatedAt},
		timeDest{&t.ExpiresAt}, timeDest{&t.RotatedAt}, timeDest{&t.RevokedAt}}
}

func loginDest(a *store.LoginAttempt) []any {
	return []any{&a.ID, &a.UserID, &a.IPAddress, &a.UserAgent, &a.Success, &a.Reason,
		timeDest{&a.CreatedAt}}
}

func concat(lists ...[]any) []any {
	var all []any
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}
