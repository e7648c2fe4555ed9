// Package profiling serves /debug/pprof in binaries built with -tags pprof, on PINBRIDGE_PPROF_ADDR
// (default 127.0.0.1:6060), for performance work. Without the tag it is empty: release builds never
// contain the endpoints. The binary imports it for its side effect.
package profiling
