package argon2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// TestIDKeyWithMatchesUpstream derives keys in one reused Memory, with memory sizes that grow and
// shrink (so reused blocks hold an earlier hash's data), and compares each with upstream's IDKey.
func TestIDKeyWithMatchesUpstream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m Memory
	for i, memory := range []uint32{64, 256, 64, 1024, 8, 19 * 1024, 512, 19 * 1024} {
		password := make([]byte, rng.IntN(64))
		salt := make([]byte, 8+rng.IntN(24))
		for j := range password {
			password[j] = byte(rng.Uint32())
		}
		for j := range salt {
			salt[j] = byte(rng.Uint32())
		}
		time, threads, keyLen := uint32(1+rng.IntN(3)), uint8(1+rng.IntN(4)), uint32(16+rng.IntN(48))
		t.Run(fmt.Sprintf("%d_m%d_t%d_p%d", i, memory, time, threads), func(t *testing.T) {
			got := IDKeyWith(&m, password, salt, time, memory, threads, keyLen)
			want := upstream.IDKey(password, salt, time, memory, threads, keyLen)
			if !bytes.Equal(got, want) {
				t.Fatalf("IDKeyWith = %x, upstream IDKey = %x", got, want)
			}
		})
	}
}

// TestIDKeyWithReusesMemory: once grown, a Memory serves equal or smaller sizes without allocating
// working memory again, where upstream allocates all of it on every call.
func TestIDKeyWithReusesMemory(t *testing.T) {
	const memory = 4096 // KiB: 4 MiB of blocks per hash
	var m Memory
	IDKeyWith(&m, []byte("password"), []byte("somesalt"), 1, memory, 1, 32)
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	reused := allocated(func() { IDKeyWith(&m, []byte("password"), []byte("somesalt"), 1, memory, 1, 32) })
	smaller := allocated(func() { IDKeyWith(&m, []byte("password"), []byte("somesalt"), 1, memory/2, 1, 32) })
	fresh := allocated(func() { upstream.IDKey([]byte("password"), []byte("somesalt"), 1, memory, 1, 32) })
	if fresh < memory*1024 {
		t.Fatalf("upstream allocated %d bytes; the measurement is broken", fresh)
	}
	if reused > 64*1024 || smaller > 64*1024 {
		t.Fatalf("a warm Memory allocated %d and %d bytes per hash; want no working memory (upstream: %d)", reused, smaller, fresh)
	}
}

// TestIDKeyWithIgnoresStaleMemory: memory full of an earlier hash's blocks gives the same keys as
// fresh memory, for every lane count (lanes reference each other's blocks).
func TestIDKeyWithIgnoresStaleMemory(t *testing.T) {
	var m Memory
	IDKeyWith(&m, []byte("an earlier password"), []byte("an earlier salt"), 3, 4096, 4, 32)
	for threads := uint8(1); threads <= 4; threads++ {
		for _, time := range []uint32{1, 2} {
			got := IDKeyWith(&m, []byte("password"), []byte("somesaltsomesalt"), time, 2048, threads, 32)
			want := upstream.IDKey([]byte("password"), []byte("somesaltsomesalt"), time, 2048, threads, 32)
			if !bytes.Equal(got, want) {
				t.Errorf("t=%d p=%d on stale memory: %x, upstream %x", time, threads, got, want)
			}
		}
	}
}
