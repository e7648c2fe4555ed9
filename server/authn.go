package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/apikey"
	"github.com/pinbridge/pinbridge-auth/store"
)

// access is what an operation accepts, read from its `security` in openapi.yaml.
type access int

const (
	accessPublic       access = iota // security: []
	accessSession                    // BearerAuth only
	accessSessionOrKey               // BearerAuth, ApiKeyHeader or ApiKeyBearer
)

// apiKeyPrefixes start every API key; a bearer value with one of them is treated as a key.
var apiKeyPrefixes = []string{"pb_live_", "pb_test_"}

// accessTable maps each operation (lower-cased operationId, as the strict middleware names it in
// another case) to what it accepts.
func accessTable(spec *openapi3.T) map[string]access {
	table := map[string]access{}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			reqs := spec.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			a := accessPublic
			for _, req := range reqs {
				for scheme := range req {
					switch {
					case scheme == "ApiKeyHeader" || scheme == "ApiKeyBearer":
						a = accessSessionOrKey
					case a == accessPublic:
						a = accessSession
					}
				}
			}
			table[strings.ToLower(op.OperationID)] = a
		}
	}
	return table
}

// principal is who is calling: a user session (account set) or an API key (key set).
type principal struct {
	organizationID string
	projectID      string
	account        *store.Account // session only
	project        store.Project  // session only: the active project
	authenticated  time.Time      // session only: when the user last proved their password
	key            *store.APIKey  // API key only
	// keyAccounts are the Pinterest accounts the API key may act on, loaded with it (API key only).
	keyAccounts []store.PinterestAccount
}

// callerOf is the session's user as the account flows know them (session operations only).
func callerOf(ctx context.Context) account.Caller {
	p := principalFrom(ctx)
	return account.Caller{Account: *p.account, Project: p.project, Origin: originOf(ctx), Authenticated: p.authenticated}
}

// principalFrom is the request's principal; nil before authentication and for public operations.
func principalFrom(ctx context.Context) *principal { return stateOf(ctx).principal }

// authenticate is the strict middleware that checks credentials once per request and puts the
// principal into the request's context; handlers of protected operations can rely on it.
func (s *Server) authenticate(next gen.StrictHandlerFunc, operationID string) gen.StrictHandlerFunc {
	op := s.authenticationOf(operationID)
	if op.access == accessPublic {
		return next
	}
	return func(c echo.Context, request any) (any, error) {
		p, err := s.principalFor(c.Request(), op.access, op.load)
		if err != nil {
			return nil, err
		}
		stateOf(c.Request().Context()).principal = p
		return next(c, request)
	}
}

// authentication is how an operation authenticates its caller: who may call it and what is read of them.
type authentication struct {
	access access
	load   principalLoad
}

// authenticationOf works out an operation's authentication once: the strict handler applies its
// middleware anew on every request.
func (s *Server) authenticationOf(operationID string) *authentication {
	if op, ok := s.authentications.Load(operationID); ok {
		return op.(*authentication)
	}
	acc, ok := s.access[strings.ToLower(operationID)]
	if !ok {
		// An operation the spec does not list cannot be reached; refuse rather than guess.
		acc = accessSession
	}
	op := &authentication{access: acc, load: principalLoad{account: s.store.Account, key: s.store.APIKeyAccess}}
	if summaryOperations[strings.ToLower(operationID)] {
		op.load = principalLoad{account: s.store.AccountSummary, key: s.store.APIKeyAccessSummary}
	}
	s.authentications.Store(operationID, op)
	return op
}

// summaryOperations are the operations whose handlers read no more of the caller than the
// summaries hold: of a session's account, what store.AccountSummary reads (no password hash,
// pending email change or billing profile); of an API key, what store.APIKeyAccessSummary reads (no
// name, prefix or creator). Their authentication reads the narrower joins. Each is a read that
// records nothing; anything that acts for the caller (callerOf, activity events) needs the whole.
var summaryOperations = map[string]bool{"getme": true, "listpinterestaccounts": true}

// principalLoad reads what authentication needs of a session's account and of an API key: all of
// it, or the summaries.
type principalLoad struct {
	account func(ctx context.Context, userID, orgID string) (store.Account, error)
	key     func(ctx context.Context, hash string) (store.KeyAccess, error)
}

// credential picks the request's credential: Authorization when present, else X-API-Key.
func credential(r *http.Request) (value string, isKey bool, present bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, found := strings.Cut(strings.TrimSpace(auth), " ")
		token = strings.TrimSpace(token)
		if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", false, true
		}
		return token, hasKeyPrefix(token), true
	}
	if key := strings.TrimSpace(r.Header.Get(canonicalAPIKey)); key != "" {
		return key, true, true
	}
	return "", false, false
}

func hasKeyPrefix(v string) bool {
	for _, p := range apiKeyPrefixes {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

func (s *Server) principalFor(r *http.Request, acc access, load principalLoad) (*principal, error) {
	value, isKey, present := credential(r)
	switch {
	case !present && acc == accessSessionOrKey:
		return nil, errMissingAPIKey
	case !present:
		return nil, errMissingAccessToken
	case isKey:
		return s.keyPrincipal(r.Context(), value, acc, r.Method, load.key)
	case value == "":
		return nil, errInvalidAccessToken
	}
	return s.sessionPrincipal(r.Context(), value, load.account)
}

// sessionPrincipal accepts a session JWT whose user, organization and project still exist and
// which carries the user's current session version: ending a user's sessions (password reset or
// change) increments it, so every token issued before is refused, even within the same second.
func (s *Server) sessionPrincipal(ctx context.Context, token string, load func(ctx context.Context, userID, orgID string) (store.Account, error)) (*principal, error) {
	claims, err := s.sessions.Parse(token)
	if err != nil {
		return nil, errInvalidAccessToken
	}
	account, err := load(ctx, claims.Subject, claims.OrganizationID)
	if err != nil {
		return nil, notFoundAs(err, errInvalidAccessToken)
	}
	if account.Organization.ID != claims.OrganizationID || *claims.SessionVersion != account.User.SessionVersion {
		return nil, errInvalidAccessToken
	}
	project, ok := account.Project(claims.ProjectID)
	if !ok {
		return nil, errInvalidAccessToken
	}
	return &principal{organizationID: account.Organization.ID, projectID: project.ID, account: &account, project: project,
		authenticated: claims.Authenticated()}, nil
}

// keyPrincipal resolves an API key: its format and checksum first (a malformed key never reaches
// the database), then one indexed lookup by hash that also loads the accounts the key may act on,
// read fresh on every request so a revocation is effective on the next request on every instance.
// A valid key on a session-only operation gets 403 session_required; one without the scope its
// method needs gets 403 insufficient_scope.
func (s *Server) keyPrincipal(ctx context.Context, value string, acc access, method string,
	load func(ctx context.Context, hash string) (store.KeyAccess, error)) (*principal, error) {
	if _, err := apikey.Check(value); err != nil {
		return nil, errInvalidAPIKey
	}
	hash := apikey.Hash(value)
	access, err := load(ctx, hash)
	if err != nil {
		return nil, notFoundAs(err, errInvalidAPIKey)
	}
	key := access.Key
	now := s.now()
	if subtle.ConstantTimeCompare([]byte(key.SecretHash), []byte(hash)) != 1 || !key.Usable(now) {
		return nil, errInvalidAPIKey
	}
	if acc != accessSessionOrKey {
		return nil, errSessionRequired
	}
	if scope := scopeFor(method); !key.HasScope(scope) {
		return nil, errInsufficientScope(scope)
	}
	s.usage.Note(key, now)
	return &principal{organizationID: key.OrganizationID, projectID: key.ProjectID, key: &key, keyAccounts: access.Accounts}, nil
}

// scopeFor is the API-key scope a method needs: read for GET, write for POST/PUT/PATCH,
// destructive for DELETE.
func scopeFor(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return store.ScopeRead
	case http.MethodDelete:
		return store.ScopeDestructive
	}
	return store.ScopeWrite
}
