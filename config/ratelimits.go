package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// RateRule is one rate limit: at most Limit hits per Window for one subject (an IP, an email, a
// user, an organization). The server counts hits in the database, so every instance shares them.
type RateRule struct {
	// Name is what PINBRIDGE_RATE_LIMITS overrides and what the counters and metrics are keyed on.
	Name   string
	Limit  int
	Window time.Duration
}

// rateRules is the table every limit below registers itself in, in declaration order: the names
// PINBRIDGE_RATE_LIMITS may override. A limit declared with rateRule is in it; there is no second
// list to forget.
var rateRules []RateRule

// rateRule declares one limit of the table. Two limits with one name are a programming error.
func rateRule(name string, limit int, window time.Duration) RateRule {
	for _, r := range rateRules {
		if r.Name == name {
			panic("config: rate limit " + name + " declared twice")
		}
	}
	r := RateRule{Name: name, Limit: limit, Window: window}
	rateRules = append(rateRules, r)
	return r
}

// The rate limits, before PINBRIDGE_RATE_LIMIT_SCALE and PINBRIDGE_RATE_LIMITS (README.md, Security,
// lists them for operators). A new limit is declared here and nowhere else in configuration.
var (
	LimitRegisterIP      = rateRule("register:ip", 10, 10*time.Minute)
	LimitRegisterEmail   = rateRule("register:email", 5, 10*time.Minute)
	LimitLoginIP         = rateRule("login:ip", 60, time.Minute)
	LimitLoginEmail      = rateRule("login:email", 30, 10*time.Minute)
	LimitForgotIP        = rateRule("forgot:ip", 10, 10*time.Minute)
	LimitForgotEmail     = rateRule("forgot:email", 3, 10*time.Minute)
	LimitResetIP         = rateRule("reset:ip", 20, 10*time.Minute)
	LimitLinkIP          = rateRule("link:ip", 30, 10*time.Minute) // email verify and email-change confirm
	LimitVerifyUser      = rateRule("verify-request:user", 5, 10*time.Minute)
	LimitEmailChangeUser = rateRule("email-change:user", 5, 10*time.Minute)
	LimitSessionIP       = rateRule("account:ip", 60, 10*time.Minute) // verification and email-change requests
	LimitSandboxResetOrg = rateRule("sandbox-reset:org", 10, 10*time.Minute)
	LimitKeyCreateOrg    = rateRule("key-create:org", 30, 10*time.Minute)
	LimitKeyCreateIP     = rateRule("key-create:ip", 60, 10*time.Minute)
	LimitInviteOrg       = rateRule("invite:org", 50, time.Hour)  // invitations sent or resent, per organization
	LimitInviteUser      = rateRule("invite:user", 20, time.Hour) // and per inviter
	LimitKeyRotateOrg    = rateRule("key-rotate:org", 30, 10*time.Minute)
	LimitLeakReportIP    = rateRule("leak-report:ip", 60, time.Minute) // secret scanning reports
)

// RateRules returns every rate limit with its defaults, in declaration order (a copy).
func RateRules() []RateRule { return slices.Clone(rateRules) }

// rateRuleNamed finds a limit of the table by name.
func rateRuleNamed(name string) (RateRule, bool) {
	i := slices.IndexFunc(rateRules, func(r RateRule) bool { return r.Name == name })
	if i < 0 {
		return RateRule{}, false
	}
	return rateRules[i], true
}

// CheckOverrides refuses overrides of limits the table does not have (a typo would otherwise
// silently keep the default): one error per unknown name, each naming PINBRIDGE_RATE_LIMITS. Load
// already checks; a Config built by hand (tests) is checked again by server.New.
func (l Limits) CheckOverrides() error {
	var unknown []string
	for name := range l.Overrides {
		if _, ok := rateRuleNamed(name); !ok {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	errs := make([]error, 0, len(unknown))
	for _, name := range unknown {
		errs = append(errs, fmt.Errorf("PINBRIDGE_RATE_LIMITS: unknown limit %q (known: %s)", name, knownRateNames()))
	}
	return errors.Join(errs...)
}

func knownRateNames() string {
	names := make([]string, len(rateRules))
	for i, r := range rateRules {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// Effective returns r as it applies: its override from PINBRIDGE_RATE_LIMITS if any, then its
// limit multiplied by Scale (rounded up).
func (l Limits) Effective(r RateRule) RateRule {
	if o, ok := l.Overrides[r.Name]; ok {
		r.Limit, r.Window = o.Limit, o.Window
	}
	r.Limit = int(math.Ceil(float64(r.Limit) * l.Scale))
	return r
}
