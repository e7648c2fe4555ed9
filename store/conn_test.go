package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pinbridge/pinbridge-auth/internal/testenv"
)

func TestUnavailableClassifiesConnectionLoss(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"57P01 admin shutdown", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true},
		{"57P02 crash shutdown", &pgconn.PgError{Severity: "FATAL", Code: "57P02"}, true},
		{"57P03 cannot connect now", &pgconn.PgError{Severity: "FATAL", Code: "57P03"}, true},
		{"57014 query cancelled", &pgconn.PgError{Severity: "ERROR", Code: "57014"}, true},
		{"08006 connection failure", &pgconn.PgError{Severity: "FATAL", Code: "08006"}, true},
		{"wrapped 57P01", fmt.Errorf("account: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"pgx conn closed", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"bad connection", fmt.Errorf("%w: lost", driver.ErrBadConn), true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"23505 unique violation", &pgconn.PgError{Severity: "ERROR", Code: "23505"}, false},
		{"42P01 undefined table", &pgconn.PgError{Severity: "ERROR", Code: "42P01"}, false},
		{"plain error", errors.New("boom"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsUnavailable(c.err); got != c.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
			}
			if got := errors.Is(translate(c.err), ErrUnavailable); got != c.want {
				t.Errorf("translate(%v) is ErrUnavailable: %v, want %v", c.err, got, c.want)
			}
		})
	}
	if IsUnavailable(nil) {
		t.Error("IsUnavailable(nil) = true, want false")
	}
}

func TestIsRead(t *testing.T) {
	cases := map[string]bool{
		"SELECT 1":                               true,
		"  select u.id FROM users u":             true,
		"(SELECT 1) UNION (SELECT 2)":            true,
		"INSERT INTO users VALUES (1) RETURNING": false,
		"UPDATE outbox SET x = 1 RETURNING id":   false,
		"WITH x AS (DELETE FROM t) SELECT 1":     false,
		"sel":                                    false,
	}
	for q, want := range cases {
		if got := isRead(q); got != want {
			t.Errorf("isRead(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestACancelledQueryAboutToEndIsLeftToFinish: a statement whose context ends while it runs is
// asked to stop only after the cancel delay; one that ends sooner runs to its end and keeps its
// connection (a client gone mid-request costs no cancel request, and the pool no 100 ms), one still
// running then is cancelled on the server.
func TestACancelledQueryAboutToEndIsLeftToFinish(t *testing.T) {
	if h, ok := cancelHandler(cancelDelay)(nil).(*pgconn.CancelRequestContextWatcherHandler); !ok ||
		h.CancelRequestDelay <= 0 || h.CancelRequestDelay >= cancelGrace || h.DeadlineDelay != cancelGrace {
		t.Fatalf("the pool's cancel handler: %#v, want a cancel request after cancelDelay and the connection given up after cancelGrace", h)
	}
	base := testenv.PostgresURL(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	table := fmt.Sprintf("cancel_delay_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE TABLE "+table+" (name text)"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = admin.Exec(ctx, "DROP TABLE "+table) }()
	for _, c := range []struct {
		name     string
		delay    time.Duration
		sleep    string // how long the statement runs, in seconds
		finishes bool
	}{
		{"ends within the delay", 5 * time.Second, "0.2", true},
		{"still running after it", 0, "3", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(base)
			if err != nil {
				t.Fatal(err)
			}
			cfg.BuildContextWatcherHandler = cancelHandler(c.delay)
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			_, err = conn.Exec(short, "INSERT INTO "+table+" SELECT $1::text FROM pg_sleep($2::float8)", c.name, c.sleep)
			if c.finishes && err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the statement left to finish failed: %v", err)
			}
			if !c.finishes && err == nil {
				t.Error("the statement still running after the delay was not stopped")
			}
			var rows, running int
			if err := admin.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE name = $1", c.name).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT INTO "+table+"%'").Scan(&running); err != nil {
				t.Fatal(err)
			}
			if c.finishes && rows != 1 {
				t.Errorf("the statement left to finish wrote %d rows, want 1 (it was cancelled)", rows)
			}
			if !c.finishes && (rows != 0 || running != 0) {
				t.Errorf("the statement cancelled on the server: %d rows, %d still running; want none", rows, running)
			}
			if err := conn.Ping(ctx); err != nil {
				t.Errorf("the connection after the statement: %v", err)
			}
		})
	}
}

// TestATransactionWhoseContextEndsKeepsItsConnection: database/sql rolls back a transaction whose
// context ended; the ROLLBACK reaches PostgreSQL (nothing the transaction wrote stays) and the
// connection stays in the pool (pgx, handed the ended context, closed it).
func TestATransactionWhoseContextEndsKeepsItsConnection(t *testing.T) {
	base := testenv.PostgresURL(t)
	db, _, err := openPostgres(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	table := fmt.Sprintf("rollback_after_end_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (name text)"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = db.ExecContext(ctx, "DROP TABLE "+table) }()
	pid := func() (n int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := pid()
	for _, how := range []string{"database/sql's own rollback", "the caller's rollback"} {
		request, end := context.WithCancel(ctx)
		tx, err := db.BeginTx(request, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(request, "INSERT INTO "+table+" VALUES ('written')"); err != nil {
			t.Fatal(err)
		}
		end()
		if how == "the caller's rollback" {
			_ = tx.Rollback() // or database/sql's, whichever comes first
		}
		if after := pid(); after != before {
			t.Errorf("%s: the pool's connection is backend %d, want %d: the ended transaction's connection was closed", how, after, before)
			before = after
		}
		var rows int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("%s: %d rows of the ended transaction stayed, want none", how, rows)
		}
	}
}
