// Package password hashes and verifies passwords with argon2id, stored in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key), and runs that work through a bounded FIFO pool.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/pinbridge/pinbridge-auth/internal/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id baseline: 19 MiB, 2 passes, 1 lane.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed means a stored hash is not an argon2id PHC string this package can read.
var ErrMalformed = errors.New("malformed password hash")

var b64 = base64.RawStdEncoding

// Hash derives a PHC string for password with fresh random salt.
func Hash(password string, p Params) (string, error) {
	return hash(nil, password, p)
}

// workspace is a hashing worker's argon2 memory, reused for hashes of up to max KiB. Larger ones (an
// old hash made with more memory) get fresh memory, so a worker never keeps more than max.
type workspace struct {
	mem argon2.Memory
	max uint32
}

func (w *workspace) memory(p Params) *argon2.Memory {
	if w == nil || p.Memory > w.max {
		return nil
	}
	return &w.mem
}

func hash(w *workspace, password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKeyWith(w.memory(p), []byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded, comparing in constant time, and
// returns the parameters encoded was made with (so callers can re-hash when they are outdated).
// ErrMalformed when encoded cannot be parsed.
func Verify(password, encoded string) (bool, Params, error) {
	return verify(nil, password, encoded)
}

func verify(w *workspace, password, encoded string) (bool, Params, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, Params{}, err
	}
	got := argon2.IDKeyWith(w.memory(p), []byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, p, nil
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformed
	}
	if p.Memory == 0 || p.Memory > 1<<21 || p.Time == 0 || p.Time > 64 || p.Threads == 0 {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
