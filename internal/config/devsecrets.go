package config

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DevSecretsFile is the file in DataDir that keeps generated development
// secrets, so that tokens and TOTP enrolments survive a restart.
const DevSecretsFile = "dev-secrets.json"

// devSecrets is the file's layout; encoding/json writes the bytes as base64.
type devSecrets struct {
	AccessSecret  []byte `json:"JWT_ACCESS_SECRET,omitempty"`
	RefreshSecret []byte `json:"JWT_REFRESH_SECRET,omitempty"`
	MFAKey        []byte `json:"MFA_ENCRYPTION_KEY,omitempty"`
}

// secretSlot ties one configured secret to its place in the file.
type secretSlot struct {
	name   string
	dst    *Secret
	stored *[]byte
	exact  bool // the MFA key must be exactly 32 bytes, the others at least
}

func (s secretSlot) valid(b []byte) bool {
	if s.exact {
		return len(b) == mfaKeyLen
	}
	return len(b) >= minSecret
}

// EnsureSecrets fills the secrets left unset in development with ones kept
// in DataDir/dev-secrets.json, generating (32 random bytes each) and saving
// any the file lacks; the file is created with mode 0600. It returns one
// warning per filled secret, to be logged loudly. When nothing is missing it
// touches no file. In production Load has already refused missing secrets;
// should one be missing anyway, EnsureSecrets fails rather than invent it.
func (c *Config) EnsureSecrets() (warnings []string, err error) {
	var stored devSecrets
	slots := []secretSlot{
		{"JWT_ACCESS_SECRET", &c.AccessSecret, &stored.AccessSecret, false},
		{"JWT_REFRESH_SECRET", &c.RefreshSecret, &stored.RefreshSecret, false},
		{"MFA_ENCRYPTION_KEY", &c.MFAKey, &stored.MFAKey, true},
	}
	var missing []secretSlot
	for _, s := range slots {
		if len(*s.dst) == 0 {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if c.Production() {
		names := make([]string, len(missing))
		for i, s := range missing {
			names[i] = s.name
		}
		return nil, fmt.Errorf("config: %s not set in production", strings.Join(names, ", "))
	}

	path := filepath.Join(c.DataDir, DevSecretsFile)
	// Two processes starting at once on a fresh data directory must end up
	// with the same secrets: the loser of the create race reads the winner's
	// file and tries again.
	for attempt := 0; ; attempt++ {
		stored = devSecrets{}
		exists, loose, err := readDevSecrets(path, &stored)
		if err != nil {
			return nil, err
		}
		if loose {
			warnings = append(warnings, fmt.Sprintf(
				"%s is readable by other users; restrict it with chmod 600", path))
		}

		changed := false
		for _, s := range missing {
			if s.valid(*s.stored) {
				continue
			}
			b := make([]byte, minSecret)
			if _, err := rand.Read(b); err != nil {
				return nil, fmt.Errorf("config: generate %s: %w", s.name, err)
			}
			*s.stored = b
			changed = true
		}
		if changed {
			err := writeDevSecrets(path, &stored, exists)
			if errors.Is(err, fs.ErrExist) && attempt < 3 {
				warnings = nil
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		break
	}

	for _, s := range missing {
		*s.dst = Secret(*s.stored)
		warnings = append(warnings, fmt.Sprintf("%s is not set: using a generated "+
			"development secret from %s; never do this in production", s.name, path))
	}
	return warnings, nil
}

// readDevSecrets loads the file into into. A missing file is not an error; a
// corrupt one is, since overwriting it would silently invalidate every token
// and TOTP secret issued so far.
func readDevSecrets(path string, into *devSecrets) (exists, loose bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("config: read development secrets: %w", err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		// The decoder's message could quote file content, which is secret.
		return false, false, fmt.Errorf("config: %s is not valid JSON; "+
			"delete it to generate new development secrets", path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return false, false, fmt.Errorf("config: read development secrets: %w", err)
	}
	return true, info.Mode().Perm()&0o077 != 0, nil
}

// writeDevSecrets writes the file atomically with mode 0600. A new file is
// published with a hard link, which fails with fs.ErrExist if another
// process got there first; an existing one is replaced by rename.
func writeDevSecrets(path string, s *devSecrets, exists bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: create data directory: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("config: encode development secrets: %w", err)
	}

	tmp, err := os.CreateTemp(dir, ".dev-secrets-*.tmp") // CreateTemp uses mode 0600
	if err != nil {
		return fmt.Errorf("config: write development secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("config: write development secrets: %w", err)
	}

	if exists {
		err = os.Rename(tmp.Name(), path)
	} else if err = os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		// Some file systems have no hard links; fall back to the racy rename.
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("config: write development secrets: %w", err)
	}
	return nil
}
