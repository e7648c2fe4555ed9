// Command pinbridge runs PinBridge Auth, the identity and tenancy core of PinBridge.
//
//	pinbridge [serve]   migrate the database, then serve HTTP (default)
//	pinbridge migrate   bring the database schema up to date and exit
//	pinbridge version   print the version
//	pinbridge admin     an operator's commands on the database (pinbridge admin --help)
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
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // IANA time zones without relying on the host's files

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/activity"
	"github.com/pinbridge/pinbridge-auth/internal/admin"
	"github.com/pinbridge/pinbridge-auth/internal/keyusage"
	"github.com/pinbridge/pinbridge-auth/internal/logbuf"
	"github.com/pinbridge/pinbridge-auth/internal/logline"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/periodic"
	_ "github.com/pinbridge/pinbridge-auth/internal/profiling" // /debug/pprof, only with -tags pprof
	"github.com/pinbridge/pinbridge-auth/internal/secretscan"
	"github.com/pinbridge/pinbridge-auth/internal/session"
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
	case "admin":
		os.Exit(runAdmin(os.Args[2:]))
	case "version", "--version", "-v":
		fmt.Println(version)
	case "help", "--help", "-h":
		fmt.Println("usage: pinbridge [serve|migrate|admin|version]")
	default:
		fmt.Fprintf(os.Stderr, "pinbridge: unknown command %q (want serve, migrate, admin or version)\n", cmd)
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
	st, err := store.Open(ctx, cfg.Database.Parsed, store.Options{MaxOpenConns: cfg.Database.MaxOpenConns, BusyTimeout: cfg.HTTP.RequestTimeout})
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
	// JSON lines in production, text otherwise, each exactly as slog's own handler writes it.
	return slog.New(logline.New(out, cfg.Env == config.EnvProduction, &slog.HandlerOptions{Level: level}))
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

// runAdmin runs `pinbridge admin ...` on the configured database and returns its exit code.
func runAdmin(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Println(admin.Usage)
		return admin.ExitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, log, st, err := setup(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pinbridge admin: %v\n", err)
		return admin.ExitFailed
	}
	defer st.Close()
	// The operator's commands send no mail and check no password: no sender, hash pool or sessions.
	accounts := account.New(account.Deps{Store: st, Mailer: noMail{}, Log: log, Settings: account.SettingsFrom(cfg)})
	return admin.Run(ctx, accounts, args, os.Stdin, os.Stdout, os.Stderr)
}

// noMail is the mailer of a process that queues no mail.
type noMail struct{}

func (noMail) Wake() {}

func serve() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	logs := logbuf.New(os.Stderr)
	defer logs.Close()
	cfg, log, st, err := setup(ctx, logs)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := cfg.EnsureJWTSecret(); err != nil {
		return err
	}

	// The parts the service is made of, and their workers. At shutdown stopWorkers stops them
	// within the deadline; the hash pool, then the store, close last.
	hasher, err := password.NewPool(password.OWASP, cfg.Hashing.Workers, cfg.Hashing.Queue)
	if err != nil {
		return err
	}
	defer hasher.Close()
	transport, err := mail.NewTransport(cfg.Mail, log)
	if err != nil {
		return err
	}
	sender := mail.NewSender(st, transport, log, store.Clock(nil), mail.SenderOptions{
		Poll: cfg.Mail.PollPeriod, MinBackoff: cfg.Mail.RetryMin, MaxBackoff: cfg.Mail.RetryMax,
	})
	sender.Start()
	usage := keyusage.New(st, log, nil, 5*time.Second)
	usage.Start()
	pruner := activity.New(st, log, nil, activity.Options{})
	pruner.Start()
	sessions := session.NewManager([]byte(cfg.Auth.JWTSecret.Reveal()), cfg.Auth.Issuer, cfg.Auth.Audience, cfg.Auth.AccessTokenTTL, store.Clock(nil))
	accounts := account.New(account.Deps{
		Store: st, Hasher: hasher, Sessions: sessions, Mailer: sender, Log: log, Settings: account.SettingsFrom(cfg),
	})
	reminders := periodic.Start("api key expiry reminders", time.Hour, log, func(ctx context.Context) error {
		_, err := accounts.RemindExpiringKeys(ctx)
		return err
	})
	stopped := false
	defer func() {
		if !stopped { // an early return: nothing is hung yet, stop without a deadline
			_ = stopWorkers(context.Background(), sender, accounts, usage, pruner, reminders)
		}
	}()
	var scanKeys secretscan.Keys
	if cfg.Auth.SecretScanningKeysFile != "" {
		if scanKeys, err = secretscan.Load(cfg.Auth.SecretScanningKeysFile); err != nil {
			return fmt.Errorf("PINBRIDGE_SECRET_SCANNING_KEYS_FILE: %w", err)
		}
	}
	srv, err := server.New(cfg, server.Deps{
		Store: st, Accounts: accounts, Sessions: sessions, Hasher: hasher, KeyUsage: usage, Mail: sender,
		ScanningKeys: scanKeys, Logger: log, Version: version,
	})
	if err != nil {
		return err
	}

	// Start-up garbage (the spec loaded and turned into routes and validators) is returned to the
	// system before serving, so an idle process holds only what it uses.
	debug.FreeOSMemory()
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
	stopped = true
	if err := stopWorkers(shutdownCtx, sender, accounts, usage, pruner, reminders); err != nil {
		log.Warn("shutdown: background work left behind", slog.String("error", err.Error()))
	}
	if httpErr != nil && !errors.Is(httpErr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", httpErr)
	}
	return nil
}

// stopWorkers stops the service's background work within ctx's deadline (what is left of the
// shutdown timeout after the HTTP drain). The mail sender begins no further message and abandons
// an attempt in flight shortly before the deadline (the message stays queued for a retry, so a hung
// SMTP server cannot hold the process); the activity-log pruner and the periodic tasks stop at once
// (a batch in flight is cancelled; its rows wait for the next sweep); flows still running off the
// request path (forgot-password, activity entries of failed sign-ins) and the last flush of API-key
// usage get the time that is left and are left behind at the deadline. The error says what was
// left behind.
func stopWorkers(ctx context.Context, sender *mail.Sender, accounts *account.Service, usage *keyusage.Recorder, pruner *activity.Pruner, tasks ...*periodic.Task) error {
	rest := make(chan struct{})
	go func() {
		defer close(rest)
		pruner.Close()
		for _, t := range tasks {
			t.Stop()
		}
		accounts.Close()
		usage.Close()
	}()
	err := sender.Shutdown(ctx)
	select {
	case <-rest:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("background flows and key usage: %w", ctx.Err()))
	}
	return err
}
