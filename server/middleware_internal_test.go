package server

import (
	"testing"

	"github.com/google/uuid"
)

// TestNewRequestIDIsRandomUUIDv4: every made request id is a canonical version 4 UUID that the
// request id check accepts, and none repeats.
func TestNewRequestIDIsRandomUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 20000 {
		id := newRequestID()
		u, err := uuid.Parse(id)
		if err != nil || u.String() != id || u.Version() != 4 || u.Variant() != uuid.RFC4122 || !validRequestID(id) {
			t.Fatalf("request id %q: %v, version %d, variant %v", id, err, u.Version(), u.Variant())
		}
		if seen[id] {
			t.Fatalf("request id %q made twice", id)
		}
		seen[id] = true
	}
}
