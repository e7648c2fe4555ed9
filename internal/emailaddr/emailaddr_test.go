package emailaddr

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Jane@Example.com", "Jane@example.com"},
		{"  jane@example.com  ", "jane@example.com"},
		{"jane@BÜCHER.example", "jane@xn--bcher-kva.example"},
		{"jane@bu\u0308cher.example", "jane@xn--bcher-kva.example"}, // NFD spelling of the same domain
		{"jane+tag@sub.example.co.uk", "jane+tag@sub.example.co.uk"},
		{"\u212Aate@example.com", "Kate@example.com"}, // KELVIN SIGN folds into the K it looks like
	} {
		got, err := Canonical(c.in)
		if err != nil || got != c.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalRefusesLookalikesAndInternalHosts(t *testing.T) {
	for _, in := range []string{
		"\u0130nes@example.com", // LATIN CAPITAL I WITH DOT ABOVE
		"jos\u00e9@example.com", // any non-ASCII local part
		"x@[127.0.0.1]", "x@[IPv6:::1]", "x@127.0.0.1", "x@10.0.0.1", "x@0x7f.1",
		"x@localhost", "x@intranet", "x@example.123", "x@example.com.", "x@.example.com",
		"@example.com", "x@", "noat", "a b@example.com",
		strings.Repeat("a", 250) + "@example.com",
	} {
		if got, err := Canonical(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Canonical(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestKeyFoldsSpellingsOfOneMailbox(t *testing.T) {
	for _, pair := range [][2]string{
		{"Jane@Example.com", "jane@example.com"},
		{"\u212Aate@example.com", "kate@example.com"},
		{"jane@BÜCHER.example", "JANE@xn--bcher-kva.example"},
	} {
		if Key(pair[0]) != Key(pair[1]) {
			t.Errorf("Key(%q) = %q, Key(%q) = %q; want one key", pair[0], Key(pair[0]), pair[1], Key(pair[1]))
		}
	}
	if Key("\u212Aate@example.com") != Key("kate@example.com") {
		t.Error("a KELVIN SIGN spelling has a key of its own, want the ASCII address's")
	}
}
