// Package server implements the API of openapi.yaml (the generated strict interface in gen) over
// the account flows (internal/account), with authentication, validation, rate limits, error
// rendering and logging around them. It runs no worker of its own.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	echomiddleware "github.com/labstack/echo/v4/middleware"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/keyusage"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/secretscan"
	"github.com/pinbridge/pinbridge-auth/internal/session"
	"github.com/pinbridge/pinbridge-auth/store"
)

var _ gen.StrictServerInterface = (*Server)(nil)

// Server implements gen.StrictServerInterface over the account flows. Build it with New;
// production and tests use the same constructor.
type Server struct {
	cfg      config.Config
	store    *store.Store
	accounts *account.Service
	sessions *session.Manager
	hasher   *password.Pool
	usage    *keyusage.Recorder
	log      *slog.Logger
	now      func() time.Time
	version  string
	access   map[string]access
	// authentications caches authenticationOf by operation id (as the strict handler names it).
	authentications sync.Map
	metrics         *metrics
	scanKeys        secretscan.Keys
	echo            *echo.Echo
	// The liveness answers, encoded once: password hashing idle or with requests waiting.
	healthOK, healthBusy *healthAnswer
	meBodies             *meBodies
}

// Deps are the parts the HTTP layer serves. main builds them and runs their workers; the Server
// only uses them.
type Deps struct {
	Store    *store.Store
	Accounts *account.Service
	Sessions *session.Manager
	Hasher   *password.Pool     // health and metrics read its queue
	KeyUsage *keyusage.Recorder // API-key requests note their key
	Mail     *mail.Sender       // metrics count its failed attempts
	// ScanningKeys verify leak reports (GitHub secret scanning); nil refuses every report.
	ScanningKeys secretscan.Keys
	Logger       *slog.Logger     // nil: discard
	Now          func() time.Time // nil: time.Now
	Version      string
}

// New wires the HTTP routes, middleware and error rendering over d.
func New(cfg config.Config, d Deps) (*Server, error) {
	if err := cfg.Limits.CheckOverrides(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: d.Store, accounts: d.Accounts, sessions: d.Sessions, hasher: d.Hasher,
		usage: d.KeyUsage, log: d.Logger, now: store.Clock(d.Now), version: d.Version, scanKeys: d.ScanningKeys}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.metrics = newMetrics(s, d.Mail)
	s.meBodies = newMeBodies()
	var err error
	if s.healthOK, s.healthBusy, err = healthBodies(s.version, gen.DeploymentEnvironment(cfg.Env)); err != nil {
		return nil, fmt.Errorf("server: encode the liveness answers: %w", err)
	}

	spec, err := loadSpec()
	if err != nil {
		return nil, err
	}
	s.access = accessTable(spec)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.renderError
	e.IPExtractor = ipExtractor(cfg.Limits)
	shared := []echo.MiddlewareFunc{s.withRequestState, s.accessLog, s.deadlineErrors, s.recoverPanics, securityHeaders}
	if cors := corsMiddleware(cfg.Limits); cors != nil {
		shared = append(shared, cors)
	}
	shared = append(shared, echomiddleware.BodyLimitWithConfig(echomiddleware.BodyLimitConfig{Limit: fmt.Sprintf("%dB", cfg.HTTP.BodyLimitBytes)}))
	// The whole chain is this one middleware: add to shared, never with another e.Use (the composed
	// chain calls the routed handler itself, so middleware after it would be skipped).
	e.Use(composedOnce(shared))
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

// composedOnce is the middleware chain as one Echo middleware, composed at start around a handler
// that calls the request's routed handler: Echo applies its middleware anew on every request (a
// closure each), and the next handler it passes is always the routed one (c.Handler(), the route's
// or the not-found or method-not-allowed handler), so the chain need not be made again.
func composedOnce(chain []echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := around(func(c echo.Context) error { return c.Handler()(c) }, chain)
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}

// around is h inside the middleware of chain, the first outermost, as Echo would apply them.
func around(h echo.HandlerFunc, chain []echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(chain) - 1; i >= 0; i-- {
		h = chain[i](h)
	}
	return h
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

// validatedRouter registers the generated routes with request validation in front of each, and
// nothing else: routes outside the spec (pages, docs) are not validated against it.
type validatedRouter struct {
	e        *echo.Echo
	validate func(method, path string) echo.MiddlewareFunc
}

// wrap puts the route's middleware (NUL refusal, validation, then m) around h once, here: Echo
// would apply a route's middleware anew on every request.
func (r validatedRouter) wrap(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) echo.HandlerFunc {
	return around(h, append([]echo.MiddlewareFunc{refuseNUL, r.validate(method, path)}, m...))
}

func (r validatedRouter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.CONNECT(p, r.wrap(http.MethodConnect, p, h, m))
}
func (r validatedRouter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.DELETE(p, r.wrap(http.MethodDelete, p, h, m))
}
func (r validatedRouter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.GET(p, r.wrap(http.MethodGet, p, h, m))
}
func (r validatedRouter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.HEAD(p, r.wrap(http.MethodHead, p, h, m))
}
func (r validatedRouter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.OPTIONS(p, r.wrap(http.MethodOptions, p, h, m))
}
func (r validatedRouter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.PATCH(p, r.wrap(http.MethodPatch, p, h, m))
}
func (r validatedRouter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.POST(p, r.wrap(http.MethodPost, p, h, m))
}
func (r validatedRouter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.PUT(p, r.wrap(http.MethodPut, p, h, m))
}
func (r validatedRouter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.TRACE(p, r.wrap(http.MethodTrace, p, h, m))
}
