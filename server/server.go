// Package server implements the API of openapi.yaml (the generated strict interface in gen) over
// the store, with authentication, validation, error rendering and logging around it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	echomiddleware "github.com/labstack/echo/v4/middleware"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/session"
	"github.com/pinbridge/pinbridge-auth/store"
)

var _ gen.StrictServerInterface = (*Server)(nil)

// Server implements gen.StrictServerInterface. Build it with New; production and tests use the
// same constructor.
type Server struct {
	cfg      config.Config
	store    *store.Store
	log      *slog.Logger
	now      func() time.Time
	version  string
	hasher   *password.Pool
	sessions *session.Manager
	access   map[string]access
	usage    *keyUsage
	mailer   *mail.Sender
	metrics  *metrics
	jobs     chan struct{}
	jobsWG   sync.WaitGroup
	stopOnce sync.Once // Shutdown and Close stop the background work once
	echo     *echo.Echo
}

// Options are the parts of a Server that are not configuration.
type Options struct {
	Logger  *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now
	Version string
	// PasswordParams overrides argon2id's cost (nil: password.OWASP). Only tests lower it.
	PasswordParams *password.Params
	// MailTransport overrides the transport the configuration names (SMTP, else .eml files).
	MailTransport mail.Transport
}

// New builds the server over an opened, migrated store. cfg must have its JWT secret set.
func New(cfg config.Config, st *store.Store, opts Options) (*Server, error) {
	if len(cfg.Auth.JWTSecret) < config.MinJWTSecretBytes {
		return nil, errors.New("server: JWT secret missing or shorter than 32 bytes")
	}
	if err := checkLimitOverrides(cfg.Limits); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: st, log: opts.Logger, version: opts.Version}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	// Both engines keep microseconds; truncating here makes what is stored, compared and shown agree.
	s.now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	if s.version == "" {
		s.version = "dev"
	}
	params := password.OWASP
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	pool, err := password.NewPool(params, cfg.Hashing.Workers, cfg.Hashing.Queue)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.hasher = pool
	s.usage = newKeyUsage(st, s.log, s.now, 5*time.Second)
	transport := opts.MailTransport
	if transport == nil {
		if transport, err = mailTransport(cfg, s.log); err != nil {
			return nil, err
		}
	}
	s.metrics = newMetrics(s)
	s.mailer = mail.NewSender(st, transport, s.log, s.now, mail.SenderOptions{
		Poll: cfg.Mail.PollPeriod, MinBackoff: cfg.Mail.RetryMin, MaxBackoff: cfg.Mail.RetryMax,
		OnFailure: s.metrics.mailFailures.Inc,
	})
	s.mailer.Start()
	s.jobs = make(chan struct{}, 64)
	s.sessions = session.NewManager([]byte(cfg.Auth.JWTSecret.Reveal()), cfg.Auth.Issuer, cfg.Auth.Audience, cfg.Auth.AccessTokenTTL, s.now)

	spec, err := loadSpec()
	if err != nil {
		return nil, err
	}
	s.access = accessTable(spec)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.renderError
	e.IPExtractor = ipExtractor(cfg.Limits)
	e.Use(withRequestID, s.accessLog, s.withDeadline, s.recoverPanics, securityHeaders, withClientIP)
	if cors := corsMiddleware(cfg.Limits); cors != nil {
		e.Use(cors)
	}
	e.Use(echomiddleware.BodyLimitWithConfig(echomiddleware.BodyLimitConfig{Limit: fmt.Sprintf("%dB", cfg.HTTP.BodyLimitBytes)}))
	handler := gen.NewStrictHandler(s, []gen.StrictMiddlewareFunc{s.authenticate})
	gen.RegisterHandlers(validatedRouter{e: e, validate: requestValidator(spec)}, handler)
	registerPages(e)
	if err := registerDocs(e, spec); err != nil {
		return nil, err
	}
	e.GET("/metrics", s.metrics.handler())
	s.echo = e
	return s, nil
}

func loadSpec() (*openapi3.T, error) {
	spec, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("server: load embedded spec: %w", err)
	}
	return spec, nil
}

// Handler is the HTTP handler of the whole service.
func (s *Server) Handler() http.Handler { return s.echo }

// Close stops the background workers, writing what they hold, however long that takes (Shutdown
// bounds it). The store is the caller's to close.
func (s *Server) Close() { _ = s.Shutdown(context.Background()) }

// mailTransport is SMTP when PINBRIDGE_SMTP_URL is set, else .eml files in the data directory
// (configuration refuses production without SMTP).
func mailTransport(cfg config.Config, log *slog.Logger) (mail.Transport, error) {
	if cfg.Mail.SMTPURL != "" {
		t, err := mail.NewSMTP(cfg.Mail.SMTPURL.Reveal(), cfg.Mail.From)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		return t, nil
	}
	return mail.NewDir(cfg.Mail.OutboxDir, cfg.Mail.From, log), nil
}

// DeliverMail sends the mail due now without waiting for the background sender.
func (s *Server) DeliverMail(ctx context.Context) int { return s.mailer.Deliver(ctx) }

// background runs fn off the request path, bounded, with its own deadline; Close waits for it.
func (s *Server) background(name string, fn func(ctx context.Context) error) {
	s.jobs <- struct{}{}
	s.jobsWG.Add(1)
	go func() {
		defer func() { <-s.jobs; s.jobsWG.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := fn(ctx); err != nil {
			s.log.Error("background job failed", slog.String("job", name), slog.String("error", err.Error()))
		}
	}()
}

// FlushKeyUsage writes the API-key usage noted so far (it is otherwise written every few seconds).
func (s *Server) FlushKeyUsage(ctx context.Context) { s.usage.flush(ctx) }

// validatedRouter registers the generated routes with request validation in front of each, and
// nothing else: routes outside the spec (pages, docs) are not validated against it.
type validatedRouter struct {
	e        *echo.Echo
	validate echo.MiddlewareFunc
}

func (r validatedRouter) mw(m []echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append([]echo.MiddlewareFunc{r.validate}, m...)
}

func (r validatedRouter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.CONNECT(p, h, r.mw(m)...)
}
func (r validatedRouter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.DELETE(p, h, r.mw(m)...)
}
func (r validatedRouter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.GET(p, h, r.mw(m)...)
}
func (r validatedRouter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.HEAD(p, h, r.mw(m)...)
}
func (r validatedRouter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.OPTIONS(p, h, r.mw(m)...)
}
func (r validatedRouter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.PATCH(p, h, r.mw(m)...)
}
func (r validatedRouter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.POST(p, h, r.mw(m)...)
}
func (r validatedRouter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.PUT(p, h, r.mw(m)...)
}
func (r validatedRouter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.TRACE(p, h, r.mw(m)...)
}
