// Package secretscan verifies the reports of GitHub's secret scanning partner program: a JSON body
// signed with ECDSA P-256 over its SHA-256, the signature (base64 of ASN.1) and the id of the
// signing key in the headers Github-Public-Key-Signature and Github-Public-Key-Identifier. The
// public keys are GitHub's, in the format GitHub publishes them (its meta API, public_keys), read
// from a file: the service cannot reach the internet to fetch them.
package secretscan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ErrBadSignature is every verification failure: no signature, an unknown key, a bad signature.
var ErrBadSignature = errors.New("secret scanning report: missing or invalid signature")

// Keys are the verifying public keys by their identifier.
type Keys map[string]*ecdsa.PublicKey

// keyFile is GitHub's format: {"public_keys": [{"key_identifier": "...", "key": "-----BEGIN PUBLIC KEY-----...", "is_current": true}]}.
type keyFile struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
	} `json:"public_keys"`
}

// Load reads the keys of a file in GitHub's format. Only ECDSA P-256 keys are accepted.
func Load(path string) (Keys, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret scanning keys: %w", err)
	}
	return Parse(raw)
}

// Parse reads keys in GitHub's format.
func Parse(raw []byte) (Keys, error) {
	var f keyFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("secret scanning keys: %w", err)
	}
	keys := Keys{}
	for _, k := range f.PublicKeys {
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || k.KeyIdentifier == "" {
			return nil, fmt.Errorf("secret scanning keys: key %q is not a PEM public key", k.KeyIdentifier)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("secret scanning keys: key %q: %w", k.KeyIdentifier, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("secret scanning keys: key %q is not ECDSA P-256", k.KeyIdentifier)
		}
		keys[k.KeyIdentifier] = ec
	}
	if len(keys) == 0 {
		return nil, errors.New("secret scanning keys: the file lists no key")
	}
	return keys, nil
}

// Verify checks that signature (base64, ASN.1 DER) is keyID's signature of body. ErrBadSignature
// otherwise.
func (k Keys) Verify(body []byte, keyID, signature string) error {
	pub, ok := k[keyID]
	if !ok || signature == "" {
		return ErrBadSignature
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrBadSignature
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return ErrBadSignature
	}
	return nil
}
