//go:build pprof

package profiling

import (
	"net/http"
	_ "net/http/pprof" // profiling endpoints, only in binaries built with -tags pprof
	"os"
)

// Built with -tags pprof, the binary serves /debug/pprof on PINBRIDGE_PPROF_ADDR (default
// 127.0.0.1:6060) for performance work. Release builds never contain it.
func init() {
	addr := os.Getenv("PINBRIDGE_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
