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

	"github.com/jackc/pgx/v5/pgconn"
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
