package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/mfa"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Error codes of the two-factor flows.
const (
	CodeInvalidCode       = "invalid_code"
	CodeInvalidPassword   = "invalid_password"
	CodeMFAAlreadyEnabled = "mfa_already_enabled"
	CodeMFANotEnabled     = "mfa_not_enabled"
	CodeMFASetupRequired  = "mfa_setup_required"
)

// Audit events of the two-factor flows, beside those in audit.go.
const (
	EventMFAFailed              = "mfa.failed"
	EventBackupCodesRegenerated = "mfa.backup_codes_regenerated"
)

// Methods that can prove a second factor.
const (
	MethodTOTP       = "totp"
	MethodBackupCode = "backup_code"
)

// MFATokenTTL is how long the step-up token of a login lives.
const MFATokenTTL = 5 * time.Minute

// maxMFAAttempts is how many wrong codes void a step-up token. The account
// lockout bounds wrong codes across tokens as well.
const maxMFAAttempts = 5

// defaultMFAIssuer is the name authenticator apps show for the account when
// none is configured.
const defaultMFAIssuer = "Latchkey"

// backupHashLabel separates the keyed hashes of backup codes from those of
// opaque tokens made with the same key.
const backupHashLabel = "backup code:"

var (
	errBadLoginCode = Errorf(CodeInvalidCredentials, "Invalid authentication code.")
	errMFAEnabled   = Errorf(CodeMFAAlreadyEnabled, "Two-factor authentication is already on.")
	errMFANotOn     = Errorf(CodeMFANotEnabled, "Two-factor authentication is off.")
	errMFASetup     = Errorf(CodeMFASetupRequired,
		"No two-factor setup is pending; start the setup again.")

	// errWrongFactor means a code or backup code did not prove the factor:
	// malformed, wrong, outside the time window, or already used.
	errWrongFactor = errors.New("auth: wrong second factor")
	errNoMFAKey    = errors.New("auth: no usable MFA encryption key is configured")
)

func badCode(field string) *Error {
	const msg = "The code is invalid, expired or already used."
	return &Error{Code: CodeInvalidCode, Message: msg, Fields: map[string]string{field: msg}}
}

func badPassword() *Error {
	const msg = "The password is incorrect."
	return &Error{Code: CodeInvalidPassword, Message: msg,
		Fields: map[string]string{"password": msg}}
}

// twoFactor is what the two-factor flows need beyond the rest of the
// service.
type twoFactor struct {
	sealer *mfa.Sealer // nil without a usable key; the flows then fail
	issuer string
}

func newTwoFactor(key []byte, issuer string, log *slog.Logger) twoFactor {
	tf := twoFactor{issuer: issuer}
	if tf.issuer == "" {
		tf.issuer = defaultMFAIssuer
	}
	sealer, err := mfa.NewSealer(key)
	if err != nil {
		// Logins without a second factor still work; enrolling and
		// checking TOTP codes report an internal error.
		log.Warn("two-factor authentication is unavailable", "err", err)
		return tf
	}
	tf.sealer = sealer
	return tf
}

// MFAChallenge is what a correct password yields for an account with
// two-factor authentication on, instead of a session: a step-up token,
// good once at LoginMFA, and the methods that can complete the login.
type MFAChallenge struct {
	Token     string
	ExpiresAt time.Time
	Methods   []string
}

// challenge issues the step-up token of a user who gave the right password
// and has two-factor authentication on.
func (s *Service) challenge(ctx context.Context, u store.User) (Grant, error) {
	tok, err := token.NewOpaque()
	if err != nil {
		return Grant{}, err
	}
	now := s.now()
	ot := store.OneTimeToken{
		ID:        newID(),
		UserID:    u.ID,
		Purpose:   store.PurposeMFA,
		TokenHash: s.keyed.Hash(tok),
		CreatedAt: now,
		ExpiresAt: now.Add(MFATokenTTL),
	}
	// Earlier step-up tokens stay live, so signing in on two devices at
	// once works; the account lockout, not the number of tokens, bounds
	// how many codes can be tried.
	if err := s.store.CreateOneTimeToken(ctx, ot, false); err != nil {
		return Grant{}, fmt.Errorf("create step-up token: %w", err)
	}
	return Grant{User: u, MFA: &MFAChallenge{
		Token:     tok,
		ExpiresAt: ot.ExpiresAt,
		Methods:   []string{MethodTOTP, MethodBackupCode},
	}}, nil
}

// MFALoginInput is the second step of a login: the step-up token and one
// second factor, either a TOTP code or a backup code.
type MFALoginInput struct {
	Token      string
	Code       string
	BackupCode string
}

// MFAGrant is a login completed with a second factor.
type MFAGrant struct {
	Grant
	// UsedBackupCode is set when a backup code proved the factor;
	// BackupCodesLeft is then how many unused ones the user has left.
	UsedBackupCode  bool
	BackupCodesLeft int
}

// LoginMFA completes a login that Login answered with an MFAChallenge. A
// wrong code counts against the step-up token, which dies after a few, and
// toward the account lockout like a wrong password; the lockout holds until
// a login completes, so a known password cannot reset it.
func (s *Service) LoginMFA(ctx context.Context, in MFALoginInput, c Client) (MFAGrant, error) {
	if _, err := factorField(in.Code, in.BackupCode); err != nil {
		return MFAGrant{}, err
	}
	if !token.WellFormed(in.Token) {
		return MFAGrant{}, errBadToken
	}
	hash := s.keyed.Hash(in.Token)
	ot, err := s.store.PeekOneTimeToken(ctx, store.PurposeMFA, hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return MFAGrant{}, errBadToken
	}
	if err != nil {
		return MFAGrant{}, fmt.Errorf("login mfa: %w", err)
	}
	u, err := s.store.UserByID(ctx, ot.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return MFAGrant{}, errBadToken
	}
	if err != nil {
		return MFAGrant{}, fmt.Errorf("login mfa: %w", err)
	}
	if !u.TwoFactorEnabled {
		return MFAGrant{}, errBadToken
	}
	if !u.Active {
		s.recordAttempt(ctx, &u, c, "account_disabled", "")
		return MFAGrant{}, errDisabled
	}
	if err := s.checkLock(ctx, "lock:"+u.Email); err != nil {
		return MFAGrant{}, err
	}
	// Checking a code costs no password hash, so a burst of concurrent
	// guesses could all pass the checks above before the first of them
	// failed. Each attempt is therefore counted, on the token and toward
	// the lockout, before its code is checked, and one past either limit is
	// refused unchecked.
	tries, err := s.store.FailOneTimeToken(ctx, ot.ID, maxMFAAttempts+1, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return MFAGrant{}, errBadToken
	}
	if err != nil {
		return MFAGrant{}, fmt.Errorf("login mfa: count attempt: %w", err)
	}
	if tries > maxMFAAttempts {
		return MFAGrant{}, errBadToken
	}
	fails, err := s.reserveFailure(ctx, u.Email)
	if err != nil {
		return MFAGrant{}, err
	}

	left, err := s.proveFactor(ctx, u, in.Code, in.BackupCode)
	if errors.Is(err, errWrongFactor) {
		s.recordAttempt(ctx, &u, c, "invalid_mfa_code", "")
		if err := s.lockIfReached(ctx, u.Email, fails, &u, c); err != nil {
			return MFAGrant{}, err
		}
		return MFAGrant{}, errBadLoginCode
	}
	if err != nil {
		s.releaseFailure(ctx, u.Email)
		return MFAGrant{}, err
	}

	// The factor is spent before the token: a token used by a concurrent
	// request, or one that just expired, costs the code but opens nothing.
	_, err = s.store.ConsumeOneTimeToken(ctx, store.PurposeMFA, hash, s.now())
	if err != nil {
		s.releaseFailure(ctx, u.Email)
	}
	if errors.Is(err, store.ErrNotFound) {
		return MFAGrant{}, errBadToken
	}
	if err != nil {
		return MFAGrant{}, fmt.Errorf("login mfa: %w", err)
	}
	if err := s.attempts.Reset(ctx, "fail:"+u.Email); err != nil {
		return MFAGrant{}, fmt.Errorf("login mfa: reset failures: %w", err)
	}
	usedBackup := in.BackupCode != ""
	if usedBackup {
		s.audit(ctx, EventBackupCodeUsed, u.ID, c,
			map[string]string{"remaining": strconv.Itoa(left)})
	}
	g, err := s.completeLogin(ctx, u, c)
	if err != nil {
		return MFAGrant{}, err
	}
	return MFAGrant{Grant: g, UsedBackupCode: usedBackup, BackupCodesLeft: left}, nil
}

// SetupTOTP starts enrollment: it stores a new secret for the caller,
// pending until EnableTOTP proves a code of it, and returns the secret in
// the forms an authenticator app takes. Calling it again replaces the
// pending secret; while two-factor authentication is on it is refused, so
// that a stolen access token cannot swap the factor.
func (s *Service) SetupTOTP(ctx context.Context, p Principal) (mfa.Enrollment, error) {
	if p.User.TwoFactorEnabled {
		return mfa.Enrollment{}, errMFAEnabled
	}
	sealer, err := s.sealer()
	if err != nil {
		return mfa.Enrollment{}, err
	}
	e, err := mfa.NewEnrollment(s.factors.issuer, p.User.Email)
	if err != nil {
		return mfa.Enrollment{}, err
	}
	sealed, err := sealer.Seal(p.User.ID, e.Secret)
	if err != nil {
		return mfa.Enrollment{}, err
	}
	switch err := s.store.PutPendingTOTP(ctx, p.User.ID, sealed, s.now()); {
	case errors.Is(err, store.ErrConflict):
		return mfa.Enrollment{}, errMFAEnabled
	case err != nil:
		return mfa.Enrollment{}, fmt.Errorf("setup totp: %w", err)
	}
	return e, nil
}

// EnableTOTP turns two-factor authentication on once code proves that the
// caller's authenticator holds the pending secret, and returns a fresh set
// of backup codes, which are stored only hashed and cannot be shown again.
func (s *Service) EnableTOTP(ctx context.Context, p Principal, code string,
	c Client) ([]string, error) {
	if p.User.TwoFactorEnabled {
		return nil, errMFAEnabled
	}
	if code == "" {
		return nil, Invalid("code", "A code from the authenticator app is required.")
	}
	sec, err := s.store.TOTPSecret(ctx, p.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errMFASetup
	}
	if err != nil {
		return nil, fmt.Errorf("enable totp: %w", err)
	}
	if !sec.EnabledAt.IsZero() {
		return nil, errMFAEnabled
	}
	secret, err := s.openSecret(p.User.ID, sec.Sealed)
	if err != nil {
		return nil, err
	}
	step, ok, err := mfa.Match(secret, code, s.now())
	if err != nil {
		return nil, fmt.Errorf("enable totp: %w", err)
	}
	if !ok {
		// Not counted toward the lockout: guessing a code of a secret the
		// caller has just been shown gains nothing.
		return nil, badCode("code")
	}

	codes, hashes, err := s.newBackupCodes()
	if err != nil {
		return nil, err
	}
	// The code's step becomes the last used one, so it cannot also log in.
	switch err := s.store.EnableTOTP(ctx, p.User.ID, sec.Sealed, step, hashes, s.now()); {
	case errors.Is(err, store.ErrConflict):
		return nil, errMFASetup
	case err != nil:
		return nil, fmt.Errorf("enable totp: %w", err)
	}
	s.audit(ctx, EventMFAEnabled, p.User.ID, c, nil)
	return codes, nil
}

// DisableMFAInput proves the caller may turn two-factor authentication
// off: the password and a current TOTP code or an unused backup code.
type DisableMFAInput struct {
	Password   string
	Code       string
	BackupCode string
}

// DisableTOTP turns two-factor authentication off: it removes the secret and
// the backup codes and voids pending step-up tokens. Wrong passwords and
// codes count toward the account lockout.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, in DisableMFAInput,
	c Client) error {
	if !p.User.TwoFactorEnabled {
		return errMFANotOn
	}
	field, err := factorField(in.Code, in.BackupCode)
	if err != nil {
		return err
	}
	if in.Password == "" {
		return Invalid("password", "Password is required.")
	}
	if err := s.checkLock(ctx, "lock:"+p.User.Email); err != nil {
		return err
	}
	fails, err := s.reserveFailure(ctx, p.User.Email)
	if err != nil {
		return err
	}

	ok := false
	if len(in.Password) <= 4*s.policy.MaxLength {
		ok, _, err = s.hasher.Verify(ctx, p.User.PasswordHash, in.Password)
		if err != nil {
			s.releaseFailure(ctx, p.User.Email)
			return hashErr(err)
		}
	}
	if !ok {
		return s.factorFailed(ctx, p.User, c, fails, "invalid_password", badPassword())
	}
	_, err = s.proveFactor(ctx, p.User, in.Code, in.BackupCode)
	if errors.Is(err, errWrongFactor) {
		return s.factorFailed(ctx, p.User, c, fails, "invalid_mfa_code", badCode(field))
	}
	// Proven, or not checked at all: either way no failure.
	s.releaseFailure(ctx, p.User.Email)
	if err != nil {
		return err
	}

	if err := s.store.DisableTOTP(ctx, p.User.ID, s.now()); err != nil {
		return fmt.Errorf("disable totp: %w", err)
	}
	s.audit(ctx, EventMFADisabled, p.User.ID, c, nil)
	return nil
}

// RegenerateBackupCodes replaces the caller's backup codes with a fresh
// set, voiding the old ones, once a current TOTP code proves the factor.
func (s *Service) RegenerateBackupCodes(ctx context.Context, p Principal, code string,
	c Client) ([]string, error) {
	if !p.User.TwoFactorEnabled {
		return nil, errMFANotOn
	}
	if code == "" {
		return nil, Invalid("code", "A code from the authenticator app is required.")
	}
	if err := s.checkLock(ctx, "lock:"+p.User.Email); err != nil {
		return nil, err
	}
	fails, err := s.reserveFailure(ctx, p.User.Email)
	if err != nil {
		return nil, err
	}
	err = s.proveTOTP(ctx, p.User, code)
	if errors.Is(err, errWrongFactor) {
		return nil, s.factorFailed(ctx, p.User, c, fails, "invalid_mfa_code", badCode("code"))
	}
	// Proven, or not checked at all: either way no failure.
	s.releaseFailure(ctx, p.User.Email)
	if err != nil {
		return nil, err
	}

	codes, hashes, err := s.newBackupCodes()
	if err != nil {
		return nil, err
	}
	switch err := s.store.ReplaceBackupCodes(ctx, p.User.ID, hashes, s.now()); {
	case errors.Is(err, store.ErrNotFound):
		return nil, errMFANotOn
	case err != nil:
		return nil, fmt.Errorf("regenerate backup codes: %w", err)
	}
	s.audit(ctx, EventBackupCodesRegenerated, p.User.ID, c, nil)
	return codes, nil
}

// factorField checks that exactly one second factor was sent and names its
// field.
func factorField(code, backupCode string) (string, error) {
	switch {
	case code == "" && backupCode == "":
		return "", Invalid("code", "A code or a backup code is required.")
	case code != "" && backupCode != "":
		return "", Invalid("code", "Send a code or a backup code, not both.")
	case code != "":
		return "code", nil
	}
	return "backupCode", nil
}

// proveFactor checks a TOTP code or, when backupCode is set, uses a backup
// code, and returns how many backup codes remain in the second case. It
// returns errWrongFactor when the factor is not proven.
func (s *Service) proveFactor(ctx context.Context, u store.User,
	code, backupCode string) (int, error) {
	if backupCode == "" {
		return 0, s.proveTOTP(ctx, u, code)
	}
	canonical, ok := mfa.CanonicalBackupCode(backupCode)
	if !ok {
		return 0, errWrongFactor
	}
	left, err := s.store.UseBackupCode(ctx, u.ID, s.backupHash(canonical), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return 0, errWrongFactor
	}
	if err != nil {
		return 0, fmt.Errorf("use backup code: %w", err)
	}
	return left, nil
}

// proveTOTP checks a code of the user's enabled secret and spends its time
// step, so that the same code, or an older one, is refused from then on
// even when requests race.
func (s *Service) proveTOTP(ctx context.Context, u store.User, code string) error {
	if !mfa.WellFormedCode(code) {
		return errWrongFactor
	}
	sec, err := s.store.TOTPSecret(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errWrongFactor
	}
	if err != nil {
		return fmt.Errorf("totp secret: %w", err)
	}
	if sec.EnabledAt.IsZero() {
		return errWrongFactor
	}
	secret, err := s.openSecret(u.ID, sec.Sealed)
	if err != nil {
		return err
	}
	step, ok, err := mfa.Match(secret, code, s.now())
	if err != nil {
		return fmt.Errorf("match totp code: %w", err)
	}
	if !ok {
		return errWrongFactor
	}
	// The store's compare-and-set, not a check of sec.LastStep here, decides:
	// two requests with one code may both have read the old step.
	switch err := s.store.UseTOTPStep(ctx, u.ID, step); {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		return errWrongFactor
	case err != nil:
		return fmt.Errorf("use totp step: %w", err)
	}
	return nil
}

// factorFailed audits a wrong password or code given to change a second
// factor, already counted toward the account lockout as the fails-th
// failure by reserveFailure, so that a stolen access token cannot be used
// to guess codes at leisure, nor in a burst. It returns the lock error when
// this failure locked the account, refusal otherwise.
func (s *Service) factorFailed(ctx context.Context, u store.User, c Client, fails int64,
	reason string, refusal error) error {
	s.audit(ctx, EventMFAFailed, u.ID, c, map[string]string{"reason": reason})
	if err := s.lockIfReached(ctx, u.Email, fails, &u, c); err != nil {
		return err
	}
	return refusal
}

func (s *Service) sealer() (*mfa.Sealer, error) {
	if s.factors.sealer == nil {
		return nil, errNoMFAKey
	}
	return s.factors.sealer, nil
}

func (s *Service) openSecret(userID string, sealed []byte) (string, error) {
	sealer, err := s.sealer()
	if err != nil {
		return "", err
	}
	secret, err := sealer.Open(userID, sealed)
	if err != nil {
		return "", fmt.Errorf("open totp secret of user %s: %w", userID, err)
	}
	return secret, nil
}

// newBackupCodes returns a fresh set of backup codes and their keyed
// hashes, the only form that is stored.
func (s *Service) newBackupCodes() (codes, hashes []string, err error) {
	codes, err = mfa.NewBackupCodes(mfa.BackupCodeCount)
	if err != nil {
		return nil, nil, err
	}
	hashes = make([]string, len(codes))
	for i, code := range codes {
		canonical, ok := mfa.CanonicalBackupCode(code)
		if !ok {
			return nil, nil, fmt.Errorf("new backup code %d is not canonical", i)
		}
		hashes[i] = s.backupHash(canonical)
	}
	return codes, hashes, nil
}

func (s *Service) backupHash(canonical string) string {
	return s.keyed.Hash(backupHashLabel + canonical)
}
