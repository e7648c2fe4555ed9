package testdb

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite"  // database/sql driver "sqlite"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// SQL is a plain database/sql connection to a test's database, apart from the store, for tests
// that look at rows as they are stored (what the API never shows, such as token hashes) or set up
// a state no API call makes. Queries use ? placeholders on both engines.
type SQL struct {
	db *sql.DB
	pg bool
}

// OpenSQL connects to the database a store of Open was given (its URL); closed when the test ends.
func OpenSQL(t testing.TB, dbURL string) *SQL {
	t.Helper()
	driver, dsn, pg := "sqlite", "", strings.HasPrefix(dbURL, "postgres")
	if pg {
		driver, dsn = "pgx", dbURL
	} else {
		dsn = "file:" + strings.TrimPrefix(dbURL, "sqlite://") + "?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &SQL{db: db, pg: pg}
}

// Exec runs a statement and returns how many rows it changed; an error fails the test.
func (s *SQL) Exec(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	res, err := s.db.Exec(s.rebind(query), args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Try runs a statement and returns its error (for statements a test expects to fail).
func (s *SQL) Try(query string, args ...any) error {
	_, err := s.db.Exec(s.rebind(query), args...)
	return err
}

// Int runs a query that answers one integer (a COUNT); an error fails the test.
func (s *SQL) Int(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRow(s.rebind(query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Strings runs a query that answers one text column and returns every row's value.
func (s *SQL) Strings(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := s.db.Query(s.rebind(query), args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out = append(out, v.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, ...
func (s *SQL) rebind(query string) string {
	if !s.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Tx is a transaction on SQL's connection, for tests that interleave two transactions.
type Tx struct {
	tx *sql.Tx
	s  *SQL
}

// Begin starts a transaction; an error fails the test.
func (s *SQL) Begin(t testing.TB) *Tx {
	t.Helper()
	tx, err := s.db.Begin()
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return &Tx{tx: tx, s: s}
}

// Try runs a statement in the transaction and returns its error (safe from any goroutine).
func (x *Tx) Try(query string, args ...any) error {
	_, err := x.tx.Exec(x.s.rebind(query), args...)
	return err
}

// Commit commits the transaction; an error fails the test.
func (x *Tx) Commit(t testing.TB) {
	t.Helper()
	if err := x.tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
