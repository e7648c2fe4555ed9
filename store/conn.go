package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
)

// A query whose context ends (its request's deadline passed, or its client went away) is left
// cancelDelay to finish before PostgreSQL is asked to cancel it, and the driver gives up on its
// connection cancelGrace after the context ended.
//
// The delay keeps a client that disconnects mid-request from costing anything but the query it
// started: nearly every query here ends within a few milliseconds, and one that ends within the
// delay gives its connection back at once. A cancel request costs a connection to PostgreSQL (a
// process forked to read it), and pgx then holds the cancelled connection 100 ms more, so that the
// cancel cannot reach the connection's next query. Without the delay, wrk closing its 32
// connections at the end of a 3-s run cancelled the reads in flight on all 4 connections of the
// pool, and the next run's first requests all waited for them: a 100 ms stall that took the
// authenticated reads' p99 from about 8 to 55-60 ms in one run of three; a client (or an attacker)
// dropping requests on purpose could keep the pool so.
const (
	cancelDelay = 50 * time.Millisecond
	cancelGrace = 500 * time.Millisecond
)

// cancelHandler is how the pool's connections stop a query whose context ended: a cancel request
// after delay, the connection given up after cancelGrace.
func cancelHandler(delay time.Duration) func(*pgconn.PgConn) ctxwatch.Handler {
	return func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: delay, DeadlineDelay: cancelGrace}
	}
}

// openPostgres opens the PostgreSQL pool through pgx with two changes to the driver's defaults.
//
// A query whose context ends (a request past its deadline) is cancelled with a cancel request before
// the call returns (after cancelDelay: one that ends sooner is left to finish), and its connection
// is kept. pgx's default gives up on the connection instead: it
// closes it and sends the cancel in the background, so every timed-out request cost the pool a
// connection to dial again, and the backend could still be waiting for a lock when the client
// already had its answer.
//
// A read or a BEGIN that fails because its connection was lost (a restart, a failover, a backend
// terminated by an administrator: PostgreSQL says 57P01 and closes the connection, which the pool
// only learns on its next use) is tried once more on a fresh connection, dialled there and then. A
// read outside a transaction and a BEGIN have no effect, so repeating them is safe; anything else
// fails (and the server answers 503). database/sql's own retry on driver.ErrBadConn is no substitute:
// under load its "new" connection is whichever pooled one is released first, as likely dead as the
// one that failed.
//
// tracer, when not nil, hears every statement of the pool's connections (Options.Tracer).
func openPostgres(url string, tracer pgx.QueryTracer) (*sql.DB, *pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	cfg.Tracer = tracer
	cfg.BuildContextWatcherHandler = cancelHandler(cancelDelay)
	return sql.OpenDB(retryingConnector{stdlib.GetConnector(*cfg)}), cfg, nil
}

// retryingConnector hands out connections that retry a safe statement on a fresh connection when
// theirs was lost.
type retryingConnector struct{ driver.Connector }

func (c retryingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &retryingConn{Conn: conn.(*stdlib.Conn), connector: c.Connector}, nil
}

// retryingConn is pgx's database/sql connection with QueryContext and BeginTx able to replace a
// lost connection; every other method is pgx's own, on whichever connection is current. database/sql
// uses a connection from one goroutine at a time, so the replacement needs no lock. Statements
// prepared on a lost connection would be lost with it; the store prepares none.
type retryingConn struct {
	*stdlib.Conn
	connector driver.Connector
	decoders  decoders // how joins read on this connection decode their columns
}

func (c *retryingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	outside := c.Conn.Conn().PgConn().TxStatus() == 'I' // not in a transaction
	if !outside || !isRead(query) {
		return c.Conn.QueryContext(ctx, query, args)
	}
	var rows driver.Rows
	err := c.again(ctx, func() (err error) {
		rows, err = c.read(ctx, query, args)
		return err
	})
	return rows, err
}

// again runs attempt, and once more on a freshly dialled connection when the first attempt failed
// because the connection was lost. attempt must be safe to repeat.
func (c *retryingConn) again(ctx context.Context, attempt func() error) error {
	err := attempt()
	if err != nil && c.lost(ctx) {
		if rerr := c.reconnect(ctx); rerr != nil {
			return fmt.Errorf("%w (a fresh connection failed too: %w)", err, rerr)
		}
		err = attempt()
	}
	return err
}

func (c *retryingConn) read(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return readAll(rows.(*stdlib.Rows))
}

// readPgx runs a read with pgx's own API and hands its rows to collect; a read that failed because
// the connection was lost is run once more, with collect called again from the start, on a fresh
// connection. collect must read every row it wants before returning.
func (c *retryingConn) readPgx(ctx context.Context, query string, arg any, collect func(pgx.Rows) error) error {
	return c.again(ctx, func() error { return c.collect(ctx, query, arg, collect) })
}

func (c *retryingConn) collect(ctx context.Context, query string, arg any, collect func(pgx.Rows) error) error {
	rows, err := c.Conn.Conn().Query(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := collect(rows); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

func (c *retryingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	err := c.again(ctx, func() (err error) {
		tx, err = c.Conn.BeginTx(ctx, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rollbackAfterEnd{Tx: tx, ctx: ctx, conn: c.Conn.Conn()}, nil
}

// IsValid tells database/sql the connection may go back to the pool (driver.Validator). Without it
// database/sql drops the connection of every transaction it rolls back because the transaction's
// context ended; pgx's ResetSession, run before the connection is used again, still refuses one
// that is closed or left inside a transaction.
func (c *retryingConn) IsValid() bool { return !c.Conn.Conn().IsClosed() }

// rollbackAfterEnd is a transaction rolled back on its connection even after its context ended.
// database/sql rolls back a transaction whose context ends (a request past its deadline, a client
// gone), and pgx, handed that ended context for the ROLLBACK, cannot send it and closes the
// connection instead, so even with IsValid every such request cost the pool a connection to dial
// again. The ROLLBACK is sent with a context of its own, bounded by cancelGrace; a connection it
// fails on is closed, and the pool drops it.
type rollbackAfterEnd struct {
	driver.Tx
	ctx  context.Context
	conn *pgx.Conn
}

func (t rollbackAfterEnd) Rollback() error {
	if t.ctx.Err() == nil {
		return t.Tx.Rollback()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), cancelGrace)
	defer cancel()
	if _, err := t.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = t.conn.Close(ctx)
		return err
	}
	return nil
}

// lost reports whether the connection died under a statement that was still wanted: pgx closes a
// connection on a FATAL error (57P01 and the like) and on a broken socket, but also when the caller's
// context ended, which is no reason to try again.
func (c *retryingConn) lost(ctx context.Context) bool {
	return ctx.Err() == nil && c.Conn.Conn().IsClosed()
}

// reconnect replaces the lost connection with a freshly dialled one.
func (c *retryingConn) reconnect(ctx context.Context) error {
	fresh, err := c.connector.Connect(ctx)
	if err != nil {
		return err
	}
	_ = c.Conn.Close()
	c.Conn = fresh.(*stdlib.Conn)
	return nil
}

// readAll reads every row of a read before handing them on, so that a connection lost halfway through
// the result (PostgreSQL sends the rows it has, then 57P01) fails the query here, where database/sql
// can still retry it, rather than in the middle of the caller's scan. The store's reads are small
// and their callers hold every row anyway; the values are pgx's own, allocated per row.
func readAll(src *stdlib.Rows) (driver.Rows, error) {
	b := &bufferedRows{Rows: src}
	width := len(src.Columns())
	for {
		row := make([]driver.Value, width)
		if err := src.Next(row); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			_ = src.Close()
			return nil, err
		}
		b.rows = append(b.rows, row)
	}
	return b, src.Close()
}

// bufferedRows hands out rows read in advance; column metadata comes from the (closed) pgx rows.
type bufferedRows struct {
	*stdlib.Rows
	rows [][]driver.Value
}

func (r *bufferedRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}

func (r *bufferedRows) Close() error { return nil }

// isRead reports whether query is a plain SELECT, which changes nothing when repeated.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "select")
}

// IsUnavailable reports whether err, returned by the store or by the driver beneath it, means the
// database cannot serve right now (unreachable, shutting down, connection lost, out of time), so the
// same request is worth trying again later.
func IsUnavailable(err error) bool {
	return err != nil && (errors.Is(err, ErrUnavailable) || unavailable(err))
}

func unavailable(err error) bool {
	var (
		pgErr      *pgconn.PgError
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch pgErr.Code[:2] {
		// 57: operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
		// connect now, 57014 query cancelled); 08: connection exception.
		case "57", "08":
			return true
		}
	}
	// database/sql does not export its "closed" error; a closed pool is a database we cannot reach.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded)
}
