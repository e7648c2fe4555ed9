// Package store keeps PinBridge Auth's data in SQLite (embedded default) or PostgreSQL through GORM.
// Every method takes a context first; database errors are translated here into ErrNotFound,
// ErrConflict and ErrUnavailable, wrapped with what was being done.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/glebarez/sqlite"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/pinbridge/pinbridge-auth/config"
)

// Errors returned by the store, to be tested with errors.Is.
var (
	// ErrNotFound: the row does not exist (or is not visible to the caller).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint refused the write.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database could not be reached.
	ErrUnavailable = errors.New("database unavailable")
)

// Store is the data layer. The zero value is not usable; call Open.
type Store struct {
	db       *gorm.DB
	postgres bool
	// onQuery, when set, hears about every query the store runs without GORM (see OnQuery).
	onQuery func(table string)
	// probe opens a connection of its own, outside the pool, to see whether the database answers
	// (see Health).
	probe func(ctx context.Context) error
	// inTx is set on the Store a transaction's fn receives: a Tx inside it is a savepoint, and only
	// the outermost transaction may be run again.
	inTx bool
	// summaries are the organizations AccountSummary remembers; nil in a transaction, which reads
	// afresh what it may itself be changing.
	summaries *lru.Cache[string, summary]
	// keys are the project accounts APIKeyAccessSummary remembers; nil in a transaction.
	keys *lru.Cache[string, projectAccounts]
}

// Options tune Open.
type Options struct {
	// MaxOpenConns bounds the PostgreSQL pool; 0 means DefaultMaxOpenConns. SQLite always uses one
	// connection: it has one writer, and a single connection turns lock contention into orderly
	// queueing.
	MaxOpenConns int
	// Tracer, on PostgreSQL, hears every statement the driver sends with its arguments, whether it
	// came through GORM or past it (tests look at the query plans with it). nil: none. Ignored on
	// SQLite.
	Tracer pgx.QueryTracer
	// BusyTimeout, on SQLite, is how long a statement waits for a lock another process holds on
	// the file (an operator's command, say) before it fails; 0 means 10 s. The server sets its
	// request deadline: SQLite's wait does not end with the request's context.
	BusyTimeout time.Duration
}

// DefaultMaxOpenConns sizes the PostgreSQL pool for this process: two connections per CPU it may
// use (one running a query while the other's result travels), at least 4. A larger pool does not
// serve more: on a 2-core box 16 connections served 9-18% fewer requests per second than 4, with a
// p99 ten times longer, every extra backend one more process competing for the same cores.
func DefaultMaxOpenConns() int {
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// Open connects to the database u names (parsed by config: Load, or config.ParseDatabaseURL). It
// does not migrate. An error for the zero DatabaseURL, and ErrUnavailable when the database does
// not answer.
func Open(ctx context.Context, u config.DatabaseURL, opts Options) (*Store, error) {
	cfg := &gorm.Config{
		TranslateError: true,
		// Every write here is one statement or runs in Tx; GORM's implicit BEGIN/COMMIT around each
		// single statement would only add two round trips (a login's DELETE, a key's INSERT).
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		db    *gorm.DB
		err   error
		pg    bool
		probe func(ctx context.Context) error
	)
	switch u.Engine() {
	case config.EnginePostgres:
		pg = true
		pool, pgcfg, perr := openPostgres(u.PostgresDSN(), opts.Tracer)
		if err = perr; err == nil {
			if db, err = gorm.Open(postgres.New(postgres.Config{Conn: pool}), cfg); err != nil {
				_ = pool.Close()
			}
		}
		probe = func(ctx context.Context) error { return probePostgres(ctx, pgcfg) }
	case config.EngineSQLite:
		path := u.SQLitePath()
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		busy := opts.BusyTimeout
		if busy <= 0 {
			busy = 10 * time.Second
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")" +
			"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		db, err = gorm.Open(sqlite.Open(dsn), cfg)
		probe = func(ctx context.Context) error { return probeSQLite(ctx, db, dsn) }
	default:
		return nil, errors.New("open database: no database URL (config.ParseDatabaseURL makes one)")
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", translate(err))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if pg {
		n := opts.MaxOpenConns
		if n <= 0 {
			n = DefaultMaxOpenConns()
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		sqlDB.SetMaxOpenConns(1)
	}
	s := &Store{db: db, postgres: pg, probe: probe, summaries: newMemory[summary](summaryMemory), keys: newMemory[projectAccounts](keyMemory)}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.postgres }

// Ping checks that the database answers; ErrUnavailable when it does not.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w: %v", ErrUnavailable, err)
	}
	return nil
}

// Tx runs fn in one transaction: every write fn makes through tx commits together or not at all.
// A transaction that could not begin or commit because the database is unavailable returns an
// error that is ErrUnavailable as well as fn's or the driver's. One that PostgreSQL aborted for a
// deadlock or a serialization failure runs again (fn may run up to three times, so it must have no
// effect outside tx that a second run would repeat).
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	run := func() error {
		return s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
			return fn(&Store{db: db, postgres: s.postgres, onQuery: s.onQuery, probe: s.probe, inTx: true})
		})
	}
	err := run()
	// PostgreSQL aborts one of two transactions that wait on each other (deadlock) or that cannot
	// be serialised; the aborted one changed nothing, so it runs again, twice at most. It first
	// pauses a little, longer each time and by a random amount: a run again at once can take the
	// row it gave up before the survivor, woken by the abort, has locked it, and the two deadlock
	// again (seen on a loaded machine).
	for attempt := 1; attempt <= 2 && !s.inTx && retryable(err); attempt++ {
		if werr := pause(ctx, time.Duration(attempt)*retryPause+rand.N(retryPause)); werr != nil {
			return err
		}
		err = run()
	}
	if err != nil && !errors.Is(err, ErrUnavailable) && unavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// joinTx runs fn in the caller's transaction when s is one (as it is, as a savepoint would be a
// round trip more, and fn's error fails the caller's whole transaction), else in one of its own (Tx).
func (s *Store) joinTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	return s.Tx(ctx, fn)
}

// retryPause is the unit of the pause before a transaction runs again.
const retryPause = 10 * time.Millisecond

// pause waits for d, or returns ctx's error when it ends first.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable reports a transaction PostgreSQL aborted for its concurrency with another: a deadlock
// (40P01) or a serialization failure (40001).
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// OnQuery registers f to hear about each query the store runs past GORM (the per-request
// authentication joins), with the table it reads first; GORM's own callbacks report the others.
// Call it before the store is shared: it is not synchronised.
func (s *Store) OnQuery(f func(table string)) { s.onQuery = f }

// DB exposes the handle to tests in this module that need raw access (query counting, fixtures).
func (s *Store) DB() *gorm.DB { return s.db }

// translate maps driver and GORM errors onto the store's errors, keeping the cause in the chain.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case unavailable(err):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// wrap adds what was being done to a translated error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, translate(err))
}
