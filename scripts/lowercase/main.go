// Command lowercase copies standard input to standard output with every line lower-cased by Go's
// strings.ToLower, the function the password blocklist's lookup applies to what it is asked, so that
// every entry of the list can be matched (awk's tolower leaves letters outside ASCII as they are).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		fmt.Fprintln(out, strings.ToLower(in.Text()))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "lowercase:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "lowercase:", err)
		os.Exit(1)
	}
}
