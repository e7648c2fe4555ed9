package password

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var cheap = Params{Memory: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=256,t=1,p=1$") {
		t.Errorf("hash = %q, want PHC argon2id with the given parameters", h)
	}
	h2, _ := Hash("correct horse", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal; salt is not random")
	}
	ok, p, err := Verify("correct horse", h)
	if err != nil || !ok || p != cheap {
		t.Errorf("Verify(right) = %v, %+v, %v; want true, %+v, nil", ok, p, err, cheap)
	}
	if ok, _, _ := Verify("correct horsf", h); ok {
		t.Error("Verify(wrong) = true")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, _ := Hash("pw", cheap)
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":        "",
		"bcrypt":       "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":      strings.Replace(good, "argon2id", "argon2i", 1),
		"version":      strings.Replace(good, "v=19", "v=16", 1),
		"params":       strings.Join([]string{"", parts[1], parts[2], "m=x,t=1,p=1", parts[4], parts[5]}, "$"),
		"huge memory":  strings.Join([]string{"", parts[1], parts[2], "m=99999999,t=1,p=1", parts[4], parts[5]}, "$"),
		"bad salt":     strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short key":    strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra fields": good + "$x",
	} {
		if _, _, err := Verify("pw", enc); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error = %v, want ErrMalformed", name, err)
		}
	}
}

func TestOWASPParameters(t *testing.T) {
	if OWASP.Memory != 19456 || OWASP.Time != 2 || OWASP.Threads != 1 {
		t.Errorf("OWASP = %+v, want m=19456 t=2 p=1", OWASP)
	}
}

func TestPoolVerifyAndRehash(t *testing.T) {
	p, err := NewPool(cheap, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	h, err := p.Hash(ctx, "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := p.Verify(ctx, "pw-123456", h); !ok || rehash || err != nil {
		t.Errorf("Verify = %v %v %v, want true false nil", ok, rehash, err)
	}
	old, _ := Hash("pw-123456", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if ok, rehash, err := p.Verify(ctx, "pw-123456", old); !ok || !rehash || err != nil {
		t.Errorf("Verify(old params) = %v %v %v, want true true nil", ok, rehash, err)
	}
	if err := p.VerifyDummy(ctx, "anything"); err != nil {
		t.Errorf("VerifyDummy: %v", err)
	}
	// A hash made with more memory than the pool's is verified in fresh memory, correctly.
	bigger, _ := Hash("pw-123456", Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if ok, rehash, err := p.Verify(ctx, "pw-123456", bigger); !ok || !rehash || err != nil {
		t.Errorf("Verify(more memory) = %v %v %v, want true true nil", ok, rehash, err)
	}
	if ok, _, _ := p.Verify(ctx, "pw-654321", h); ok {
		t.Error("Verify accepted a wrong password")
	}
}

// TestPoolReusesWorkingMemory: hashing on the pool allocates no argon2 working memory per request
// (each worker keeps its own), while a hash off the pool allocates all of it.
func TestPoolReusesWorkingMemory(t *testing.T) {
	params := Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var (
		p   *Pool
		err error
	)
	// NewPool makes its dummy hash outside the heap too.
	if started := allocated(func() { p, err = NewPool(params, 1, 8) }); started > 256*1024 {
		t.Errorf("NewPool allocated %d bytes on the heap; want no working memory", started)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	h, err := p.Hash(ctx, "warm up the worker") // the worker grows its memory here, once
	if err != nil {
		t.Fatal(err)
	}
	pooled := allocated(func() {
		for range 4 {
			if _, err := p.Hash(ctx, "pw-123456"); err != nil {
				t.Fatal(err)
			}
			if ok, _, err := p.Verify(ctx, "warm up the worker", h); !ok || err != nil {
				t.Fatalf("Verify = %v, %v", ok, err)
			}
		}
	})
	single := allocated(func() { _, _ = Hash("pw-123456", params) })
	if single < uint64(params.Memory)*1024 {
		t.Fatalf("a hash off the pool allocated %d bytes; the measurement is broken", single)
	}
	if pooled > 256*1024 {
		t.Errorf("8 hashes on the pool allocated %d bytes; want no working memory (one off the pool: %d)", pooled, single)
	}
}

// TestPoolRefusesWhenSaturated: with the worker busy and the queue full, the next request is
// refused at once with ErrBusy instead of waiting.
func TestPoolRefusesWhenSaturated(t *testing.T) {
	p, err := NewPool(cheap, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	busy, err := p.submit(ctx, func(*workspace) { close(started); <-release })
	if err != nil {
		t.Fatal(err)
	}
	<-started // the worker holds the first job; the queue is empty
	queued, err := p.submit(ctx, func(*workspace) {})
	if err != nil {
		t.Fatalf("queueing one job behind a busy worker: %v", err)
	}
	if p.Waiting() != 1 {
		t.Errorf("Waiting = %d, want 1", p.Waiting())
	}
	if _, err := p.Hash(ctx, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash while saturated: %v, want ErrBusy", err)
	}
	close(release)
	if err := p.wait(ctx, busy); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Hash(ctx, "pw"); err != nil {
		t.Errorf("Hash after release: %v", err)
	}
}

func TestPoolHonoursContext(t *testing.T) {
	p, err := NewPool(cheap, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := p.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash with an expired context: %v, want DeadlineExceeded", err)
	}
}

func BenchmarkHashOWASP(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", OWASP); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoolHash measures the pool's throughput with one worker per CPU, each hash submitted
// from its own goroutine as requests are.
func BenchmarkPoolHash(b *testing.B) {
	p, err := NewPool(OWASP, 0, 1024)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Hash(context.Background(), "correct horse battery staple"); err != nil {
				b.Error(err)
			}
		}
	})
}

func TestCommonPasswords(t *testing.T) {
	if n := blocklistSize(); n < 100_000 {
		t.Fatalf("blocklist has %d entries, want at least 100,000", n)
	}
	for _, pw := range []string{"password123", "PASSWORD123", "iloveyou1", "qwertyuiop", "123456789"} {
		if !Common(pw) {
			t.Errorf("Common(%q) = false, want true", pw)
		}
	}
	for _, pw := range []string{"a perfectly fine password", "Tr0ub4dor&3-but-longer", "zq8!Lw#2mVx"} {
		if Common(pw) {
			t.Errorf("Common(%q) = true, want false", pw)
		}
	}
}

// TestEveryBlocklistEntryIsFound: every entry, the first and the last included, is one line in
// sorted order and is found in any letter case; a string between two neighbours, or before the
// first or after the last, is not.
func TestEveryBlocklistEntryIsFound(t *testing.T) {
	if !strings.HasSuffix(blocklist, "\n") {
		t.Fatal("the blocklist's last line does not end in a newline")
	}
	entries := strings.Split(strings.TrimSuffix(blocklist, "\n"), "\n")
	if len(entries) != 197_583 || blocklistSize() != len(entries) {
		t.Fatalf("%d lines, blocklistSize %d; the documentation (here and in README) says 197,583", len(entries), blocklistSize())
	}
	prev := ""
	for i, e := range entries {
		if e == "" || e <= prev {
			t.Fatalf("entry %d = %q after %q", i, e, prev)
		}
		if !Common(strings.ToUpper(e)) {
			t.Fatalf("entry %d (%q) is not found", i, e)
		}
		// e + "\x00" sorts after e and before the next entry, and is none.
		if listed(blocklist, e+"\x00") || listed(blocklist, prev+"\x00") {
			t.Fatalf("a string next to entry %d (%q) is found", i, e)
		}
		prev = e
	}
	for _, p := range []string{"", "\x00", entries[0][:len(entries[0])-1], "\xff\xff"} {
		if listed(blocklist, p) {
			t.Errorf("listed(%q) = true", p)
		}
	}
}

// TestListedOnSmallLists: the search on lists of 0 to 5 lines finds exactly their lines.
func TestListedOnSmallLists(t *testing.T) {
	all := []string{"b", "d", "dd", "f", "h"}
	for n := 0; n <= len(all); n++ {
		list := ""
		for _, e := range all[:n] {
			list += e + "\n"
		}
		for _, p := range []string{"", "a", "b", "c", "d", "da", "dd", "de", "f", "g", "h", "i"} {
			want := slices.Contains(all[:n], p)
			if got := listed(list, p); got != want {
				t.Errorf("listed(%q, %q) = %v, want %v", list, p, got, want)
			}
		}
	}
}
