package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	echomiddleware "github.com/labstack/echo/v4/middleware"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/store"
)

// rule is one rate limit: at most limit hits per window for one subject (an IP, an email, a user,
// an organization). Counters live in the database, so every instance shares them.
type rule struct {
	name   string
	limit  int
	window time.Duration
}

// The limits, before PINBRIDGE_RATE_LIMIT_SCALE.
var (
	limitRegisterIP      = rule{"register:ip", 10, 10 * time.Minute}
	limitRegisterEmail   = rule{"register:email", 5, 10 * time.Minute}
	limitLoginIP         = rule{"login:ip", 60, time.Minute}
	limitLoginEmail      = rule{"login:email", 30, 10 * time.Minute}
	limitForgotIP        = rule{"forgot:ip", 10, 10 * time.Minute}
	limitForgotEmail     = rule{"forgot:email", 3, 10 * time.Minute}
	limitResetIP         = rule{"reset:ip", 20, 10 * time.Minute}
	limitLinkIP          = rule{"link:ip", 30, 10 * time.Minute} // email verify and email-change confirm
	limitVerifyUser      = rule{"verify-request:user", 5, 10 * time.Minute}
	limitEmailChangeUser = rule{"email-change:user", 5, 10 * time.Minute}
	limitSessionIP       = rule{"account:ip", 60, 10 * time.Minute} // verification and email-change requests
	limitSandboxResetOrg = rule{"sandbox-reset:org", 10, 10 * time.Minute}
	limitKeyCreateOrg    = rule{"key-create:org", 30, 10 * time.Minute}
	limitKeyCreateIP     = rule{"key-create:ip", 60, 10 * time.Minute}
)

func errRateLimited(retryAfter time.Duration) *apiError {
	secs := int(math.Ceil(retryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &apiError{status: http.StatusTooManyRequests, code: gen.ErrorCodeRateLimited,
		message: fmt.Sprintf("Too many requests; retry in %d seconds", secs), retryAfter: secs}
}

var purgeTick atomic.Uint64

// knownLimits are the names PINBRIDGE_RATE_LIMITS may override.
var knownLimits = []rule{limitRegisterIP, limitRegisterEmail, limitLoginIP, limitLoginEmail, limitForgotIP,
	limitForgotEmail, limitResetIP, limitLinkIP, limitVerifyUser, limitEmailChangeUser, limitSessionIP,
	limitSandboxResetOrg, limitKeyCreateOrg, limitKeyCreateIP}

// checkLimitOverrides refuses overrides of limits that do not exist (a typo would silently keep the
// default).
func checkLimitOverrides(l config.Limits) error {
	for name := range l.Overrides {
		found := false
		for _, r := range knownLimits {
			found = found || r.name == name
		}
		if !found {
			return fmt.Errorf("PINBRIDGE_RATE_LIMITS: unknown limit %q", name)
		}
	}
	return nil
}

// limit counts one hit of r for subject and refuses it past the limit (fixed windows).
func (s *Server) limit(ctx context.Context, r rule, subject string) error {
	if o, ok := s.cfg.Limits.Overrides[r.name]; ok {
		r.limit, r.window = o.Limit, o.Window
	}
	max := int(math.Ceil(float64(r.limit) * s.cfg.Limits.Scale))
	now := s.now()
	start := now.Truncate(r.window)
	end := start.Add(r.window)
	n, err := s.store.Hit(ctx, r.name+":"+subject+":"+strconv.FormatInt(start.Unix(), 10), end)
	if err != nil {
		return err
	}
	if purgeTick.Add(1)%512 == 0 {
		if err := s.store.PurgeRateLimits(ctx, now); err != nil {
			s.log.Warn("purge rate limits", "error", err.Error())
		}
	}
	if n > max {
		s.metrics.rateLimited.WithLabelValues(r.name).Inc()
		return errRateLimited(end.Sub(now))
	}
	return nil
}

// limitAccount applies r to subject (a user or an organization) and ipRule to the client's address.
func (s *Server) limitAccount(ctx context.Context, r rule, subject string, ipRule rule) error {
	if err := s.limit(ctx, r, subject); err != nil {
		return err
	}
	return s.limit(ctx, ipRule, clientIP(ctx))
}

// emailSubject keys limits on an email without storing the address in the counters.
func emailSubject(email string) string {
	sum := sha256.Sum256([]byte(store.EmailKey(email)))
	return hex.EncodeToString(sum[:12])
}

type clientIPKey struct{}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// withClientIP records the client's address for the handlers: the socket's, or with trusted proxies
// configured, the first address in X-Forwarded-For that is not one of them.
func withClientIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), clientIPKey{}, c.RealIP())))
		return next(c)
	}
}

// ipExtractor never trusts forwarding headers unless PINBRIDGE_TRUSTED_PROXIES names the proxy.
func ipExtractor(l config.Limits) echo.IPExtractor {
	if len(l.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range l.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// corsMiddleware allows browsers on the configured origins to call the API; nil when none are.
func corsMiddleware(l config.Limits) echo.MiddlewareFunc {
	if len(l.CORSOrigins) == 0 {
		return nil
	}
	return echomiddleware.CORSWithConfig(echomiddleware.CORSConfig{
		AllowOrigins:  l.CORSOrigins,
		AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:  []string{"Authorization", "X-API-Key", "Content-Type", "X-Request-ID"},
		ExposeHeaders: []string{"X-Request-ID", "Retry-After"},
		MaxAge:        600,
	})
}
