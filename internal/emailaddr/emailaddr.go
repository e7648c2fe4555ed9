// Package emailaddr gives every mailbox one canonical written form, so that lookalike spellings of
// an address can neither take another person's account nor receive its mail: a KELVIN SIGN folds
// into the K it looks like (NFC), a domain is kept in its ASCII form, and a local part that is not
// ASCII after that (a dotted capital I, whose lower case is an ASCII i) is refused.
package emailaddr

import (
	"errors"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// ErrInvalid is the error of Canonical for an address it refuses; the reason is in its text.
var ErrInvalid = errors.New("invalid email address")

type invalid string

func (e invalid) Error() string        { return string(e) }
func (e invalid) Is(target error) bool { return target == ErrInvalid }

// maxLength is RFC 5321's limit on a forward path, and what the users table holds.
const maxLength = 254

// Canonical returns the form of an address that is stored and mailed: trimmed, NFC, the domain in
// its ASCII (IDNA, lower-case) form; the local part keeps its letter case (Key folds it). It refuses,
// with an error wrapping ErrInvalid: a local part with other than printable ASCII (where case
// folding makes lookalikes of ASCII letters), a domain that is an IP literal, a bare number, has no
// dot or a numeric top-level label, and anything longer than 254 characters.
func Canonical(s string) (string, error) {
	s = norm.NFC.String(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", invalid("must be an address such as name@example.com")
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c >= 0x7f {
			return "", invalid("the part before @ may use only ASCII letters, digits and punctuation")
		}
	}
	if strings.HasPrefix(domain, "[") {
		return "", invalid("the domain must be a name, not an IP address")
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", invalid("the domain is not a valid host name")
	}
	if _, err := netip.ParseAddr(ascii); err == nil {
		return "", invalid("the domain must be a name, not an IP address")
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", invalid("the domain must have a dot, as in example.com")
	}
	for _, l := range labels {
		if l == "" {
			return "", invalid("the domain is not a valid host name")
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "", invalid("the domain must end in a name, such as .com")
	}
	out := local + "@" + ascii
	if len(out) > maxLength {
		return "", invalid("must be at most 254 characters")
	}
	return out, nil
}

// Key is the form uniqueness and lookups use: the canonical form, case-folded. Two spellings of one
// mailbox have one Key. For an address Canonical refuses it returns the trimmed, lower-cased input,
// which matches no stored account.
func Key(s string) string {
	c, err := Canonical(s)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(s))
	}
	return strings.ToLower(c)
}
