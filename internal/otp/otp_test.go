package otp

import (
	"encoding/base64"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash, err := New()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 || len(tok) != 43 {
			t.Fatalf("token %q: %d bytes (%v), want 32 URL-safe bytes", tok, len(raw), err)
		}
		if hash != Hash(tok) || len(hash) != 64 || hash == tok {
			t.Fatalf("hash %q is not the SHA-256 of the token", hash)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
}
