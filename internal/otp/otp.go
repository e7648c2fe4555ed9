// Package otp mints the single-use tokens of emailed links: 32 bytes from crypto/rand, URL-safe
// base64 (43 characters). Only their SHA-256 is stored.
package otp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// New returns a fresh token and the hash to store.
func New() (token, hash string, err error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("mint token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(buf)
	return token, Hash(token), nil
}

// Hash is the stored form of a token: hex SHA-256.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
