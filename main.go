// Command pinbridge runs PinBridge Auth, the identity and tenancy core of PinBridge.
//
//	pinbridge [serve]   migrate the database, then serve HTTP (default)
//	pinbridge migrate   bring the database schema up to date and exit
//	pinbridge version   print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // IANA time zones without relying on the host's files

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/server"
	"github.com/pinbridge/pinbridge-auth/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve()
	case "migrate":
		err = migrate()
	case "version", "--version", "-v":
		fmt.Println(version)
	case "help", "--help", "-h":
		fmt.Println("usage: pinbridge [serve|migrate|version]")
	default:
		fmt.Fprintf(os.Stderr, "pinbridge: unknown command %q (want serve, migrate or version)\n", cmd)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pinbridge: %v\n", err)
		os.Exit(1)
	}
}

func setup(ctx context.Context, out io.Writer) (config.Config, *slog.Logger, *store.Store, error) {
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, out)
	st, err := store.Open(ctx, cfg.Database.URL, store.Options{MaxOpenConns: cfg.Database.MaxOpenConns})
	if err != nil {
		return cfg, nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return cfg, nil, nil, err
	}
	return cfg, log, st, nil
}

func newLogger(cfg config.Config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Env == config.EnvProduction {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

func migrate() error {
	_, log, st, err := setup(context.Background(), os.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database schema is up to date")
	return nil
}

func serve() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	logs := newBufferedLog(os.Stderr)
	defer logs.Close()
	cfg, log, st, err := setup(ctx, logs)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := cfg.EnsureJWTSecret(); err != nil {
		return err
	}
	srv, err := server.New(cfg, st, server.Options{Logger: log, Version: version})
	if err != nil {
		return err
	}
	defer srv.Close()

	httpServer := &http.Server{
		Addr:              cfg.Addr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
	}
	errc := make(chan error, 1)
	go func() {
		engine := "sqlite"
		if st.Postgres() {
			engine = "postgres"
		}
		log.Info("pinbridge listening", slog.String("addr", cfg.Addr), slog.String("env", cfg.Env),
			slog.String("database", engine), slog.String("version", version))
		errc <- httpServer.ListenAndServe()
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	httpErr := httpServer.Shutdown(shutdownCtx)
	// Within what is left of the same deadline: a hung SMTP server must not hold the process.
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown: background work left behind", slog.String("error", err.Error()))
	}
	if httpErr != nil && !errors.Is(httpErr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", httpErr)
	}
	return nil
}
