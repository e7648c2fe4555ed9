// Package testserver assembles the service for tests the way main does, over a store the test
// opened, and hands the test the workers main would run: the mail sender (to deliver now), the
// key-usage recorder (to flush now) and the activity-log pruner (to prune now).
package testserver

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/activity"
	"github.com/pinbridge/pinbridge-auth/internal/keyusage"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/secretscan"
	"github.com/pinbridge/pinbridge-auth/internal/session"
	"github.com/pinbridge/pinbridge-auth/server"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Options are what a test changes from production.
type Options struct {
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now
	// PasswordParams lowers argon2id's cost for speed (zero: password.OWASP).
	PasswordParams password.Params
	Version        string
}

// Stack is one assembled service with its workers running.
type Stack struct {
	Server   *server.Server
	Accounts *account.Service
	Sender   *mail.Sender
	KeyUsage *keyusage.Recorder
	Pruner   *activity.Pruner

	hasher *password.Pool
	once   sync.Once
}

// New assembles the service over st and starts its workers; they stop at the end of the test (or
// at Close). Mail goes to cfg's SMTP server, else to .eml files, as in production.
func New(t testing.TB, cfg config.Config, st *store.Store, o Options) *Stack {
	t.Helper()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	params := o.PasswordParams
	if params == (password.Params{}) {
		params = password.OWASP
	}
	hasher, err := password.NewPool(params, cfg.Hashing.Workers, cfg.Hashing.Queue)
	if err != nil {
		t.Fatalf("hash pool: %v", err)
	}
	transport, err := mail.NewTransport(cfg.Mail, log)
	if err != nil {
		t.Fatalf("mail transport: %v", err)
	}
	now := store.Clock(o.Now)
	sender := mail.NewSender(st, transport, log, now, mail.SenderOptions{
		Poll: cfg.Mail.PollPeriod, MinBackoff: cfg.Mail.RetryMin, MaxBackoff: cfg.Mail.RetryMax,
	})
	usage := keyusage.New(st, log, now, 5*time.Second)
	sessions := session.NewManager([]byte(cfg.Auth.JWTSecret.Reveal()), cfg.Auth.Issuer, cfg.Auth.Audience, cfg.Auth.AccessTokenTTL, now)
	accounts := account.New(account.Deps{
		Store: st, Hasher: hasher, Sessions: sessions, Mailer: sender, Log: log, Now: now,
		Settings: account.SettingsFrom(cfg),
	})
	var scanKeys secretscan.Keys // as main: from PINBRIDGE_SECRET_SCANNING_KEYS_FILE when set
	if cfg.Auth.SecretScanningKeysFile != "" {
		if scanKeys, err = secretscan.Load(cfg.Auth.SecretScanningKeysFile); err != nil {
			t.Fatalf("secret scanning keys: %v", err)
		}
	}
	srv, err := server.New(cfg, server.Deps{
		Store: st, Accounts: accounts, Sessions: sessions, Hasher: hasher, KeyUsage: usage, Mail: sender,
		ScanningKeys: scanKeys, Logger: log, Now: now, Version: o.Version,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	pruner := activity.New(st, log, now, activity.Options{})
	sender.Start()
	usage.Start()
	pruner.Start()
	s := &Stack{Server: srv, Accounts: accounts, Sender: sender, KeyUsage: usage, Pruner: pruner, hasher: hasher}
	t.Cleanup(s.Close)
	return s
}

// Close stops the workers as main does at shutdown: the pruner stops, running flows finish, key
// usage is written, the sender stops, the hash pool closes. Closing twice is harmless.
func (s *Stack) Close() {
	s.once.Do(func() {
		s.Pruner.Close()
		s.Accounts.Close()
		s.KeyUsage.Close()
		s.Sender.Stop()
		s.hasher.Close()
	})
}
