package store

import (
	"context"
	"fmt"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migrations is the one definition of the schema: column types and lengths, NOT NULL, indexes and
// foreign keys are declared here, and the models in models.go only map rows onto the result. It is
// append-only: never edit a released step, add a new one. Each step declares the tables as they were
// at that step, so later model changes cannot rewrite history. The same list runs on SQLite and
// PostgreSQL; on SQLite GORM declares every string column as text whatever its size, so column
// lengths bind (and schema_test.go checks them) on PostgreSQL.
var migrations = []*gormigrate.Migration{
	{
		ID: "20261125_0001_accounts",
		Migrate: func(tx *gorm.DB) error {
			type organization struct {
				ID                string    `gorm:"primaryKey;size:36"`
				Name              string    `gorm:"size:255;not null"`
				CompanyName       *string   `gorm:"size:255"`
				CompanyWebsite    *string   `gorm:"size:255"`
				BillingEmail      *string   `gorm:"size:254"`
				BillingPhone      *string   `gorm:"size:50"`
				TaxID             *string   `gorm:"size:100"`
				AddressLine1      *string   `gorm:"size:255"`
				AddressLine2      *string   `gorm:"size:255"`
				AddressCity       *string   `gorm:"size:120"`
				AddressState      *string   `gorm:"size:120"`
				AddressPostalCode *string   `gorm:"size:40"`
				AddressCountry    *string   `gorm:"size:10"`
				CreatedAt         time.Time `gorm:"not null"`
				UpdatedAt         time.Time `gorm:"not null"`
			}
			type user struct {
				ID                   string        `gorm:"primaryKey;size:36"`
				OrganizationID       string        `gorm:"size:36;not null;index"`
				Organization         *organization `gorm:"constraint:OnDelete:CASCADE"`
				Email                string        `gorm:"size:254;not null"`
				EmailKey             string        `gorm:"size:254;not null;uniqueIndex"`
				FullName             string        `gorm:"size:255;not null"`
				Timezone             string        `gorm:"size:64;not null"`
				PasswordHash         string        `gorm:"size:255;not null"`
				EmailVerifiedAt      *time.Time
				SessionsValidAfter   time.Time `gorm:"not null"`
				MarketingAttribution *string   `gorm:"size:16384"`
				CreatedAt            time.Time `gorm:"not null"`
				UpdatedAt            time.Time `gorm:"not null"`
			}
			type project struct {
				ID             string        `gorm:"primaryKey;size:36"`
				OrganizationID string        `gorm:"size:36;not null;uniqueIndex:idx_projects_org_env,priority:1"`
				Organization   *organization `gorm:"constraint:OnDelete:CASCADE"`
				Name           string        `gorm:"size:255;not null"`
				Environment    string        `gorm:"size:16;not null;uniqueIndex:idx_projects_org_env,priority:2"`
				Plan           string        `gorm:"size:16;not null"`
				Timezone       string        `gorm:"size:64;not null"`
				CreatedAt      time.Time     `gorm:"not null"`
				UpdatedAt      time.Time     `gorm:"not null"`
			}
			return tx.Migrator().CreateTable(&organization{}, &user{}, &project{})
		},
	},
	{
		ID: "20261125_0002_api_keys_pinterest_accounts",
		Migrate: func(tx *gorm.DB) error {
			type organization struct {
				ID string `gorm:"primaryKey;size:36"`
			}
			type project struct {
				ID string `gorm:"primaryKey;size:36"`
			}
			type user struct {
				ID string `gorm:"primaryKey;size:36"`
			}
			type apiKey struct {
				ID                  string        `gorm:"primaryKey;size:36"`
				ProjectID           string        `gorm:"size:36;not null;index"`
				Project             *project      `gorm:"constraint:OnDelete:CASCADE"`
				OrganizationID      string        `gorm:"size:36;not null;index"`
				Organization        *organization `gorm:"constraint:OnDelete:CASCADE"`
				CreatedBy           *string       `gorm:"size:36"`
				Creator             *user         `gorm:"foreignKey:CreatedBy;constraint:OnDelete:SET NULL"`
				Name                string        `gorm:"size:255;not null"`
				Prefix              string        `gorm:"size:16;not null"`
				SecretHash          string        `gorm:"size:64;not null;uniqueIndex"`
				Scopes              string        `gorm:"size:64;not null"`
				PinterestAccountIDs *string       `gorm:"size:4000"`
				Source              string        `gorm:"size:16;not null"`
				LastUsedAt          *time.Time
				ExpiresAt           *time.Time
				RevokedAt           *time.Time
				CreatedAt           time.Time `gorm:"not null"`
				UpdatedAt           time.Time `gorm:"not null"`
			}
			type pinterestAccount struct {
				ID                string   `gorm:"primaryKey;size:36"`
				ProjectID         string   `gorm:"size:36;not null;index"`
				Project           *project `gorm:"constraint:OnDelete:CASCADE"`
				PinterestUserID   string   `gorm:"size:64;not null"`
				DisplayName       *string  `gorm:"size:255"`
				Username          *string  `gorm:"size:255"`
				Scopes            string   `gorm:"size:512;not null"`
				RevokedAt         *time.Time
				TokenExpiresAt    *time.Time
				HealthStatus      *string `gorm:"size:32"`
				HealthMessage     *string `gorm:"size:512"`
				HealthCheckedAt   *time.Time
				ReconnectRequired bool      `gorm:"not null"`
				MissingScopes     string    `gorm:"size:512;not null"`
				CreatedAt         time.Time `gorm:"not null"`
				UpdatedAt         time.Time `gorm:"not null"`
			}
			return tx.Migrator().CreateTable(&apiKey{}, &pinterestAccount{})
		},
	},
	{
		ID: "20261125_0003_tokens_outbox_pending_email",
		Migrate: func(tx *gorm.DB) error {
			type user struct {
				ID             string  `gorm:"primaryKey;size:36"`
				PendingEmail   *string `gorm:"size:254"`
				PendingEmailAt *time.Time
			}
			for _, col := range []string{"PendingEmail", "PendingEmailAt"} {
				if err := tx.Migrator().AddColumn(&user{}, col); err != nil {
					return err
				}
			}
			type oneTimeToken struct {
				ID        string    `gorm:"primaryKey;size:36"`
				UserID    string    `gorm:"size:36;not null;index"`
				User      *user     `gorm:"constraint:OnDelete:CASCADE"`
				Purpose   string    `gorm:"size:32;not null"`
				TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
				Payload   *string   `gorm:"size:254"`
				ExpiresAt time.Time `gorm:"not null"`
				UsedAt    *time.Time
				CreatedAt time.Time `gorm:"not null"`
			}
			type emailOutbox struct {
				ID            string    `gorm:"primaryKey;size:36"`
				Kind          string    `gorm:"size:32;not null"`
				ToAddress     string    `gorm:"size:254;not null"`
				Subject       string    `gorm:"size:255;not null"`
				TextBody      string    `gorm:"type:text;not null"`
				HTMLBody      string    `gorm:"type:text;not null"`
				Attempts      int       `gorm:"not null"`
				NextAttemptAt time.Time `gorm:"not null;index:idx_email_outbox_due,priority:2"`
				LockedUntil   *time.Time
				LastError     *string    `gorm:"size:1024"`
				SentAt        *time.Time `gorm:"index:idx_email_outbox_due,priority:1"`
				CreatedAt     time.Time  `gorm:"not null"`
			}
			if err := tx.Migrator().CreateTable(&oneTimeToken{}); err != nil {
				return err
			}
			return tx.Table("email_outbox").Migrator().CreateTable(&emailOutbox{})
		},
	},
	{
		ID: "20261125_0004_rate_limits",
		Migrate: func(tx *gorm.DB) error {
			type rateLimit struct {
				Bucket    string    `gorm:"primaryKey;size:255"`
				Count     int       `gorm:"not null"`
				ExpiresAt time.Time `gorm:"not null;index"`
			}
			type loginThrottle struct {
				EmailKey     string    `gorm:"primaryKey;size:254"`
				Failures     int       `gorm:"not null"`
				LockedUntil  time.Time `gorm:"not null"`
				LastFailedAt time.Time `gorm:"not null"`
			}
			return tx.Migrator().CreateTable(&rateLimit{}, &loginThrottle{})
		},
	},
	{
		// The per-user session version that session tokens carry (claim sv): ending a user's
		// sessions increments it, so tokens with whole-second iat are still refused in the second
		// of a password reset or change. Existing rows start at 0.
		ID: "20261202_0005_users_session_version",
		Migrate: func(tx *gorm.DB) error {
			return tx.Exec("ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0").Error
		},
	},
	{
		// Teams: organizations with several members. Every user becomes the owner of the
		// organization made at registration, through a membership like any other.
		ID: "20261202_0010_teams",
		Migrate: func(tx *gorm.DB) error {
			type membership struct {
				ID             string     `gorm:"primaryKey;size:36"`
				OrganizationID string     `gorm:"size:36;not null;uniqueIndex:idx_memberships_org_user,priority:1"`
				UserID         string     `gorm:"size:36;not null;uniqueIndex:idx_memberships_org_user,priority:2;index"`
				Role           string     `gorm:"size:16;not null"`
				InvitedBy      *string    `gorm:"size:36"`
				AcceptedAt     *time.Time `gorm:""`
				CreatedAt      time.Time  `gorm:"not null"`
				UpdatedAt      time.Time  `gorm:"not null"`
			}
			type invitation struct {
				ID             string     `gorm:"primaryKey;size:36"`
				OrganizationID string     `gorm:"size:36;not null;index:idx_invitations_org_email,priority:1"`
				Email          string     `gorm:"size:254;not null"`
				EmailKey       string     `gorm:"size:254;not null;index:idx_invitations_org_email,priority:2"`
				Role           string     `gorm:"size:16;not null"`
				TokenHash      string     `gorm:"size:64;not null;uniqueIndex"`
				InvitedBy      *string    `gorm:"size:36"`
				ExpiresAt      time.Time  `gorm:"not null"`
				AcceptedAt     *time.Time `gorm:""`
				RevokedAt      *time.Time `gorm:""`
				CreatedAt      time.Time  `gorm:"not null"`
				UpdatedAt      time.Time  `gorm:"not null"`
			}
			if err := tx.Migrator().CreateTable(&membership{}, &invitation{}); err != nil {
				return err
			}
			type user struct {
				ActiveProjectID *string `gorm:"size:36"`
			}
			if err := tx.Table("users").Migrator().AddColumn(&user{}, "ActiveProjectID"); err != nil {
				return err
			}
			// Existing users own their organization; ids are made here so both engines agree.
			var rows []struct {
				ID             string
				OrganizationID string
				CreatedAt      time.Time
			}
			if err := tx.Table("users").Select("id, organization_id, created_at").Find(&rows).Error; err != nil {
				return err
			}
			for start := 0; start < len(rows); start += 500 {
				batch := make([]membership, 0, 500)
				for _, r := range rows[start:min(start+500, len(rows))] {
					at := r.CreatedAt
					batch = append(batch, membership{ID: NewID(), OrganizationID: r.OrganizationID, UserID: r.ID,
						Role: RoleOwner, AcceptedAt: &at, CreatedAt: at, UpdatedAt: at})
				}
				if err := tx.Create(&batch).Error; err != nil {
					return err
				}
			}
			return nil
		},
	},
	{
		// The activity log: one row per security-relevant event, written by the flows in the
		// transaction of the change it describes. Pages are read newest first by keyset on
		// (organization_id, created_at, id); the pruner deletes by expires_at.
		ID: "20261202_0020_activity_logs",
		Migrate: func(tx *gorm.DB) error {
			type activityLog struct {
				ID             string    `gorm:"primaryKey;size:36"`
				OrganizationID string    `gorm:"size:36;not null"`
				CreatedAt      time.Time `gorm:"not null"`
				ActorType      string    `gorm:"size:16;not null"`
				ActorID        *string   `gorm:"size:36"`
				ActorLabel     *string   `gorm:"size:255"`
				Action         string    `gorm:"size:64;not null"`
				Category       string    `gorm:"size:32;not null"`
				Status         string    `gorm:"size:16;not null"`
				ResourceType   *string   `gorm:"size:32"`
				ResourceID     *string   `gorm:"size:36"`
				Message        string    `gorm:"size:255;not null"`
				Metadata       string    `gorm:"size:4096;not null"`
				RequestID      *string   `gorm:"size:128"`
				SourceAddress  *string   `gorm:"size:64"`
				RetentionDays  int       `gorm:"not null"`
				ExpiresAt      time.Time `gorm:"not null"`
			}
			if err := tx.Migrator().CreateTable(&activityLog{}); err != nil {
				return err
			}
			for _, stmt := range []string{
				"CREATE INDEX idx_activity_logs_keyset ON activity_logs (organization_id, created_at DESC, id DESC)",
				"CREATE INDEX idx_activity_logs_expires_at ON activity_logs (expires_at)",
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		},
	},
	{
		// Key lifecycle: rotation with overlap, leak reports, expiry reminders.
		ID: "20261202_0030_key_lifecycle",
		Migrate: func(tx *gorm.DB) error {
			type apiKey struct {
				RevokedReason    *string `gorm:"size:512"`
				RotatedFrom      *string `gorm:"size:36"`
				ReplacedBy       *string `gorm:"size:36"`
				ExpiryRemindedAt *time.Time
			}
			m := tx.Table("api_keys").Migrator()
			for _, f := range []string{"RevokedReason", "RotatedFrom", "ReplacedBy", "ExpiryRemindedAt"} {
				if err := m.AddColumn(&apiKey{}, f); err != nil {
					return err
				}
			}
			if err := tx.Exec("CREATE INDEX idx_api_keys_expires_at ON api_keys (expires_at)").Error; err != nil {
				return err
			}
			// A leak report is processed once: its digest is kept for as long as reports are.
			type secretScanningReport struct {
				Digest     string    `gorm:"primaryKey;size:64"`
				ReceivedAt time.Time `gorm:"not null"`
			}
			return tx.Migrator().CreateTable(&secretScanningReport{})
		},
	},
	{
		// Indexes for the lookups that had none and read their whole table on a request path:
		// whether an address is held by an unused "this wasn't me" link (register, email change),
		// the pending invitations and the memberships a user's invitations made (password reset,
		// email-change revert), and the keys a user created since a time (email-change revert;
		// the index also serves the foreign key from users).
		ID: "20261203_0040_lookup_indexes",
		Migrate: func(tx *gorm.DB) error {
			for _, stmt := range []string{
				"CREATE INDEX idx_one_time_tokens_lower_payload ON one_time_tokens (LOWER(payload))",
				"CREATE INDEX idx_invitations_invited_by ON invitations (invited_by)",
				"CREATE INDEX idx_memberships_invited_by ON memberships (invited_by)",
				"CREATE INDEX idx_api_keys_created_by ON api_keys (created_by, created_at)",
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		},
	},
	{
		// A password reset clears the account's failed logins by key prefix (LIKE 'key|%'). On
		// PostgreSQL the primary key serves a LIKE only in a database of the C collation, which
		// production databases rarely are; a varchar_pattern_ops index serves it in any.
		ID: "20261203_0041_login_throttles_key_prefix",
		Migrate: func(tx *gorm.DB) error {
			if tx.Dialector.Name() != "postgres" {
				return nil
			}
			return tx.Exec("CREATE INDEX idx_login_throttles_key_prefix ON login_throttles (email_key varchar_pattern_ops)").Error
		},
	},
	{
		// Versions of what the remembered summaries stand for (AccountSummary,
		// APIKeyAccessSummary). access_versions.version counts, per user, the changes to their
		// memberships, their organizations' names and those organizations' projects;
		// projects.accounts_version, the changes to a project's Pinterest accounts. Row triggers
		// bump them in the transaction of the change, whichever code (or person at a SQL prompt)
		// makes it; a TRUNCATE, a load with triggers disabled or a restore does not (README,
		// Operations: restart the instances after one). A change to an organization's projects or
		// to a membership first updates the organization's row (organizations.access_version), so
		// that on PostgreSQL the two take turns on that row: a change that bumps every member sees
		// every membership committed before it, and a membership committed after it bumps its
		// member itself. The users row is never locked by them: a member's own requests hold it.
		ID: "20261204_0050_access_versions",
		Migrate: func(tx *gorm.DB) error {
			type accessVersion struct {
				UserID  string `gorm:"primaryKey;size:36"`
				Version int64  `gorm:"not null"`
			}
			if err := tx.Migrator().CreateTable(&accessVersion{}); err != nil {
				return err
			}
			stmts := []string{
				"ALTER TABLE organizations ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0",
				"ALTER TABLE projects ADD COLUMN accounts_version BIGINT NOT NULL DEFAULT 0",
			}
			if tx.Dialector.Name() == "postgres" {
				stmts = append(stmts, accessVersionPostgres...)
			} else {
				stmts = append(stmts, accessVersionSQLite...)
			}
			for _, stmt := range stmts {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		},
	},
}

// accessVersionPostgres are the functions and triggers of migration 0050 on PostgreSQL. Both bump
// functions take the organization's row first (the turns above). Every member of an organization is
// bumped in the order of their ids, so that two such bumps never wait for each other in a circle.
// bump_access_versions_of_members must stay VOLATILE (the
// default), with its two statements apart, under READ COMMITTED: its second statement then takes a
// snapshot of its own, after the first has waited for the organization's row, and sees a membership
// committed meanwhile (under REPEATABLE READ the wait ends in a serialization failure, which Tx
// runs again).
var accessVersionPostgres = []string{
	`CREATE FUNCTION bump_access_version(org varchar, member varchar) RETURNS void LANGUAGE sql AS $$
	UPDATE organizations SET access_version = access_version + 1 WHERE id = org;
	INSERT INTO access_versions (user_id, version) VALUES (member, 1)
	ON CONFLICT (user_id) DO UPDATE SET version = access_versions.version + 1
$$`,
	`CREATE FUNCTION bump_access_versions_of_members(org varchar) RETURNS void LANGUAGE sql AS $$
	UPDATE organizations SET access_version = access_version + 1 WHERE id = org;
	INSERT INTO access_versions (user_id, version)
	SELECT user_id, 1 FROM memberships WHERE organization_id = org ORDER BY user_id
	ON CONFLICT (user_id) DO UPDATE SET version = access_versions.version + 1
$$`,
	`CREATE FUNCTION memberships_access_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		PERFORM bump_access_version(OLD.organization_id, OLD.user_id);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		PERFORM bump_access_version(NEW.organization_id, NEW.user_id);
	END IF;
	RETURN NULL;
END $$`,
	`CREATE TRIGGER memberships_access_version AFTER INSERT OR UPDATE OR DELETE ON memberships
	FOR EACH ROW EXECUTE FUNCTION memberships_access_version()`,
	`CREATE FUNCTION organizations_access_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM bump_access_versions_of_members(NEW.id);
	RETURN NULL;
END $$`,
	`CREATE TRIGGER organizations_access_version AFTER UPDATE OF name ON organizations
	FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION organizations_access_version()`,
	`CREATE FUNCTION projects_access_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		PERFORM bump_access_versions_of_members(OLD.organization_id);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		PERFORM bump_access_versions_of_members(NEW.organization_id);
	END IF;
	RETURN NULL;
END $$`,
	`CREATE TRIGGER projects_access_version
	AFTER INSERT OR DELETE OR UPDATE OF organization_id, name, environment, plan, timezone, created_at ON projects
	FOR EACH ROW EXECUTE FUNCTION projects_access_version()`,
	`CREATE FUNCTION pinterest_accounts_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		UPDATE projects SET accounts_version = accounts_version + 1 WHERE id = OLD.project_id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		UPDATE projects SET accounts_version = accounts_version + 1 WHERE id = NEW.project_id;
	END IF;
	RETURN NULL;
END $$`,
	`CREATE TRIGGER pinterest_accounts_version AFTER INSERT OR UPDATE OR DELETE ON pinterest_accounts
	FOR EACH ROW EXECUTE FUNCTION pinterest_accounts_version()`,
}

// SQLite's statements of migration 0050: one writer at a time, so no turns to take.
const (
	sqliteBumpMember = "INSERT INTO access_versions (user_id, version) VALUES (%s.user_id, 1)" +
		" ON CONFLICT (user_id) DO UPDATE SET version = version + 1;"
	sqliteBumpMembers = "INSERT INTO access_versions (user_id, version)" +
		" SELECT user_id, 1 FROM memberships WHERE organization_id = %s.%s" +
		" ON CONFLICT (user_id) DO UPDATE SET version = version + 1;"
	sqliteBumpAccounts = "UPDATE projects SET accounts_version = accounts_version + 1 WHERE id = %s.project_id;"
)

// accessVersionSQLite are the triggers of migration 0050 on SQLite (one per event).
var accessVersionSQLite = []string{
	"CREATE TRIGGER memberships_access_version_insert AFTER INSERT ON memberships BEGIN " +
		fmt.Sprintf(sqliteBumpMember, "NEW") + " END",
	"CREATE TRIGGER memberships_access_version_update AFTER UPDATE ON memberships BEGIN " +
		fmt.Sprintf(sqliteBumpMember, "OLD") + " " + fmt.Sprintf(sqliteBumpMember, "NEW") + " END",
	"CREATE TRIGGER memberships_access_version_delete AFTER DELETE ON memberships BEGIN " +
		fmt.Sprintf(sqliteBumpMember, "OLD") + " END",
	"CREATE TRIGGER organizations_access_version AFTER UPDATE OF name ON organizations WHEN OLD.name IS NOT NEW.name BEGIN " +
		fmt.Sprintf(sqliteBumpMembers, "NEW", "id") + " END",
	"CREATE TRIGGER projects_access_version_insert AFTER INSERT ON projects BEGIN " +
		fmt.Sprintf(sqliteBumpMembers, "NEW", "organization_id") + " END",
	"CREATE TRIGGER projects_access_version_update" +
		" AFTER UPDATE OF organization_id, name, environment, plan, timezone, created_at ON projects BEGIN " +
		fmt.Sprintf(sqliteBumpMembers, "OLD", "organization_id") + " " + fmt.Sprintf(sqliteBumpMembers, "NEW", "organization_id") + " END",
	"CREATE TRIGGER projects_access_version_delete AFTER DELETE ON projects BEGIN " +
		fmt.Sprintf(sqliteBumpMembers, "OLD", "organization_id") + " END",
	"CREATE TRIGGER pinterest_accounts_version_insert AFTER INSERT ON pinterest_accounts BEGIN " +
		fmt.Sprintf(sqliteBumpAccounts, "NEW") + " END",
	"CREATE TRIGGER pinterest_accounts_version_update AFTER UPDATE ON pinterest_accounts BEGIN " +
		fmt.Sprintf(sqliteBumpAccounts, "OLD") + " " + fmt.Sprintf(sqliteBumpAccounts, "NEW") + " END",
	"CREATE TRIGGER pinterest_accounts_version_delete AFTER DELETE ON pinterest_accounts BEGIN " +
		fmt.Sprintf(sqliteBumpAccounts, "OLD") + " END",
}

// Migrate brings the schema up to date. On PostgreSQL it holds an advisory lock for the whole run,
// so instances starting together migrate one after the other.
func (s *Store) Migrate(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			// An arbitrary constant that names "pinbridge schema migrations".
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7283512040)").Error; err != nil {
				return wrap("lock migrations", err)
			}
		}
		m := gormigrate.New(tx, &gormigrate.Options{
			TableName:      "schema_migrations",
			IDColumnName:   "id",
			IDColumnSize:   64,
			UseTransaction: false,
		}, migrations)
		if err := m.Migrate(); err != nil {
			return fmt.Errorf("migrate: %w", translate(err))
		}
		return nil
	})
}
