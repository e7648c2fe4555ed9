package server_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

// TestTypeScriptClient type-checks the TypeScript client generated from openapi.yaml (tsc) and runs
// scripts/js/client-smoke.ts with it against a live server.
func TestTypeScriptClient(t *testing.T) {
	if os.Getenv("PINBRIDGE_BROWSER_TESTS") != "1" {
		t.Skip("node tests off: set PINBRIDGE_BROWSER_TESTS=1 (needs node and scripts/js/node_modules)")
	}
	dir := jsDir()
	tsc := exec.Command("node_modules/.bin/tsc", "-p", "tsconfig.json")
	tsc.Dir = dir
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
	st, _ := testdb.Engines()[0].Open(t)
	e := newEnv(t, st, testConfig(t), fastHash)
	run := exec.Command("node", ".build/scripts/js/client-smoke.js")
	run.Dir = dir
	run.Env = append(os.Environ(), "BASE_URL="+e.url)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("TypeScript client against the server: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
