// Package testdb gives tests an isolated, migrated store on every engine: SQLite in a temporary file
// always, and PostgreSQL (a fresh schema per test) when TEST_DATABASE_URL names a server.
// With PINBRIDGE_REQUIRE_POSTGRES=1 a missing PostgreSQL fails the test instead of skipping it.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/testenv"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Engine is one database engine a test runs on.
type Engine struct {
	Name string
	open func(t testing.TB) (*store.Store, string)
}

// Engines lists sqlite, then postgres.
func Engines() []Engine {
	return []Engine{{Name: "sqlite", open: openSQLite}, {Name: "postgres", open: openPostgres}}
}

// ForLoad is the engine to put a load test on: PostgreSQL when TEST_DATABASE_URL names one (its
// connections work in parallel, as production's do), else SQLite, whose one connection queues every
// statement (and, under the race detector, slows each many times over).
func ForLoad() Engine {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return Engines()[1]
	}
	return Engines()[0]
}

// Each runs fn as a subtest on every engine with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st, _ := e.Open(t)
			fn(t, st)
		})
	}
}

// EachWithSQL is Each with a plain SQL connection to the same database (OpenSQL) beside the store.
func EachWithSQL(t *testing.T, fn func(t *testing.T, st *store.Store, db *SQL)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st, u := e.Open(t)
			fn(t, st, OpenSQL(t, u))
		})
	}
}

// Open returns a migrated store and its URL, closed and dropped when the test ends. A test on
// postgres without TEST_DATABASE_URL is skipped, or fails when PostgreSQL is required.
func (e Engine) Open(t testing.TB) (*store.Store, string) {
	t.Helper()
	st, u := e.open(t)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", e.Name, err)
	}
	return st, u
}

func openSQLite(t testing.TB) (*store.Store, string) {
	t.Helper()
	u := "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	st, err := open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, u
}

func openPostgres(t testing.TB) (*store.Store, string) {
	t.Helper()
	base := testenv.PostgresURL(t)
	ctx := context.Background()
	admin, err := open(ctx, base, store.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	schema := "t_" + hex.EncodeToString(buf)
	if err := admin.DB().Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_ = admin.DB().Exec("DROP SCHEMA " + schema + " CASCADE").Error
		_ = admin.Close()
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	st, err := open(ctx, pu.String(), store.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("open postgres schema: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, pu.String()
}

// OpenURL opens another store on the database at rawURL (as another instance of the service
// would, with its own pool and memory), closed when the test ends; an error fails the test.
func OpenURL(t testing.TB, rawURL string, opts store.Options) *store.Store {
	t.Helper()
	st, err := open(t.Context(), rawURL, opts)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// open parses rawURL as the service does (config.ParseDatabaseURL) and opens it.
func open(ctx context.Context, rawURL string, opts store.Options) (*store.Store, error) {
	u, err := config.ParseDatabaseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	return store.Open(ctx, u, opts)
}

// QueryCounter counts SELECTs per table on one store.
type QueryCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Count returns how many SELECTs touched table so far.
func (q *QueryCounter) Count(table string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.counts[table]
}

// Total returns how many SELECTs ran so far, on any table.
func (q *QueryCounter) Total() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, c := range q.counts {
		n += c
	}
	return n
}

// CountQueries starts counting st's SELECTs per table: those made through GORM (its callbacks) and
// those the store makes past it (Store.OnQuery). Call it before anything else uses st: neither
// list of listeners may change while queries run.
func CountQueries(t testing.TB, st *store.Store) *QueryCounter {
	t.Helper()
	q := &QueryCounter{counts: map[string]int{}}
	count := func(db *gorm.DB) {
		q.mu.Lock()
		q.counts[db.Statement.Table]++
		q.mu.Unlock()
	}
	err := st.DB().Callback().Query().Before("gorm:query").Register("testdb:count", count)
	if err == nil {
		err = st.DB().Callback().Row().Before("gorm:row").Register("testdb:count", count)
	}
	if err != nil {
		t.Fatalf("count queries: %v", err)
	}
	st.OnQuery(func(table string) {
		q.mu.Lock()
		q.counts[table]++
		q.mu.Unlock()
	})
	return q
}
