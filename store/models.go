package store

import "time"

// Project environments.
const (
	EnvironmentProduction = "production"
	EnvironmentSandbox    = "sandbox"
)

// PlanFree is the plan of a new project.
const PlanFree = "free"

// Organization is a tenant; it owns projects and carries the billing profile.
type Organization struct {
	ID                string `gorm:"primaryKey;size:36"`
	Name              string `gorm:"size:255;not null"`
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
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// User is a person who logs in. EmailKey is the lower-cased email and is unique.
type User struct {
	ID                   string `gorm:"primaryKey;size:36"`
	OrganizationID       string `gorm:"size:36;not null;index"`
	Email                string `gorm:"size:254;not null"`
	EmailKey             string `gorm:"size:254;not null;uniqueIndex"`
	FullName             string `gorm:"size:255;not null"`
	Timezone             string `gorm:"size:64;not null"`
	PasswordHash         string `gorm:"size:255;not null"`
	EmailVerifiedAt      *time.Time
	SessionsValidAfter   time.Time `gorm:"not null"`
	SessionVersion       int64     `gorm:"not null"`
	MarketingAttribution *string
	PendingEmail         *string
	PendingEmailAt       *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// Project is a production or sandbox environment of an organization; at most one of each.
type Project struct {
	ID             string `gorm:"primaryKey;size:36"`
	OrganizationID string `gorm:"size:36;not null;uniqueIndex:idx_projects_org_env,priority:1"`
	Name           string `gorm:"size:255;not null"`
	Environment    string `gorm:"size:16;not null;uniqueIndex:idx_projects_org_env,priority:2"`
	Plan           string `gorm:"size:16;not null"`
	Timezone       string `gorm:"size:64;not null"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// APIKey is a long-lived credential of one project. Only the SHA-256 of the key is stored.
type APIKey struct {
	ID                  string `gorm:"primaryKey;size:36"`
	ProjectID           string `gorm:"size:36;not null;index"`
	OrganizationID      string `gorm:"size:36;not null;index"`
	CreatedBy           *string
	Name                string `gorm:"size:255;not null"`
	Prefix              string `gorm:"size:16;not null"`
	SecretHash          string `gorm:"size:64;not null;uniqueIndex"`
	Scopes              string `gorm:"size:64;not null"`
	PinterestAccountIDs *string
	Source              string `gorm:"size:16;not null"`
	LastUsedAt          *time.Time
	ExpiresAt           *time.Time
	RevokedAt           *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// PinterestAccount is a Pinterest account connected to a project.
type PinterestAccount struct {
	ID                string `gorm:"primaryKey;size:36"`
	ProjectID         string `gorm:"size:36;not null;index"`
	PinterestUserID   string `gorm:"size:64;not null"`
	DisplayName       *string
	Username          *string
	Scopes            string `gorm:"size:512;not null"`
	RevokedAt         *time.Time
	TokenExpiresAt    *time.Time
	HealthStatus      *string
	HealthMessage     *string
	HealthCheckedAt   *time.Time
	ReconnectRequired bool   `gorm:"not null"`
	MissingScopes     string `gorm:"size:512;not null"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Token purposes.
const (
	PurposePasswordReset = "password_reset"
	PurposeEmailVerify   = "email_verify"
	PurposeEmailChange   = "email_change"
)

// OneTimeToken is a single-use emailed token; only its SHA-256 is stored.
type OneTimeToken struct {
	ID        string `gorm:"primaryKey;size:36"`
	UserID    string `gorm:"size:36;not null;index"`
	Purpose   string `gorm:"size:32;not null"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex"`
	Payload   *string
	ExpiresAt time.Time `gorm:"not null"`
	UsedAt    *time.Time
	CreatedAt time.Time
}

// OutboxMessage is an email waiting to be sent (the transactional outbox). Its bodies are blanked
// once it is sent, so links it carried do not outlive their delivery in the database.
type OutboxMessage struct {
	ID            string `gorm:"primaryKey;size:36"`
	Kind          string `gorm:"size:32;not null"`
	ToAddress     string `gorm:"size:254;not null"`
	Subject       string `gorm:"size:255;not null"`
	TextBody      string `gorm:"not null"`
	HTMLBody      string `gorm:"not null"`
	Attempts      int    `gorm:"not null"`
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
	Bucket    string    `gorm:"primaryKey;size:255"`
	Count     int       `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// LoginThrottle tracks failed logins for one email (registered or not), to back off.
type LoginThrottle struct {
	EmailKey     string    `gorm:"primaryKey;size:254"`
	Failures     int       `gorm:"not null"`
	LockedUntil  time.Time `gorm:"not null"`
	LastFailedAt time.Time `gorm:"not null"`
}
