package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/store"
)

// apiError is every failure the API answers on purpose: a status, a code from the contract's
// closed list, a message safe to show, and an optional cause that is logged, never sent.
type apiError struct {
	status     int
	code       gen.ErrorCode
	message    string
	issues     []gen.ValidationIssue
	retryAfter int
	cause      error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %v", e.status, e.code, e.cause)
	}
	return fmt.Sprintf("%d %s", e.status, e.code)
}

func (e *apiError) Unwrap() error { return e.cause }

func newError(status int, code gen.ErrorCode, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// The errors of the contract, with the exact texts the public guide gives.
var (
	errMissingAPIKey       = newError(http.StatusUnauthorized, gen.ErrorCodeMissingAPIKey, "Missing API key")
	errMissingAccessToken  = newError(http.StatusUnauthorized, gen.ErrorCodeMissingAccessToken, "Missing access token")
	errInvalidAPIKey       = newError(http.StatusUnauthorized, gen.ErrorCodeInvalidAPIKey, "Invalid API key")
	errInvalidAccessToken  = newError(http.StatusUnauthorized, gen.ErrorCodeInvalidAccessToken, "Invalid access token")
	errInvalidCredentials  = newError(http.StatusUnauthorized, gen.ErrorCodeInvalidCredentials, "Invalid email or password")
	errSessionRequired     = newError(http.StatusForbidden, gen.ErrorCodeSessionRequired, "This endpoint needs a user session (a JWT from login or register); API keys cannot use it")
	errAccountExists       = newError(http.StatusConflict, gen.ErrorCodeAccountExists, "Account already exists")
	errPayloadTooLarge     = newError(http.StatusRequestEntityTooLarge, gen.ErrorCodePayloadTooLarge, "Request body too large")
	errMethodNotAllowed    = newError(http.StatusMethodNotAllowed, gen.ErrorCodeMethodNotAllowed, "Method not allowed")
	errInvalidResetToken   = newError(http.StatusBadRequest, gen.ErrorCodeInvalidResetToken, "Invalid or expired password reset token")
	errInvalidVerification = newError(http.StatusBadRequest, gen.ErrorCodeInvalidVerificationToken, "The verification link is invalid or has expired")
	errIncorrectPassword   = newError(http.StatusBadRequest, gen.ErrorCodeIncorrectPassword, "The current password is incorrect")
)

// errUnsupportedMedia is a 422 like every other malformed request (the contract has no 415).
var errUnsupportedMedia = errValidation(gen.ValidationIssue{
	Loc: []string{"header", "Content-Type"}, Msg: "must be application/json", Type: "unsupported_media_type",
})

func errInsufficientScope(scope string) *apiError {
	return newError(http.StatusForbidden, gen.ErrorCodeInsufficientScope, fmt.Sprintf("This API key lacks the %q scope this request needs", scope))
}

func errNotFound(what string) *apiError {
	return newError(http.StatusNotFound, gen.ErrorCodeNotFound, what+" not found")
}

// notFoundAs answers a missing row (store.ErrNotFound) with what the API says instead, and passes
// any other error through.
func notFoundAs(err error, answer error) error {
	if errors.Is(err, store.ErrNotFound) {
		return answer
	}
	return err
}

func errUnavailable(cause error) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, code: gen.ErrorCodeUnavailable,
		message: "Service temporarily unavailable; retry later", retryAfter: 1, cause: cause}
}

// flowErrors are the answers to the account flows' sentinel errors.
var flowErrors = []struct {
	err    error
	answer *apiError
}{
	{account.ErrAccountExists, errAccountExists},
	{account.ErrInvalidCredentials, errInvalidCredentials},
	{account.ErrIncorrectPassword, errIncorrectPassword},
	{account.ErrInvalidResetToken, errInvalidResetToken},
	{account.ErrInvalidVerification, errInvalidVerification},
	{account.ErrKeyNotFound, errNotFound("API key")},
	{account.ErrProjectNotFound, errNotFound("Project")},
	{account.ErrSandboxNotFound, errNotFound("Sandbox project")},
	{account.ErrMemberNotFound, errNotFound("Member")},
	{account.ErrNotAMember, errInvalidAccessToken},
	{account.ErrSessionEnded, errInvalidAccessToken},
	{account.ErrKeyNotRotatable, newError(http.StatusConflict, gen.ErrorCodeKeyNotRotatable, "This API key is revoked or was already rotated")},
	{account.ErrReportReplayed, newError(http.StatusBadRequest, gen.ErrorCodeReportReplayed, "This report was already received; nothing changed")},
	{account.ErrReauthenticationRequired, newError(http.StatusForbidden, gen.ErrorCodeReauthenticationRequired, "Confirm your current password (current_password) to make this change")},
	{account.ErrInvitationNotFound, errNotFound("Invitation")},
	{account.ErrInvalidInvitation, newError(http.StatusBadRequest, gen.ErrorCodeInvalidInvitationToken, "The invitation is invalid, expired, revoked or already used")},
	{account.ErrInvitationForAnother, newError(http.StatusForbidden, gen.ErrorCodeInvitationEmailMismatch, "This invitation is for another email address; sign in with the invited address")},
	{account.ErrLastOwner, newError(http.StatusConflict, gen.ErrorCodeLastOwner, "An organization keeps at least one owner")},
	{account.ErrHandOverUnsettled, newError(http.StatusForbidden, gen.ErrorCodeInsufficientPermission,
		"Making someone an owner needs a verified email address with no change pending or still revertible; verify your address first, or wait until a recent change can no longer be reverted")},
}

// flowError is the answer to an error of the account flows; nil for any other error.
func flowError(err error) *apiError {
	var fe *account.FieldError
	if errors.As(err, &fe) {
		if fe.Type == account.TypeWeakPassword {
			return errWeakPassword(fe.Field, fe.Msg)
		}
		if fe.In != "" {
			return errValidation(gen.ValidationIssue{Loc: []string{fe.In, fe.Field}, Msg: fe.Msg, Type: fe.Type})
		}
		return fieldError(fe.Field, fe.Type, fe.Msg)
	}
	var be *account.BackoffError
	if errors.As(err, &be) {
		return errRateLimited(be.Wait)
	}
	var pe *account.PermissionError
	if errors.As(err, &pe) {
		if pe.Permission == "owner" {
			return newError(http.StatusForbidden, gen.ErrorCodeInsufficientPermission, "Only an owner can grant, take away or remove the owner role")
		}
		return newError(http.StatusForbidden, gen.ErrorCodeInsufficientPermission, fmt.Sprintf("Your role lacks the %q permission this request needs", pe.Permission))
	}
	for _, f := range flowErrors {
		if errors.Is(err, f.err) {
			return f.answer
		}
	}
	return nil
}

// maxIssues bounds the entries of a 422's errors (and its message): without it a 58 KB body of
// 6,000 unknown fields got a 748 KB answer. The first issues are the ones a caller fixes first.
const maxIssues = 21

// errValidation is a 422 naming the offending field(s): all of them up to maxIssues, else the first
// maxIssues-1 and one more issue (type too_many_errors, at the location the rest share) counting
// the rest, which the message also counts.
func errValidation(issues ...gen.ValidationIssue) *apiError {
	var more []gen.ValidationIssue
	if len(issues) > maxIssues {
		issues, more = issues[:maxIssues-1:maxIssues-1], issues[maxIssues-1:]
	}
	msg := "Invalid request"
	for i, is := range issues {
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		msg += sep + joinLoc(is.Loc) + ": " + is.Msg
	}
	if len(more) > 0 {
		msg += fmt.Sprintf("; ... and %d more", len(more))
		issues = append(issues, gen.ValidationIssue{
			Loc: commonLoc(more), Msg: fmt.Sprintf("%d more issues not listed", len(more)), Type: "too_many_errors",
		})
	}
	return &apiError{status: http.StatusUnprocessableEntity, code: gen.ErrorCodeValidationError, message: msg, issues: issues}
}

// commonLoc is where all the issues are: the longest prefix their locs share, or ["request"] when
// they share none.
func commonLoc(issues []gen.ValidationIssue) []string {
	prefix := issues[0].Loc
	for _, is := range issues[1:] {
		n := 0
		for n < len(prefix) && n < len(is.Loc) && prefix[n] == is.Loc[n] {
			n++
		}
		prefix = prefix[:n]
	}
	if len(prefix) == 0 {
		return []string{"request"}
	}
	return slices.Clone(prefix)
}

// fieldError is a 422 for one body field that failed a rule the schema cannot express.
func fieldError(field, kind, msg string) *apiError {
	return errValidation(gen.ValidationIssue{Loc: []string{"body", field}, Msg: msg, Type: kind})
}

func errWeakPassword(field, msg string) *apiError {
	e := fieldError(field, "weak_password", msg)
	e.code = gen.ErrorCodeWeakPassword
	e.message = "Password too weak: " + msg
	return e
}

func joinLoc(loc []string) string {
	out := ""
	for i, l := range loc {
		if i > 0 {
			out += "."
		}
		out += l
	}
	return out
}

// renderError is Echo's error handler: the one place an error becomes a response. Expected errors
// keep their status and code; anything else is a generic 500 carrying the request id, with the cause
// logged beside that id.
func (s *Server) renderError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := s.classify(err)
	if errors.Is(err, password.ErrBusy) {
		s.metrics.hashBusy.Inc()
	}
	// Only server-side failures are logged with their cause; causes never carry request values
	// (4xx validation errors, which may quote a password, are not logged at all).
	if ae.status >= 500 {
		level := slog.LevelError
		if ae.status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(c.Request().Context(), level, "request failed",
			slog.String("request_id", requestID(c)), slog.Int("status", ae.status), slog.String("error", err.Error()))
	}
	body := gen.Error{Detail: gen.ErrorDetail{Code: ae.code, Message: ae.message}}
	if len(ae.issues) > 0 {
		body.Detail.Errors = &ae.issues
	}
	if ae.status == http.StatusInternalServerError {
		id := requestID(c)
		body.Detail.Message = fmt.Sprintf("Internal server error (request id %s)", id)
		body.Detail.RequestID = &id
	}
	if ae.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	if ae.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="pinbridge"`)
	}
	stateOf(c.Request().Context()).errorCode = string(ae.code)
	if err := c.JSON(ae.status, body); err != nil {
		s.log.Warn("write error response", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
	}
}

func (s *Server) classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if ae := flowError(err); ae != nil {
		return ae
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return errNotFound("Resource")
		case http.StatusMethodNotAllowed:
			return errMethodNotAllowed
		case http.StatusRequestEntityTooLarge:
			return errPayloadTooLarge
		case http.StatusUnsupportedMediaType:
			return errUnsupportedMedia
		case http.StatusBadRequest:
			// Echo's binder: the validator has passed the body, so this is a value it could not decode.
			return errValidation(gen.ValidationIssue{Loc: []string{"body"}, Msg: "request body could not be decoded", Type: "value_error"})
		}
	}
	switch {
	case errors.Is(err, password.ErrBusy):
		return &apiError{status: http.StatusServiceUnavailable, code: gen.ErrorCodeUnavailable,
			message: "Server is busy; retry later", retryAfter: 1, cause: err}
	case store.IsUnavailable(err), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return errUnavailable(err)
	}
	return &apiError{status: http.StatusInternalServerError, code: gen.ErrorCodeInternalError,
		message: "Internal server error", cause: err}
}
