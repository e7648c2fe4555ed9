package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/logline"
)

const headerRequestID = "X-Request-ID"

// canonicalRequestID and canonicalAPIKey are the headers as keys of http.Header, which holds keys
// canonical: Header.Get given a key spelt otherwise ("ID", "API") makes its canonical form anew,
// an allocation on every request.
var (
	canonicalRequestID = http.CanonicalHeaderKey(headerRequestID)
	canonicalAPIKey    = http.CanonicalHeaderKey("X-API-Key")
)

// requestState is what the layers note about one request: made once, by withRequestState, and
// carried on the request's context (one allocation, where values kept on the echo.Context cost a
// map and a boxed value each). It is itself that context: the request's own, which it extends with
// the state (context.WithValue would be an allocation more on every request).
type requestState struct {
	context.Context
	origin    account.Origin // the request id and the client's address as limits count it
	clientIP  string         // the client's address as the access log writes it
	errorCode string         // the error the answer carries, once rendered
	principal *principal     // the caller, once authenticated (principalFrom)
	// idHeader is the X-Request-ID header's value, kept here rather than in an allocation of its
	// own (net/http only reads it; an Add to the header would append to a copy).
	idHeader [1]string
}

type stateKey struct{}

// Value is the state for stateKey, else what the request's context holds.
func (st *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return st
	}
	return st.Context.Value(key)
}

// stateOf is the request's state; a blank one for a context that has none.
func stateOf(ctx context.Context) *requestState {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{Context: ctx}
}

func requestID(c echo.Context) string { return stateOf(c.Request().Context()).origin.RequestID }

// validRequestID accepts a caller's X-Request-ID, to be echoed and recorded as it is, when it is at
// most 128 characters (the activity log's column) of printable ASCII without markup or quoting
// characters (< > & " ' backtick backslash): every id format in use passes (UUIDs, ULIDs, base64,
// W3C traceparent, AWS's Root=...;Parent=...), while nothing a log line, a header or a page that
// shows the activity log could misread gets in. Anything else is replaced by a fresh id.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < ' ' || c > '~' || strings.IndexByte("<>&\"'`\\", c) >= 0 {
			return false
		}
	}
	return true
}

// newRequestID is a random (version 4) UUID. A request id is no secret, so it comes from the
// runtime's per-thread ChaCha8 generator (math/rand/v2) rather than a getrandom call per request.
func newRequestID() string {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// withRequestState gives the request its state and the context the layers below read, in one copy
// of the request. It echoes the caller's X-Request-ID, or makes one, on every response; notes the
// client's address (the socket's, or with trusted proxies configured, the first address in
// X-Forwarded-For that is not one of them); and gives the request a deadline
// PINBRIDGE_REQUEST_TIMEOUT from now, which its context carries to the database, where a query
// still running then is cancelled (see store.Open and deadlineErrors). A route that waits on
// nothing (waitsOnNothing) gets no deadline: there is nothing for one to cut short, and making and
// stopping its timer was a tenth of the liveness probe's CPU over the network.
func (s *Server) withRequestState(next echo.HandlerFunc) echo.HandlerFunc {
	timeout := s.cfg.HTTP.RequestTimeout
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(canonicalRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		ip := c.RealIP()
		st := &requestState{Context: r.Context(), origin: account.Origin{RequestID: id, Source: limitSubject(ip)}, clientIP: ip, idHeader: [1]string{id}}
		c.Response().Header()[canonicalRequestID] = st.idHeader[:]
		var ctx context.Context = st
		if timeout > 0 && !waitsOnNothing[c.Path()] {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, timeout, errRequestDeadline)
			defer cancel()
		}
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// waitsOnNothing are the routes (Echo paths) whose handlers answer from memory without waiting on
// the database, the password pool or anything else: the liveness probe, which load balancers call
// every few seconds, answers from the password pool's queue length and bodies encoded at start.
var waitsOnNothing = map[string]bool{"/healthz": true}

// Header values made once, for the headers every response (or every JSON answer) carries: a header
// set from these shares them (net/http only reads them; Header.Add would append to a copy). No code
// may change a header's value in place (h[k][0] = ..., sorting it): every response would carry it.
var (
	valueNoSniff   = []string{"nosniff"}
	valueDeny      = []string{"DENY"}
	valueNoRefer   = []string{"no-referrer"}
	valueNoStore   = []string{"no-store"}
	valueAPIPolicy = []string{"default-src 'none'; frame-ancestors 'none'"}
	valueHSTS      = []string{"max-age=63072000; includeSubDomains"}
	valueJSON      = []string{"application/json"}
)

// securityHeaders sets the headers every response carries. Pages that need a looser policy set
// their own.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = valueNoSniff
		h["X-Frame-Options"] = valueDeny
		h["Referrer-Policy"] = valueNoRefer
		h["Cache-Control"] = valueNoStore
		h["Content-Security-Policy"] = valueAPIPolicy
		if c.Request().TLS != nil {
			h["Strict-Transport-Security"] = valueHSTS
		}
		return next(c)
	}
}

// accessLog writes one line per request. It logs the route template, never the raw URL: query
// strings carry one-time tokens.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	// The service's own handler (main's) takes the line's parts as they are; any other gets a record.
	lines, direct := s.log.Handler().(*logline.Handler)
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Render here so the status below is the one sent.
			c.Error(err)
		}
		status := c.Response().Status
		end := time.Now()
		elapsed := end.Sub(start)
		s.metrics.observe(c, status, elapsed)
		ctx := c.Request().Context()
		if !s.log.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		st := stateOf(ctx)
		// Room for every attribute below: the slice stays on the stack.
		attrs := make([]slog.Attr, 0, 11)
		attrs = append(attrs,
			slog.String("request_id", st.origin.RequestID),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int64("bytes_out", c.Response().Size),
			slog.String("client_ip", st.clientIP),
		)
		if st.errorCode != "" {
			attrs = append(attrs, slog.String("error_code", st.errorCode))
		}
		if wt := s.cfg.HTTP.WriteTimeout; wt > 0 && elapsed >= wt {
			// net/http's write deadline has passed: whatever was written, the client got nothing.
			attrs = append(attrs, slog.Bool("undelivered", true))
		}
		if p := st.principal; p != nil {
			if p.account != nil {
				attrs = append(attrs, slog.String("user_id", p.account.User.ID))
			}
			attrs = append(attrs, slog.String("organization_id", p.organizationID))
		}
		// Straight to the handler, as Logger.LogAttrs would hand it, but without the caller's program
		// counter, which it takes on every call (runtime.Callers: about 4% of the cheapest request)
		// and which would only ever name this function.
		if direct {
			_ = lines.HandleAttrs(ctx, end, slog.LevelInfo, "request", attrs)
			return nil
		}
		r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		r.AddAttrs(attrs...)
		_ = s.log.Handler().Handle(ctx, r)
		return nil
	}
}

// recoverPanics turns a panic into an ordinary 500 with the stack logged.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic", slog.String("request_id", requestID(c)), slog.String("stack", string(debug.Stack())))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}
