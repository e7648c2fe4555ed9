package server

import "testing"

// TestLimitSubjectCountsIPv6By64: one host commonly holds a whole /64; counted per address, it
// would have unlimited sources.
func TestLimitSubjectCountsIPv6By64(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":             "203.0.113.7",
		"2001:db8:1:2:aaaa::1":    "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"::ffff:203.0.113.7":      "::ffff:203.0.113.7",
		"not an address":          "not an address",
	} {
		if got := limitSubject(in); got != want {
			t.Errorf("limitSubject(%q) = %q, want %q", in, got, want)
		}
	}
}
