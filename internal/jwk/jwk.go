// Package jwk converts public signing keys to and from JSON Web Keys
// (RFC 7517) and computes their thumbprints (RFC 7638). It knows the three
// key types Latchkey signs with: Ed25519 (EdDSA), ECDSA P-256 (ES256) and
// RSA (RS256), and only their public parts: a private member is never
// written, and one found while parsing is refused.
package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// The algorithms a key can sign with, as JWS names them.
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
	RS256 = "RS256"
)

// MinRSABits is the smallest RSA modulus accepted, for signing or
// verifying.
const MinRSABits = 2048

// maxRSABits bounds the work one hostile key can cause.
const maxRSABits = 8192

// Key is one public JSON Web Key.
type Key struct {
	KeyType   string `json:"kty"`
	ID        string `json:"kid,omitempty"`
	Use       string `json:"use,omitempty"`
	Algorithm string `json:"alg,omitempty"`
	Curve     string `json:"crv,omitempty"`
	X         string `json:"x,omitempty"`
	Y         string `json:"y,omitempty"`
	N         string `json:"n,omitempty"`
	E         string `json:"e,omitempty"`
	// D is the private member of every key type. It is never filled in;
	// it is here so that Public can refuse a key that carries it.
	D string `json:"d,omitempty"`
}

// Set is a JSON Web Key Set.
type Set struct {
	Keys []Key `json:"keys"`
}

// Algorithm returns the one algorithm pub signs with: EdDSA for Ed25519,
// ES256 for P-256 and RS256 for RSA of at least MinRSABits. Any other key
// is refused.
func Algorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", errors.New("jwk: malformed Ed25519 key")
		}
		return EdDSA, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("jwk: ECDSA curve %s is not supported, want P-256",
				k.Curve.Params().Name)
		}
		return ES256, nil
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits || bits > maxRSABits {
			return "", fmt.Errorf("jwk: RSA key of %d bits, want %d to %d", bits, MinRSABits,
				maxRSABits)
		}
		return RS256, nil
	}
	return "", fmt.Errorf("jwk: unsupported key type %T", pub)
}

// FromPublic returns the JWK of pub, labelled with kid, its algorithm and
// use "sig".
func FromPublic(pub crypto.PublicKey, kid string) (Key, error) {
	alg, err := Algorithm(pub)
	if err != nil {
		return Key{}, err
	}
	k, err := members(pub)
	if err != nil {
		return Key{}, err
	}
	k.ID, k.Algorithm, k.Use = kid, alg, "sig"
	return k, nil
}

// members returns the required members of pub's JWK, the ones a thumbprint
// covers.
func members(pub crypto.PublicKey) (Key, error) {
	enc := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return Key{KeyType: "OKP", Curve: "Ed25519", X: enc(k)}, nil
	case *ecdsa.PublicKey:
		point, err := k.Bytes()
		if err != nil {
			return Key{}, fmt.Errorf("jwk: %w", err)
		}
		// An uncompressed point is 0x04 || X || Y, each coordinate 32 bytes
		// on P-256.
		size := (len(point) - 1) / 2
		return Key{KeyType: "EC", Curve: "P-256", X: enc(point[1 : 1+size]),
			Y: enc(point[1+size:])}, nil
	case *rsa.PublicKey:
		return Key{KeyType: "RSA", N: enc(k.N.Bytes()),
			E: enc(big.NewInt(int64(k.E)).Bytes())}, nil
	}
	return Key{}, fmt.Errorf("jwk: unsupported key type %T", pub)
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url
// encoded: a key ID that is the same wherever the key is, and that no two
// keys share.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k, err := members(pub)
	if err != nil {
		return "", err
	}
	// RFC 7638 hashes the required members in lexical order, without
	// spaces; encoding/json writes struct fields in declaration order.
	var v any
	switch k.KeyType {
	case "OKP":
		v = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{k.Curve, k.KeyType, k.X}
	case "EC":
		v = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{k.Curve, k.KeyType, k.X, k.Y}
	default:
		v = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{k.E, k.KeyType, k.N}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("jwk: thumbprint: %w", err)
	}
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Public decodes the public key of k and returns it with the algorithm it
// verifies. It refuses a key with a private member, a use other than
// "sig", an alg that does not fit the key, a point off its curve, and RSA
// moduli outside the accepted sizes.
func (k Key) Public() (crypto.PublicKey, string, error) {
	if k.D != "" {
		return nil, "", errors.New("jwk: key carries a private member")
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, "", fmt.Errorf("jwk: key use %q is not sig", k.Use)
	}
	pub, err := k.decode()
	if err != nil {
		return nil, "", err
	}
	alg, err := Algorithm(pub)
	if err != nil {
		return nil, "", err
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return nil, "", fmt.Errorf("jwk: alg %q does not fit a %s key", k.Algorithm, k.KeyType)
	}
	return pub, alg, nil
}

func (k Key) decode() (crypto.PublicKey, error) {
	switch {
	case k.KeyType == "OKP" && k.Curve == "Ed25519":
		x, err := decodeMember("x", k.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jwk: Ed25519 x is not 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	case k.KeyType == "EC" && k.Curve == "P-256":
		x, err := decodeMember("x", k.X)
		if err != nil {
			return nil, err
		}
		y, err := decodeMember("y", k.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("jwk: P-256 coordinates are not 32 bytes each")
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, fmt.Errorf("jwk: %w", err)
		}
		return pub, nil
	case k.KeyType == "RSA":
		n, err := decodeMember("n", k.N)
		if err != nil {
			return nil, err
		}
		e, err := decodeMember("e", k.E)
		if err != nil {
			return nil, err
		}
		if len(e) == 0 || len(e) > 4 || e[0] == 0 || len(n) == 0 || n[0] == 0 {
			return nil, errors.New("jwk: RSA n or e is not a minimal positive integer")
		}
		exp := new(big.Int).SetBytes(e)
		if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
			return nil, errors.New("jwk: RSA exponent out of range")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	}
	return nil, fmt.Errorf("jwk: unsupported key type %q, curve %q", k.KeyType, k.Curve)
}

func decodeMember(name, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("jwk: member %s is not base64url", name)
	}
	return b, nil
}
