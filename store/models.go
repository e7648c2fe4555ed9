package store

import "time"

// The schema has one definition: the migrations (migrations.go). Column types and lengths, NOT NULL,
// indexes and foreign keys are declared there and nowhere else. The types below only map rows onto
// that schema, so their tags say no more than mapping needs (the primary key); schema_test.go checks
// on every engine that each field lands on a column of a compatible type that holds what it may hold.

// Project environments.
const (
	EnvironmentProduction = "production"
	EnvironmentSandbox    = "sandbox"
)

// PlanFree is the plan of a new project.
const PlanFree = "free"

// Organization is a tenant; it owns projects and carries the billing profile.
type Organization struct {
	ID                string `gorm:"primaryKey"`
	Name              string
	CompanyName       *string
	CompanyWebsite    *string
	BillingEmail      *string
	BillingPhone      *string
	TaxID             *string
	AddressLine1      *string
	AddressLine2      *string
	AddressCity       *string
	AddressState      *string
	AddressPostalCode *string
	AddressCountry    *string
	// AccessVersion counts the changes to the organization's projects and memberships (migration
	// 0050's triggers take turns on it); only the database writes it.
	AccessVersion int64 `gorm:"->"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// User is a person who logs in. EmailKey is the lower-cased email and is unique.
type User struct {
	ID                   string `gorm:"primaryKey"`
	OrganizationID       string
	Email                string
	EmailKey             string
	FullName             string
	Timezone             string
	PasswordHash         string
	EmailVerifiedAt      *time.Time
	SessionsValidAfter   time.Time
	SessionVersion       int64
	MarketingAttribution *string
	PendingEmail         *string
	PendingEmailAt       *time.Time
	ActiveProjectID      *string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// AccessVersion counts the changes to a user's memberships, their organizations' names and those
// organizations' projects. Only the database writes it (migration 0050's triggers); a user with no
// row has version 0.
type AccessVersion struct {
	UserID  string `gorm:"primaryKey"`
	Version int64
}

// Project is a production or sandbox environment of an organization; at most one of each.
type Project struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Name           string
	Environment    string
	Plan           string
	Timezone       string
	// AccountsVersion counts the changes to the project's Pinterest accounts. Only the database
	// writes it (migration 0050's triggers): the store never does, so no stale copy sets it back.
	AccountsVersion int64 `gorm:"->"`
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// APIKey is a long-lived credential of one project. Only the SHA-256 of the key is stored.
type APIKey struct {
	ID                  string `gorm:"primaryKey"`
	ProjectID           string
	OrganizationID      string
	CreatedBy           *string
	Name                string
	Prefix              string
	SecretHash          string
	Scopes              string
	PinterestAccountIDs *string
	Source              string
	LastUsedAt          *time.Time
	ExpiresAt           *time.Time
	RevokedAt           *time.Time
	// RevokedReason says why a key was revoked when no person did it (a reported leak).
	RevokedReason *string
	RotatedFrom   *string // the key this one replaced
	ReplacedBy    *string // the key that replaced this one
	// ExpiryRemindedAt is when the key's managers were told it expires soon (once per key).
	ExpiryRemindedAt *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// PinterestAccount is a Pinterest account connected to a project.
type PinterestAccount struct {
	ID                string `gorm:"primaryKey"`
	ProjectID         string
	PinterestUserID   string
	DisplayName       *string
	Username          *string
	Scopes            string
	RevokedAt         *time.Time
	TokenExpiresAt    *time.Time
	HealthStatus      *string
	HealthMessage     *string
	HealthCheckedAt   *time.Time
	ReconnectRequired bool
	MissingScopes     string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Token purposes.
const (
	PurposePasswordReset = "password_reset"
	PurposeEmailVerify   = "email_verify"
	PurposeEmailChange   = "email_change"
	// PurposeEmailRevert is the "this wasn't me" link to the former address; its payload is that address.
	PurposeEmailRevert = "email_revert"
	// PurposeEmailReclaim is the same link when the former address had never been verified: using
	// it is its owner proving the address for the first time, which also undoes what whoever
	// registered it set up (pre-hijacking).
	PurposeEmailReclaim = "email_reclaim"
)

// RevertPurposes are the purposes of the "this wasn't me" links.
var RevertPurposes = []string{PurposeEmailRevert, PurposeEmailReclaim}

// OneTimeToken is a single-use emailed token; only its SHA-256 is stored.
type OneTimeToken struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	Purpose   string
	TokenHash string
	Payload   *string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// OutboxMessage is an email waiting to be sent (the transactional outbox). Its bodies are blanked
// once it is sent, so links it carried do not outlive their delivery in the database.
type OutboxMessage struct {
	ID            string `gorm:"primaryKey"`
	Kind          string
	ToAddress     string
	Subject       string
	TextBody      string
	HTMLBody      string
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   *time.Time
	LastError     *string
	SentAt        *time.Time
	CreatedAt     time.Time
}

// TableName keeps the outbox's table name what the design calls it.
func (OutboxMessage) TableName() string { return "email_outbox" }

// RateLimit counts hits of one bucket (limit, subject and window) until it expires.
type RateLimit struct {
	Bucket    string `gorm:"primaryKey"`
	Count     int
	ExpiresAt time.Time
}

// LoginThrottle tracks failed logins for one email (registered or not), to back off.
type LoginThrottle struct {
	EmailKey     string `gorm:"primaryKey"`
	Failures     int
	LockedUntil  time.Time
	LastFailedAt time.Time
}
