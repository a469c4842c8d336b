package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// testMFA checks TOTP secrets and backup codes.
func testMFA(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"a pending secret is stored, replaced and enabled once", testTOTPEnrollment},
		{"enabling needs the secret that is pending", testTOTPEnableConflict},
		{"each time step is used once and never an earlier one", testTOTPSteps},
		{"of concurrent uses of one step exactly one succeeds", testTOTPStepRace},
		{"a backup code is used once", testBackupCodes},
		{"of concurrent uses of one backup code exactly one succeeds", testBackupCodeRace},
		{"replacing backup codes voids the old ones", testReplaceBackupCodes},
		{"disabling removes every factor and voids step-up tokens", testDisableTOTP},
		{"deleting a user deletes their factors", testMFACascade},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, s)
		})
	}
}

// codeHashes returns n distinct made-up backup code hashes.
func codeHashes(t *testing.T, n int) []string {
	t.Helper()
	prefix := newID(t)
	hashes := make([]string, n)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("code-%s-%d", prefix, i)
	}
	return hashes
}

// enableTOTP gives u an enabled secret whose last used step is step, with
// backup codes hashes.
func enableTOTP(t *testing.T, s store.Store, u store.User, step int64, hashes []string) []byte {
	t.Helper()
	sealed := []byte("sealed-" + u.ID)
	if err := s.PutPendingTOTP(t.Context(), u.ID, sealed, base); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	if err := s.EnableTOTP(t.Context(), u.ID, sealed, step, hashes, base); err != nil {
		t.Fatalf("EnableTOTP: %v", err)
	}
	return sealed
}

func testTOTPEnrollment(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	if _, err := s.TOTPSecret(t.Context(), u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTPSecret before setup: error = %v, want ErrNotFound", err)
	}

	first := []byte{0, 1, 2, 0xff, 'a'}
	if err := s.PutPendingTOTP(t.Context(), u.ID, first, base); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	second := []byte("second sealed secret")
	later := base.Add(time.Minute)
	if err := s.PutPendingTOTP(t.Context(), u.ID, second, later); err != nil {
		t.Fatalf("PutPendingTOTP again: %v", err)
	}
	got, err := s.TOTPSecret(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("TOTPSecret: %v", err)
	}
	checkEqual(t, "pending secret", got,
		store.TOTPSecret{UserID: u.ID, Sealed: second, CreatedAt: later})

	enabled := later.Add(time.Minute)
	err = s.EnableTOTP(t.Context(), u.ID, second, 1234, codeHashes(t, 10), enabled)
	if err != nil {
		t.Fatalf("EnableTOTP: %v", err)
	}
	got, err = s.TOTPSecret(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("TOTPSecret: %v", err)
	}
	checkEqual(t, "enabled secret", got, store.TOTPSecret{UserID: u.ID, Sealed: second,
		CreatedAt: later, EnabledAt: enabled, LastStep: 1234})
	user, err := s.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if !user.TwoFactorEnabled || !user.UpdatedAt.Equal(enabled) {
		t.Errorf("user after enabling: TwoFactorEnabled %v, UpdatedAt %v; want true, %v",
			user.TwoFactorEnabled, user.UpdatedAt, enabled)
	}

	err = s.PutPendingTOTP(t.Context(), u.ID, []byte("intruder"), enabled)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutPendingTOTP over an enabled secret: error = %v, want ErrConflict", err)
	}
	err = s.EnableTOTP(t.Context(), u.ID, second, 9999, codeHashes(t, 10), enabled)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("EnableTOTP twice: error = %v, want ErrConflict", err)
	}
	if got, _ := s.TOTPSecret(t.Context(), u.ID); string(got.Sealed) != string(second) ||
		got.LastStep != 1234 {
		t.Errorf("refused writes changed the secret: %+v", got)
	}

	err = s.PutPendingTOTP(t.Context(), newID(t), first, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutPendingTOTP for an unknown user: error = %v, want ErrNotFound", err)
	}
}

func testTOTPEnableConflict(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	if err := s.PutPendingTOTP(t.Context(), u.ID, []byte("old"), base); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	if err := s.PutPendingTOTP(t.Context(), u.ID, []byte("new"), base); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	hashes := codeHashes(t, 10)
	err := s.EnableTOTP(t.Context(), u.ID, []byte("old"), 1, hashes, base)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("EnableTOTP with a replaced secret: error = %v, want ErrConflict", err)
	}
	user, err := s.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if user.TwoFactorEnabled {
		t.Error("a refused EnableTOTP turned two-factor authentication on")
	}
	_, err = s.UseBackupCode(t.Context(), u.ID, hashes[0], base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused EnableTOTP stored backup codes (UseBackupCode error = %v)", err)
	}

	err = s.EnableTOTP(t.Context(), newID(t), []byte("new"), 1, nil, base)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("EnableTOTP for a user without a secret: error = %v, want ErrConflict", err)
	}
}

func testTOTPSteps(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	err := s.UseTOTPStep(t.Context(), u.ID, 100)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UseTOTPStep without a secret: error = %v, want ErrNotFound", err)
	}
	if err := s.PutPendingTOTP(t.Context(), u.ID, []byte("pending"), base); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	err = s.UseTOTPStep(t.Context(), u.ID, 100)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UseTOTPStep with a pending secret: error = %v, want ErrNotFound", err)
	}

	sealed := []byte("pending")
	if err := s.EnableTOTP(t.Context(), u.ID, sealed, 100, nil, base); err != nil {
		t.Fatalf("EnableTOTP: %v", err)
	}
	steps := []struct {
		step int64
		want error
	}{
		{100, store.ErrConflict}, // the step used to enable
		{99, store.ErrConflict},
		{101, nil},
		{101, store.ErrConflict},
		{100, store.ErrConflict},
		{103, nil},
		{102, store.ErrConflict},
	}
	for _, st := range steps {
		err := s.UseTOTPStep(t.Context(), u.ID, st.step)
		if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Errorf("UseTOTPStep(%d) error = %v, want %v", st.step, err, st.want)
		}
	}
	got, err := s.TOTPSecret(t.Context(), u.ID)
	if err != nil || got.LastStep != 103 {
		t.Errorf("LastStep = %d (%v), want 103", got.LastStep, err)
	}
}

func testTOTPStepRace(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	enableTOTP(t, s, u, 10, nil)

	const n = 20
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			switch err := s.UseTOTPStep(t.Context(), u.ID, 11); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("UseTOTPStep: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("%d successes and %d conflicts, want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
}

func testBackupCodes(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	other := makeUser(t, s)
	hashes := codeHashes(t, 10)
	enableTOTP(t, s, u, 1, hashes)
	enableTOTP(t, s, other, 1, codeHashes(t, 10))

	_, err := s.UseBackupCode(t.Context(), other.ID, hashes[0], base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another user's code: error = %v, want ErrNotFound", err)
	}
	for i, h := range hashes[:3] {
		left, err := s.UseBackupCode(t.Context(), u.ID, h, base)
		if err != nil || left != 9-i {
			t.Errorf("UseBackupCode #%d = %d, %v; want %d, nil", i+1, left, err, 9-i)
		}
	}
	_, err = s.UseBackupCode(t.Context(), u.ID, hashes[0], base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a used code again: error = %v, want ErrNotFound", err)
	}
	_, err = s.UseBackupCode(t.Context(), u.ID, "no-such-code", base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown code: error = %v, want ErrNotFound", err)
	}
	used := countSQL(t, s,
		`SELECT COUNT(*) FROM backup_codes WHERE user_id = ? AND used_at IS NOT NULL`, u.ID)
	if used != 3 {
		t.Errorf("used codes = %d, want 3", used)
	}
}

func testBackupCodeRace(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	hashes := codeHashes(t, 10)
	enableTOTP(t, s, u, 1, hashes)

	const n = 20
	var wins, misses atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			switch left, err := s.UseBackupCode(t.Context(), u.ID, hashes[4], base); {
			case err == nil:
				wins.Add(1)
				if left != 9 {
					t.Errorf("remaining after the winning use = %d, want 9", left)
				}
			case errors.Is(err, store.ErrNotFound):
				misses.Add(1)
			default:
				t.Errorf("UseBackupCode: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || misses.Load() != n-1 {
		t.Errorf("%d successes and %d refusals, want 1 and %d", wins.Load(), misses.Load(), n-1)
	}
}

func testReplaceBackupCodes(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	old := codeHashes(t, 10)
	enableTOTP(t, s, u, 1, old)
	if _, err := s.UseBackupCode(t.Context(), u.ID, old[0], base); err != nil {
		t.Fatalf("UseBackupCode: %v", err)
	}

	fresh := codeHashes(t, 10)
	if err := s.ReplaceBackupCodes(t.Context(), u.ID, fresh, base); err != nil {
		t.Fatalf("ReplaceBackupCodes: %v", err)
	}
	_, err := s.UseBackupCode(t.Context(), u.ID, old[1], base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an old code after replacement: error = %v, want ErrNotFound", err)
	}
	left, err := s.UseBackupCode(t.Context(), u.ID, fresh[0], base)
	if err != nil || left != 9 {
		t.Errorf("a new code = %d, %v; want 9 remaining", left, err)
	}

	without := makeUser(t, s)
	err = s.ReplaceBackupCodes(t.Context(), without.ID, fresh, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceBackupCodes without an enabled secret: error = %v, want ErrNotFound",
			err)
	}
}

func testDisableTOTP(t *testing.T, s store.Store) {
	u := makeUser(t, s)
	hashes := codeHashes(t, 10)
	enableTOTP(t, s, u, 1, hashes)
	step := makeOneTime(t, s, u, store.PurposeMFA, false)
	reset := makeOneTime(t, s, u, store.PurposeResetPassword, false)

	later := base.Add(time.Hour / 2)
	if err := s.DisableTOTP(t.Context(), u.ID, later); err != nil {
		t.Fatalf("DisableTOTP: %v", err)
	}
	user, err := s.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if user.TwoFactorEnabled || !user.UpdatedAt.Equal(later) {
		t.Errorf("user after disabling: TwoFactorEnabled %v, UpdatedAt %v; want false, %v",
			user.TwoFactorEnabled, user.UpdatedAt, later)
	}
	if _, err := s.TOTPSecret(t.Context(), u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TOTPSecret after disabling: error = %v, want ErrNotFound", err)
	}
	if n := countSQL(t, s, `SELECT COUNT(*) FROM backup_codes WHERE user_id = ?`, u.ID); n != 0 {
		t.Errorf("backup codes after disabling = %d, want 0", n)
	}
	soon := later.Add(time.Second)
	_, err = s.PeekOneTimeToken(t.Context(), step.Purpose, step.TokenHash, soon)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("step-up token after disabling: error = %v, want ErrNotFound", err)
	}
	if _, err := s.PeekOneTimeToken(t.Context(), reset.Purpose, reset.TokenHash, soon); err != nil {
		t.Errorf("a reset token was voided by disabling: %v", err)
	}

	if err := s.DisableTOTP(t.Context(), newID(t), later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DisableTOTP for an unknown user: error = %v, want ErrNotFound", err)
	}
}

func testMFACascade(t *testing.T, s store.Store) {
	doomed := makeUser(t, s)
	kept := makeUser(t, s)
	for _, u := range []store.User{doomed, kept} {
		enableTOTP(t, s, u, 1, codeHashes(t, 10))
	}

	execSQL(t, s, `DELETE FROM users WHERE id = ?`, doomed.ID)

	for _, table := range []string{"totp_secrets", "backup_codes"} {
		want := map[string]int{doomed.ID: 0, kept.ID: 10}
		if table == "totp_secrets" {
			want[kept.ID] = 1
		}
		for userID, n := range want {
			got := countSQL(t, s, `SELECT COUNT(*) FROM `+table+` WHERE user_id = ?`, userID)
			if got != n {
				t.Errorf("%s rows of user %s = %d, want %d", table, userID, got, n)
			}
		}
	}
}
