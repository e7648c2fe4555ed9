package argon2

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// allocBlocks maps n blocks of anonymous memory outside the Go heap. A hashing worker keeps its
// 19 MiB for its whole life: on the garbage-collected heap it would count towards the heap goal,
// which then lets the heap (and the process) grow by as much again; off it, the process holds the
// blocks and little more. Blocks hold no pointers, so the collector need not see them. It falls
// back to the heap when the mapping fails.
func allocBlocks(n uint32) (blocks []block, release func()) {
	size := int(n) * int(unsafe.Sizeof(block{}))
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]block, n), func() {}
	}
	return unsafe.Slice((*block)(unsafe.Pointer(&mem[0])), n), func() { _ = unix.Munmap(mem) }
}
