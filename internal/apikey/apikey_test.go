package apikey

import (
	"strings"
	"testing"
)

func TestNewAndCheck(t *testing.T) {
	seen := map[string]bool{}
	for _, live := range []bool{true, false} {
		for range 200 {
			k, err := New(live)
			if err != nil {
				t.Fatal(err)
			}
			if len(k.Plaintext) != Len {
				t.Fatalf("len(%q) = %d, want %d", k.Plaintext, len(k.Plaintext), Len)
			}
			want := TestPrefix
			if live {
				want = LivePrefix
			}
			if !strings.HasPrefix(k.Plaintext, want) || !strings.HasPrefix(k.Plaintext, k.Display) || len(k.Display) != 12 {
				t.Errorf("key %q display %q, want prefix %s and a 12-char display prefix", k.Plaintext, k.Display, want)
			}
			gotLive, err := Check(k.Plaintext)
			if err != nil || gotLive != live {
				t.Errorf("Check(%q) = %v, %v; want %v, nil", k.Plaintext, gotLive, err, live)
			}
			if k.Hash != Hash(k.Plaintext) || len(k.Hash) != 64 || strings.Contains(k.Hash, k.Plaintext[8:]) {
				t.Errorf("hash %q is not the hex SHA-256 of the key", k.Hash)
			}
			if seen[k.Plaintext] {
				t.Fatal("duplicate key")
			}
			seen[k.Plaintext] = true
		}
	}
}

// TestEverySingleCharacterChangeIsRefused: flipping any one character of a key makes Check refuse
// it, so such a key never reaches the database.
func TestEverySingleCharacterChangeIsRefused(t *testing.T) {
	k, err := New(true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(k.Plaintext) {
		for _, c := range []byte(alphabet + "_-") {
			if c == k.Plaintext[i] {
				continue
			}
			mutated := k.Plaintext[:i] + string(c) + k.Plaintext[i+1:]
			if live, err := Check(mutated); err == nil {
				// A prefix change from live to test is the only other valid spelling, and its checksum
				// differs, so it must fail too.
				t.Fatalf("Check accepted %q (live=%v), one character off %q", mutated, live, k.Plaintext)
			}
		}
	}
}

func TestCheckRefusesShapes(t *testing.T) {
	k, _ := New(false)
	for name, s := range map[string]string{
		"empty":      "",
		"prefix":     "pb_live_",
		"truncated":  k.Plaintext[:Len-1],
		"extended":   k.Plaintext + "A",
		"other":      "sk_live_" + k.Plaintext[8:],
		"jwt-ish":    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
		"non-base62": k.Plaintext[:20] + "!" + k.Plaintext[21:],
	} {
		if _, err := Check(s); err != ErrMalformed {
			t.Errorf("%s: Check = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzCheck: no input makes Check panic; whatever it accepts has the exact shape of a key.
func FuzzCheck(f *testing.F) {
	k, _ := New(true)
	t2, _ := New(false)
	for _, s := range []string{k.Plaintext, t2.Plaintext, "", "pb_live_", k.Plaintext[:Len-1], k.Plaintext + "0", "pb_live_" + strings.Repeat("0", 49), strings.Repeat("\xff", Len)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		live, err := Check(s)
		if err != nil {
			return
		}
		if len(s) != Len || (live && !strings.HasPrefix(s, LivePrefix)) || (!live && !strings.HasPrefix(s, TestPrefix)) {
			t.Fatalf("Check accepted %q (live=%v)", s, live)
		}
		if checksum(s[:Len-sumChars]) != s[Len-sumChars:] {
			t.Fatalf("Check accepted %q with a wrong checksum", s)
		}
	})
}
