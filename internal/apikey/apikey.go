// Package apikey mints and checks the format of PinBridge API keys:
//
//	pb_live_<43 base62 chars: 32 random bytes><6 base62 chars: CRC32 of everything before it>
//
// pb_live_ keys belong to production projects, pb_test_ keys to sandbox projects. The checksum lets
// a mistyped or truncated key be refused without a database lookup (as GitHub's tokens do). Only the
// SHA-256 of the whole key is stored: the key carries 256 bits of entropy, so a fast hash is right.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
)

// Prefixes by project environment.
const (
	LivePrefix = "pb_live_"
	TestPrefix = "pb_test_"
)

const (
	alphabet    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	secretChars = 43 // 62^43 > 2^256
	sumChars    = 6  // 62^6 > 2^32
	prefixLen   = len(LivePrefix)
	// Len is the length of every key.
	Len = prefixLen + secretChars + sumChars
	// displayChars of the secret are kept for display ("pb_live_AbC1").
	displayChars = 4
)

// ErrMalformed means the string is not a well-formed key (wrong prefix, length, alphabet or checksum).
var ErrMalformed = errors.New("malformed API key")

// Key is a freshly minted key.
type Key struct {
	Plaintext string // shown once, never stored
	Hash      string // hex SHA-256 of Plaintext; the lookup key
	Display   string // e.g. pb_live_AbC1, safe to show
}

// New mints a key for a production (live) or sandbox (test) project.
func New(live bool) (Key, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return Key{}, err
	}
	prefix := TestPrefix
	if live {
		prefix = LivePrefix
	}
	body := prefix + base62(new(big.Int).SetBytes(buf), secretChars)
	plain := body + checksum(body)
	return Key{Plaintext: plain, Hash: Hash(plain), Display: plain[:prefixLen+displayChars]}, nil
}

// Check reports whether s is a well-formed key, without any lookup. It returns ErrMalformed or nil,
// and whether the key is a live one.
func Check(s string) (live bool, err error) {
	if len(s) != Len {
		return false, ErrMalformed
	}
	switch s[:prefixLen] {
	case LivePrefix:
		live = true
	case TestPrefix:
	default:
		return false, ErrMalformed
	}
	for i := prefixLen; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false, ErrMalformed
		}
	}
	body := s[:len(s)-sumChars]
	if checksum(body) != s[len(s)-sumChars:] {
		return false, ErrMalformed
	}
	return live, nil
}

// Hash is the stored form of a key: hex SHA-256.
func Hash(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

func checksum(body string) string {
	return base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(body)))), sumChars)
}

// base62 encodes n in exactly width characters, left-padded with zeros.
func base62(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}
