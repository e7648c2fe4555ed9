package account

import (
	"errors"
	"time"
)

// The failures a caller can act on. Every other error a flow returns is unexpected.
var (
	ErrAccountExists       = errors.New("account already exists")
	ErrInvalidCredentials  = errors.New("invalid email or password")
	ErrIncorrectPassword   = errors.New("current password is incorrect")
	ErrInvalidResetToken   = errors.New("invalid or expired password reset token")
	ErrInvalidVerification = errors.New("invalid or expired verification link")
	ErrKeyNotFound         = errors.New("api key not found")
	ErrProjectNotFound     = errors.New("project not found")
	ErrSandboxNotFound     = errors.New("sandbox project not found")
	// ErrSessionEnded: the caller's sessions ended (a reset, a password change, a revert) while the
	// request ran.
	ErrSessionEnded = errors.New("the session ended")
	// ErrNotAMember: the caller was removed from the organization while the request ran.
	ErrNotAMember = errors.New("not a member of the organization")
	// ErrReauthenticationRequired refuses a sensitive change from a session that proved the
	// password too long ago, when no correct current password came with it.
	ErrReauthenticationRequired = errors.New("reauthentication required")
)

// FieldError is an input that breaks a rule the API schema cannot express; Field names it as the
// request does, in the part of the request In says ("" is the body, else "query").
type FieldError struct {
	In    string
	Field string
	Type  string // value_error, or weak_password for a password refused as guessable
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// TypeWeakPassword marks a FieldError about a guessable password.
const TypeWeakPassword = "weak_password"

func invalid(field, msg string) error {
	return &FieldError{Field: field, Type: "value_error", Msg: msg}
}

func weakPassword(field, msg string) error {
	return &FieldError{Field: field, Type: TypeWeakPassword, Msg: msg}
}

// BackoffError refuses an attempt made before the wait after repeated failures is over.
type BackoffError struct{ Wait time.Duration }

func (e *BackoffError) Error() string { return "retry after " + e.Wait.String() }
