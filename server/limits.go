package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	echomiddleware "github.com/labstack/echo/v4/middleware"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/store"
)

// rule is one rate limit of config's table (config.RateRules): the one list of names, defaults and
// windows, which PINBRIDGE_RATE_LIMITS is checked against.
type rule = config.RateRule

// The limits the handlers apply, by their names in this package.
var (
	limitRegisterIP      = config.LimitRegisterIP
	limitRegisterEmail   = config.LimitRegisterEmail
	limitLoginIP         = config.LimitLoginIP
	limitLoginEmail      = config.LimitLoginEmail
	limitForgotIP        = config.LimitForgotIP
	limitForgotEmail     = config.LimitForgotEmail
	limitResetIP         = config.LimitResetIP
	limitLinkIP          = config.LimitLinkIP
	limitVerifyUser      = config.LimitVerifyUser
	limitEmailChangeUser = config.LimitEmailChangeUser
	limitSessionIP       = config.LimitSessionIP
	limitSandboxResetOrg = config.LimitSandboxResetOrg
	limitKeyCreateOrg    = config.LimitKeyCreateOrg
	limitKeyCreateIP     = config.LimitKeyCreateIP
	limitInviteOrg       = config.LimitInviteOrg
	limitInviteUser      = config.LimitInviteUser
	limitKeyRotateOrg    = config.LimitKeyRotateOrg
	limitLeakReportIP    = config.LimitLeakReportIP
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

// limit counts one hit of r for subject and refuses it past the limit (fixed windows).
func (s *Server) limit(ctx context.Context, r rule, subject string) error {
	return s.limits(ctx, limitCheck{r, subject})
}

// limitCheck is one limit a request is counted under: a rule and its subject.
type limitCheck struct {
	rule    rule
	subject string
}

// limits counts one hit of each check in one statement, and refuses the request past any of the
// limits, with a Retry-After for the last of their windows to end. A request counts under every
// limit it is checked under, also when another refuses it: so checks after the first must be
// narrower than it (the same address, per email) or the caller's own (the inviter), never a limit
// others share that the first would have kept them from (limitAccount).
func (s *Server) limits(ctx context.Context, checks ...limitCheck) error {
	now := s.now()
	hits := make([]store.RateHit, len(checks))
	rules := make([]rule, len(checks))
	ends := make([]time.Time, len(checks))
	for i, c := range checks {
		r := s.cfg.Limits.Effective(c.rule)
		rules[i] = r
		start := now.Truncate(r.Window)
		ends[i] = start.Add(r.Window)
		hits[i] = store.RateHit{Bucket: r.Name + ":" + c.subject + ":" + strconv.FormatInt(start.Unix(), 10), Expires: ends[i]}
	}
	counts, err := s.store.HitAll(ctx, hits...)
	if err != nil {
		return err
	}
	if purgeTick.Add(1)%512 == 0 {
		// Only buckets whose window ended a while ago: one still counted by a request of another
		// instance (whose clock may lag) is never deleted under it, which could make that request's
		// count and this purge wait on each other's rows.
		if err := s.store.PurgeRateLimits(ctx, now.Add(-purgeMargin)); err != nil {
			s.log.Warn("purge rate limits", "error", err.Error())
		}
	}
	var refused time.Time
	for i, r := range rules {
		if counts[i] > r.Limit {
			s.metrics.rateLimited.WithLabelValues(r.Name).Inc()
			if ends[i].After(refused) {
				refused = ends[i]
			}
		}
	}
	if !refused.IsZero() {
		return errRateLimited(refused.Sub(now))
	}
	return nil
}

// purgeMargin is how long past its window's end a rate-limit bucket is kept.
const purgeMargin = time.Minute

// limitAccount applies r to subject (a user or an organization) and then ipRule to the client's
// address, which only the requests r lets through count against: one user past their own limit
// does not use up the address's, which others behind the same address share.
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

// originOf is where the request came from, as the account flows record it: its request id and the
// client's address.
func originOf(ctx context.Context) account.Origin { return stateOf(ctx).origin }

// clientIP is the client's address as limits and login throttles count it: an IPv4 address, or
// the /64 network of an IPv6 address (one host commonly holds a whole /64, which would otherwise
// give it unlimited "addresses").
func clientIP(ctx context.Context) string { return originOf(ctx).Source }

// limitSubject reduces an address to what is counted: IPv6 to its /64.
func limitSubject(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return ip
	}
	prefix, err := addr.Prefix(64)
	if err != nil {
		return ip
	}
	return prefix.String()
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
