package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// CreateUser inserts u, reporting a taken email or username by sentinel.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.insertUser, u.ID, u.Email, nullString(u.Username),
			u.PasswordHash, u.Role, u.Active, u.EmailVerified, u.TwoFactorEnabled,
			s.ts(u.CreatedAt), s.ts(u.UpdatedAt))
		if err == nil {
			return nil
		}
		v, ok := s.d.Violation(err)
		if !ok || v.Kind != Unique {
			return err
		}
		return s.userConflict(ctx, tx, v.Constraint, u, err)
	})
	return s.fail("create user", err)
}

// userConflict tells which unique constraint inserting u broke. An engine
// that names the constraint is answered from the name. One that does not
// (SQLite) keeps the transaction usable after a failed statement, so the
// colliding row is looked up inside it, where no concurrent write can
// change the answer.
func (s *Store) userConflict(
	ctx context.Context,
	tx *sql.Tx,
	constraint string,
	u store.User,
	cause error,
) error {
	switch constraint {
	case constraintUsersEmail:
		return store.ErrEmailTaken
	case constraintUsersUsername:
		return store.ErrUsernameTaken
	case "":
	default:
		return fmt.Errorf("%w: %w", store.ErrConflict, cause)
	}

	taken, err := exists(ctx, tx, s.q.emailExists, u.Email)
	if err != nil {
		return err
	}
	if taken {
		return store.ErrEmailTaken
	}
	if u.Username != "" {
		taken, err := exists(ctx, tx, s.q.usernameExists, u.Username)
		if err != nil {
			return err
		}
		if taken {
			return store.ErrUsernameTaken
		}
	}
	// Neither email nor username: the id itself was already used.
	return fmt.Errorf("%w: %w", store.ErrConflict, cause)
}

// UserByID returns the user with id, or store.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.read.QueryRowContext(ctx, s.q.userByID, id).Scan(userDest(&u)...)
	if err != nil {
		return store.User{}, s.fail("user by id", err)
	}
	return u, nil
}

// UserByEmail returns the user with the normalized email, or
// store.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	var u store.User
	err := s.read.QueryRowContext(ctx, s.q.userByEmail, email).Scan(userDest(&u)...)
	if err != nil {
		return store.User{}, s.fail("user by email", err)
	}
	return u, nil
}

// UpdatePasswordHash replaces the user's password hash, or returns
// store.ErrNotFound when there is no such user.
func (s *Store) UpdatePasswordHash(
	ctx context.Context,
	userID, hash string,
	now time.Time,
) error {
	res, err := s.write.ExecContext(ctx, s.q.updatePassword, hash, s.ts(now), userID)
	if err != nil {
		return s.fail("update password hash", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail("update password hash", err)
	}
	if n == 0 {
		return s.fail("update password hash", store.ErrNotFound)
	}
	return nil
}

// UpdateUserAccess sets the user's role and active flag and returns the
// updated user, or store.ErrNotFound.
func (s *Store) UpdateUserAccess(
	ctx context.Context,
	userID, role string,
	active bool,
	now time.Time,
) (store.User, error) {
	res, err := s.write.ExecContext(ctx, s.q.updateAccess, role, active, s.ts(now), userID)
	if err != nil {
		return store.User{}, s.fail("update user access", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.User{}, s.fail("update user access", err)
	}
	if n == 0 {
		return store.User{}, s.fail("update user access", store.ErrNotFound)
	}
	var u store.User
	err = s.write.QueryRowContext(ctx, s.q.userByID, userID).Scan(userDest(&u)...)
	if err != nil {
		return store.User{}, s.fail("update user access", err)
	}
	return u, nil
}
