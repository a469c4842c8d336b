package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/internal/jwk"
)

// The asymmetric algorithms a KeySet signs with.
const (
	EdDSA = jwk.EdDSA
	ES256 = jwk.ES256
	RS256 = jwk.RS256
)

// rsaGenerateBits is the size of RSA keys GenerateKey makes.
const rsaGenerateBits = 3072

// maxKeyFile bounds what LoadKeySet reads from one file.
const maxKeyFile = 64 << 10

// Key is one asymmetric key of a KeySet.
type Key struct {
	// ID is the kid: the key's RFC 7638 thumbprint.
	ID string
	// Algorithm is the one algorithm the key signs and verifies with:
	// EdDSA, ES256 or RS256.
	Algorithm string
	// File is the base name of the file the key came from.
	File string
	// Active reports whether the key signs new tokens. Exactly one key of a
	// set is active; the others only verify.
	Active bool
	// CanSign reports whether the private part is known. A key given by
	// its public part alone verifies but never signs.
	CanSign bool

	public  crypto.PublicKey
	private crypto.Signer
	method  jwt.SigningMethod
}

// KeySet is Latchkey's own set of signing keys: the newest signs, the others
// stay published and keep verifying, so that tokens signed before a rotation
// remain valid until they expire. It is immutable and safe for concurrent
// use.
type KeySet struct {
	keys   []*Key // in file name order
	active *Key
	byID   map[string]*Key
	jwks   []byte
}

// LoadKeySet reads every *.pem file in dir. Each holds one private key
// (PKCS #8, SEC 1 or PKCS #1) or one public key (PKIX): Ed25519, ECDSA
// P-256, or RSA of at least 2048 bits. The private key whose file name sorts
// last is the active one; GenerateKeyFile names files by creation time so
// that this is the newest. A public key alone is published and verifies, but
// never signs: that is how a key is announced before it becomes active, or
// kept after its private part was destroyed.
func LoadKeySet(dir string) (*KeySet, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("token: keys: %w", err)
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("token: keys: %w", err)
		}
		return nil, fmt.Errorf("token: keys: no *.pem files in %s", dir)
	}
	slices.Sort(paths)

	var keys []*Key
	for _, p := range paths {
		raw, err := readKeyFile(p)
		if err != nil {
			return nil, err
		}
		k, err := ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("token: keys: %s: %w", filepath.Base(p), err)
		}
		k.File = filepath.Base(p)
		keys = append(keys, k)
	}
	return newKeySet(keys)
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token: keys: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("token: keys: %s: %w", filepath.Base(path), err)
	}
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("token: keys: %s is larger than %d KiB", filepath.Base(path),
			maxKeyFile>>10)
	}
	return raw, nil
}

// ParseKeySet reads a set from PEM blocks given in rotation order, oldest
// first, as in one environment variable: each block is one key, as a file
// of LoadKeySet holds, and the last private key signs. Keys are named by
// source and their position, counting from 1, since they have no file.
func ParseKeySet(pemBlocks []byte, source string) (*KeySet, error) {
	if len(pemBlocks) > maxKeyFile {
		return nil, fmt.Errorf("token: keys: %s is larger than %d KiB", source, maxKeyFile>>10)
	}
	var keys []*Key
	rest := pemBlocks
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			break
		}
		if before := strings.TrimSpace(string(rest[:len(rest)-len(next)])); !strings.HasPrefix(
			before, "-----BEGIN ") {
			return nil, fmt.Errorf("token: keys: %s: text before key %d", source, len(keys)+1)
		}
		name := fmt.Sprintf("%s#%d", source, len(keys)+1)
		k, err := ParseKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("token: keys: %s: %w", name, err)
		}
		k.File = name
		keys = append(keys, k)
		rest = next
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("token: keys: %s: text after the last PEM block", source)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("token: keys: no PEM block in %s", source)
	}
	return newKeySet(keys)
}

// NewKeySet builds a set from keys in rotation order, oldest first. It is
// LoadKeySet without the files, for keys kept elsewhere.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	copies := make([]*Key, len(keys))
	for i, k := range keys {
		c := *k
		copies[i] = &c
	}
	return newKeySet(copies)
}

// newKeySet merges the two halves of a key given twice (its public part
// announced early, its private part later) and picks the active key.
func newKeySet(keys []*Key) (*KeySet, error) {
	ks := &KeySet{byID: make(map[string]*Key)}
	for _, k := range keys {
		k.Active = false
		prev, dup := ks.byID[k.ID]
		switch {
		case !dup:
			ks.byID[k.ID] = k
			ks.keys = append(ks.keys, k)
		case prev.CanSign && k.CanSign:
			return nil, fmt.Errorf("token: keys: %s and %s hold the same key", prev.File, k.File)
		case k.CanSign:
			// The private half takes the place of the announcement, so the
			// rotation order is that of the key's private file.
			ks.keys = slices.DeleteFunc(ks.keys, func(o *Key) bool { return o == prev })
			ks.byID[k.ID] = k
			ks.keys = append(ks.keys, k)
		}
	}
	for _, k := range slices.Backward(ks.keys) {
		if k.CanSign {
			ks.active = k
			break
		}
	}
	if ks.active == nil {
		return nil, errors.New("token: keys: no private key to sign with")
	}
	ks.active.Active = true

	var set jwk.Set
	set.Keys = append(set.Keys, mustJWK(ks.active))
	for _, k := range slices.Backward(ks.keys) {
		if k != ks.active {
			set.Keys = append(set.Keys, mustJWK(k))
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: keys: %w", err)
	}
	ks.jwks = doc
	return ks, nil
}

// mustJWK converts a key that ParseKey already accepted, so it cannot fail.
func mustJWK(k *Key) jwk.Key {
	j, err := jwk.FromPublic(k.public, k.ID)
	if err != nil {
		panic(fmt.Sprintf("token: key %s accepted but not encodable: %v", k.ID, err))
	}
	return j
}

// Active returns the key that signs new tokens.
func (ks *KeySet) Active() Key { return *ks.active }

// Keys returns every key, the active one first, then the others from newest
// to oldest.
func (ks *KeySet) Keys() []Key {
	out := []Key{*ks.active}
	for _, k := range slices.Backward(ks.keys) {
		if k != ks.active {
			out = append(out, *k)
		}
	}
	return out
}

// JWKS returns the public keys as a JSON Web Key Set, the active key first.
// It holds no private member.
func (ks *KeySet) JWKS() []byte { return slices.Clone(ks.jwks) }

// ParseKey reads one PEM-encoded key, private or public.
func ParseKey(pemBytes []byte) (*Key, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if extra, _ := pem.Decode(rest); extra != nil {
		return nil, errors.New("more than one PEM block")
	}
	if len(block.Headers) > 0 {
		return nil, errors.New("encrypted PEM keys are not supported")
	}

	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a key", block.Type)
	}
	if err != nil {
		return nil, err
	}

	k := &Key{}
	switch v := parsed.(type) {
	case ed25519.PrivateKey:
		k.private, k.public = v, v.Public()
	case *ecdsa.PrivateKey:
		k.private, k.public = v, v.Public()
	case *rsa.PrivateKey:
		k.private, k.public = v, v.Public()
	case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		k.public = v
	default:
		return nil, fmt.Errorf("unsupported key type %T", parsed)
	}
	return completeKey(k)
}

// completeKey fills in the algorithm, method and ID from the public key.
func completeKey(k *Key) (*Key, error) {
	alg, err := jwk.Algorithm(k.public)
	if err != nil {
		return nil, err
	}
	kid, err := jwk.Thumbprint(k.public)
	if err != nil {
		return nil, err
	}
	k.Algorithm, k.ID, k.CanSign = alg, kid, k.private != nil
	k.method = jwt.GetSigningMethod(alg)
	return k, nil
}

// GenerateKey makes a new private key for alg (EdDSA, ES256 or RS256) and
// returns it with its PKCS #8 PEM encoding.
func GenerateKey(alg string) (*Key, []byte, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaGenerateBits)
	default:
		return nil, nil, fmt.Errorf("token: unsupported algorithm %q, want %s, %s or %s", alg,
			EdDSA, ES256, RS256)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("token: encode %s key: %w", alg, err)
	}
	k, err := completeKey(&Key{private: priv, public: priv.Public()})
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicPEM returns the public part of k, PKIX in PEM: the file that
// announces a key before its private part is installed.
func (k Key) PublicPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		return nil, fmt.Errorf("token: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// keySigner signs with the active key of a set and verifies with whichever
// key of the set a token's kid names.
type keySigner struct {
	set  *KeySet
	algs []string
}

func newKeySigner(set *KeySet) *keySigner {
	var algs []string
	for _, k := range set.keys {
		if !slices.Contains(algs, k.Algorithm) {
			algs = append(algs, k.Algorithm)
		}
	}
	return &keySigner{set: set, algs: algs}
}

func (s *keySigner) method() jwt.SigningMethod { return s.set.active.method }

func (s *keySigner) signingKey() any { return s.set.active.private }

func (s *keySigner) keyID() string { return s.set.active.ID }

func (s *keySigner) algorithms() []string { return s.algs }

// verificationKey looks the kid up in our own set only. Headers that name a
// key elsewhere (jku, x5u, jwk, x5c) were refused before this is called;
// a kid we do not hold, or an alg other than the one its key signs with,
// is refused here.
func (s *keySigner) verificationKey(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, fmt.Errorf("%w: no kid header", ErrInvalid)
	}
	k, ok := s.set.byID[kid]
	if !ok {
		return nil, fmt.Errorf("%w: unknown key", ErrInvalid)
	}
	if t.Method != k.method {
		return nil, fmt.Errorf("%w: alg %v does not match the key's %s", ErrInvalid,
			t.Header["alg"], k.Algorithm)
	}
	return k.public, nil
}

// foreignKeyHeaders are JWS header parameters that point at or embed a key
// (RFC 7515 §4.1), plus crit, which names extensions we would have to
// understand. Tokens we issue carry none of them, so a token that does is
// refused outright rather than having them ignored.
var foreignKeyHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit"}

func checkHeader(h map[string]any) error {
	for _, name := range foreignKeyHeaders {
		if _, ok := h[name]; ok {
			return fmt.Errorf("%w: %s header", ErrInvalid, name)
		}
	}
	return nil
}

// String names the key without any key material.
func (k Key) String() string {
	return fmt.Sprintf("%s %s (%s)", k.Algorithm, k.ID, k.File)
}

// GoString is String, so that %#v does not print the private key either.
func (k Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer with the key's public description.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }
