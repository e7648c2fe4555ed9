package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Health is the state of the database as this process sees it.
type Health string

// The states Health reports.
const (
	// HealthOK: a pooled connection answered.
	HealthOK Health = "ok"
	// HealthSaturated: no pooled connection answered in time, but a connection of its own did. The
	// database is up; every pooled connection is busy (slow queries, a locked table).
	HealthSaturated Health = "saturated"
	// HealthUnreachable: the database does not answer.
	HealthUnreachable Health = "unreachable"
)

// Health checks the database in up to two steps, each within wait: a ping through the pool and, when
// that runs out of time, a ping on a connection of its own outside the pool, which tells a pool
// saturated by slow queries from a database that does not answer. The error says why the state is
// not HealthOK (nil when it is).
func (s *Store) Health(ctx context.Context, wait time.Duration) (Health, error) {
	pingCtx, cancel := context.WithTimeout(ctx, wait)
	err := s.Ping(pingCtx)
	timedOut := pingCtx.Err() != nil && ctx.Err() == nil
	cancel()
	switch {
	case err == nil:
		return HealthOK, nil
	case !timedOut || s.probe == nil:
		return HealthUnreachable, err
	}
	probeCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if perr := s.probe(probeCtx); perr != nil {
		return HealthUnreachable, fmt.Errorf("%w; a connection of its own: %v", err, perr)
	}
	return HealthSaturated, err
}

func probePostgres(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// probeSQLite opens the file on a connection of its own. SQLite is a local file: when it opens, it
// answers; the pool's single connection may still be busy.
func probeSQLite(ctx context.Context, db *gorm.DB, dsn string) error {
	pool, err := db.DB()
	if err != nil {
		return err
	}
	own := sql.OpenDB(dsnConnector{drv: pool.Driver(), dsn: dsn})
	defer own.Close()
	return own.PingContext(ctx)
}

// dsnConnector opens connections of a driver by DSN.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }
