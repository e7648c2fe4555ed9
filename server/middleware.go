package server

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// Keys of values kept on the echo.Context for the request log.
const (
	ctxRequestID = "pinbridge.request_id"
	ctxErrorCode = "pinbridge.error_code"
	ctxUserID    = "pinbridge.user_id"
	ctxOrgID     = "pinbridge.organization_id"
)

const headerRequestID = "X-Request-ID"

func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// validRequestID accepts a caller's X-Request-ID only when it is short and plain, so it cannot
// forge log lines or smuggle anything into headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
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

// withRequestID echoes the caller's X-Request-ID, or makes one, on every response.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(headerRequestID, id)
		return next(c)
	}
}

// Values of the headers every response carries, made once: a header set from these shares them
// (net/http only reads them; Header.Add would append to a copy).
var (
	valueNoSniff   = []string{"nosniff"}
	valueDeny      = []string{"DENY"}
	valueNoRefer   = []string{"no-referrer"}
	valueNoStore   = []string{"no-store"}
	valueAPIPolicy = []string{"default-src 'none'; frame-ancestors 'none'"}
	valueHSTS      = []string{"max-age=63072000; includeSubDomains"}
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
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Render here so the status below is the one sent.
			c.Error(err)
		}
		status := c.Response().Status
		elapsed := time.Since(start)
		s.metrics.observe(c, status, elapsed)
		ctx := c.Request().Context()
		if !s.log.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		a := accessEntry{
			requestID:  requestID(c),
			method:     c.Request().Method,
			route:      c.Path(),
			status:     status,
			durationMS: float64(elapsed.Microseconds()) / 1000,
			bytesOut:   c.Response().Size,
			clientIP:   c.RealIP(),
			// net/http's write deadline has passed: whatever was written, the client got nothing.
			undelivered: s.cfg.HTTP.WriteTimeout > 0 && elapsed >= s.cfg.HTTP.WriteTimeout,
		}
		a.errorCode, _ = c.Get(ctxErrorCode).(string)
		a.userID, _ = c.Get(ctxUserID).(string)
		a.orgID, _ = c.Get(ctxOrgID).(string)
		if s.accessOut != nil && s.accessOut.write(time.Now(), &a) {
			return nil
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "request", a.attrs()...)
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
