// Package testenv reads what the tests are given to run on: the PostgreSQL they may use. It imports
// nothing of the service, so the store's own tests can use it as well as internal/testdb.
package testenv

import (
	"os"
	"testing"
)

// PostgresURL is TEST_DATABASE_URL. Without it the test is skipped, or fails when
// PINBRIDGE_REQUIRE_POSTGRES=1 (CI), so that a missing database never passes for a tested one.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("PINBRIDGE_REQUIRE_POSTGRES") == "1" {
			t.Fatal("PostgreSQL is required (PINBRIDGE_REQUIRE_POSTGRES=1) but TEST_DATABASE_URL is not set")
		}
		t.Skip("PostgreSQL not available: set TEST_DATABASE_URL to run this test on it")
	}
	return base
}
