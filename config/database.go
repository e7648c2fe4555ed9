package config

import (
	"errors"
	"net/url"
	"strings"
)

// Engine is a database engine the store runs on.
type Engine string

// The engines a DatabaseURL names.
const (
	EngineSQLite   Engine = "sqlite"
	EnginePostgres Engine = "postgres"
)

// DatabaseURL is a database URL parsed once (by Load, or ParseDatabaseURL for a URL from
// elsewhere): the engine and what its driver needs. store.Open consumes it. The zero value names
// no database.
type DatabaseURL struct {
	engine Engine
	path   string // the SQLite file
	dsn    Secret // the PostgreSQL URL, which may carry a password
}

// ParseDatabaseURL parses sqlite://PATH or postgres://... (postgresql:// too). The error says what
// is wrong without naming a variable and never echoes the URL, which may hold a password.
func ParseDatabaseURL(raw string) (DatabaseURL, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return DatabaseURL{}, errors.New("not a valid postgres:// URL")
		}
		return DatabaseURL{engine: EnginePostgres, dsn: Secret(raw)}, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" {
			return DatabaseURL{}, errors.New("sqlite:// needs a file path")
		}
		return DatabaseURL{engine: EngineSQLite, path: path}, nil
	}
	return DatabaseURL{}, errors.New("must start with sqlite:// or postgres://")
}

// Engine is the engine the URL names; "" for the zero value.
func (u DatabaseURL) Engine() Engine { return u.engine }

// SQLitePath is the database file of a sqlite:// URL; "" for other engines.
func (u DatabaseURL) SQLitePath() string { return u.path }

// PostgresDSN is the postgres:// URL to hand the driver; "" for other engines. It may hold a
// password: pass it on, never log it.
func (u DatabaseURL) PostgresDSN() string { return u.dsn.Reveal() }

// String is the URL with any password masked (url.URL.Redacted), safe to log.
func (u DatabaseURL) String() string {
	switch u.engine {
	case EngineSQLite:
		return "sqlite://" + u.path
	case EnginePostgres:
		if p, err := url.Parse(u.dsn.Reveal()); err == nil {
			return p.Redacted()
		}
		return "postgres://[redacted]"
	}
	return ""
}

// GoString masks the password in %#v too.
func (u DatabaseURL) GoString() string { return u.String() }
