package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/token"
)

type keysCmd struct {
	Generate keysGenerateCmd `cmd:"" help:"Write a new signing key; it signs from the next start."`
	List     keysListCmd     `cmd:"" help:"List the signing keys of a directory."`
}

type keysGenerateCmd struct {
	Alg string `default:"EdDSA" enum:"EdDSA,ES256,RS256" help:"EdDSA, ES256 or RS256."`
	Dir string `required:"" env:"JWT_KEYS_DIR" help:"Key directory."`
	// Announce publishes a key before it signs (see docs/signing-keys.md).
	Announce bool `help:"Write *.pub.pem and a not yet loaded *.pem.pending, to sign later."`
}

type keysListCmd struct {
	Dir string `required:"" env:"JWT_KEYS_DIR" help:"Key directory."`
}

// keyFileName names a key by its creation time, so that the newest key's
// file sorts last, which is what makes it the active one.
func keyFileName(k *token.Key, now time.Time) string {
	return fmt.Sprintf("%s-%s-%s", now.UTC().Format("20060102T150405Z"),
		strings.ToLower(k.Algorithm), k.ID[:8])
}

func (c *keysGenerateCmd) Run(g *globals) error {
	return c.run(os.Stdout, time.Now())
}

func (c *keysGenerateCmd) run(out io.Writer, now time.Time) error {
	k, priv, err := token.GenerateKey(c.Alg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("key directory: %w", err)
	}
	base := filepath.Join(c.Dir, keyFileName(k, now))

	if !c.Announce {
		if err := writeNew(base+".pem", priv); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s: %s key %s\n", base+".pem", k.Algorithm, k.ID)
		fmt.Fprintln(out, "It signs new access tokens from the next start of the server.")
		fmt.Fprintln(out, "Keep the older keys in the directory until ACCESS_TOKEN_EXPIRY has "+
			"passed after every instance restarted: they verify the tokens they signed.")
		return nil
	}

	pub, err := k.PublicPEM()
	if err != nil {
		return err
	}
	if err := writeNew(base+".pub.pem", pub); err != nil {
		return err
	}
	if err := writeNew(base+".pem.pending", priv); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s: the public part of %s key %s\n", base+".pub.pem", k.Algorithm,
		k.ID)
	fmt.Fprintf(out, "wrote %s: its private key, not yet loaded\n", base+".pem.pending")
	fmt.Fprintln(out, "Restart every instance: the key is published and verifies. Then rename")
	fmt.Fprintf(out, "the .pem.pending file to %s and restart again: it signs.\n",
		filepath.Base(base)+".pem")
	return nil
}

// writeNew writes a file that must not exist yet, readable by its owner
// only.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	return nil
}

func (c *keysListCmd) Run(g *globals) error {
	return c.run(os.Stdout)
}

func (c *keysListCmd) run(out io.Writer) error {
	ks, err := token.LoadKeySet(c.Dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tALG\tKID\tFILE")
	for _, k := range ks.Keys() {
		status := "verifies"
		switch {
		case k.Active:
			status = "signs"
		case !k.CanSign:
			status = "verifies (public key only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", status, k.Algorithm, k.ID, k.File)
	}
	return tw.Flush()
}

// newAccess builds access token issuance: with the keys of JWT_KEYS_DIR or
// JWT_KEYS when one is set, else with the HS256 secret.
func newAccess(cfg *config.Config, log *slog.Logger) (*token.Access, error) {
	opts := token.AccessOptions{
		Secret:   cfg.AccessSecret,
		Issuer:   cfg.Issuer,
		Audience: cfg.Audience,
		TTL:      cfg.AccessTTL,
	}
	var ks *token.KeySet
	var err error
	switch {
	case cfg.JWTKeysDir != "":
		ks, err = token.LoadKeySet(cfg.JWTKeysDir)
		if err != nil {
			return nil, &configError{fmt.Errorf("JWT_KEYS_DIR=%s: %w", cfg.JWTKeysDir, err)}
		}
	case len(cfg.JWTKeys) > 0:
		// The error names keys by position only: the variable holds
		// private keys and is never echoed.
		ks, err = token.ParseKeySet(cfg.JWTKeys, "JWT_KEYS")
		if err != nil {
			return nil, &configError{err}
		}
	}
	if ks != nil {
		opts.Keys = ks
		log.Info("access tokens signed with an asymmetric key", "key", ks.Active(),
			"keys", len(ks.Keys()))
	}
	return token.NewAccess(opts)
}
