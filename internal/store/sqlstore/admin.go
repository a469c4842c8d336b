package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// likeEscaper escapes the wildcards of LIKE (with ESCAPE '\') so that a
// search matches its text literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchUsers returns at most q.Limit users matching q, ordered by id; an
// empty, non-nil slice when there are none or the limit is not positive.
func (s *Store) SearchUsers(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	users := []store.User{}
	if q.Limit <= 0 {
		return users, nil
	}
	var rows *sql.Rows
	var err error
	if q.Search == "" {
		rows, err = s.read.QueryContext(ctx, s.ops.usersAll, q.AfterID, q.Limit)
	} else {
		// Emails and usernames are stored in lower case.
		pattern := "%" + likeEscaper.Replace(strings.ToLower(q.Search)) + "%"
		rows, err = s.read.QueryContext(ctx, s.ops.usersSearch, q.AfterID, pattern, pattern,
			q.Search, q.Limit)
	}
	if err != nil {
		return nil, s.fail("search users", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u store.User
		if err := rows.Scan(userDest(&u)...); err != nil {
			return nil, s.fail("search users", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("search users", err)
	}
	return users, nil
}

// ChangeUserAccess applies ch to the user in one transaction, refusing with
// store.ErrLastAdmin to leave no active admin. A change that alters nothing
// writes nothing.
func (s *Store) ChangeUserAccess(
	ctx context.Context,
	userID string,
	ch store.AccessChange,
	now time.Time,
) (before, after store.User, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.ops.lockForAccess, userID, store.RoleAdmin); err != nil {
			return err
		}
		row := tx.QueryRowContext(ctx, s.q.userByID, userID)
		if err := row.Scan(userDest(&before)...); err != nil {
			return err
		}
		after = before
		if ch.Role != nil {
			after.Role = *ch.Role
		}
		if ch.Active != nil {
			after.Active = *ch.Active
		}
		if after.Role == before.Role && after.Active == before.Active {
			return nil
		}

		if activeAdmin(before) && !activeAdmin(after) {
			var others int
			err := tx.QueryRowContext(ctx, s.ops.otherAdmins, store.RoleAdmin, userID).Scan(&others)
			if err != nil {
				return err
			}
			if others == 0 {
				return store.ErrLastAdmin
			}
		}

		after.UpdatedAt = now
		_, err := tx.ExecContext(ctx, s.q.updateAccess, after.Role, after.Active, s.ts(now), userID)
		return err
	})
	if err != nil {
		return store.User{}, store.User{}, s.fail("change user access", err)
	}
	return before, after, nil
}

func activeAdmin(u store.User) bool {
	return u.Active && u.Role == store.RoleAdmin
}
