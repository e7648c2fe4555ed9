package store_test

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"gorm.io/gorm"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/apikey"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/otp"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// The migrations are the one definition of the schema and the models only map it (models.go).
// These tests hold the two together on every engine: every model field lands on a column of a
// compatible type that holds what the code writes (TestSchemaMapsModels), and every request field
// of openapi.yaml that the server stores fits the column it lands in (TestSchemaHoldsSpecFields).

// models lists every model the store maps; every table of the migrated schema must belong to one.
var models = []any{
	&store.Organization{}, &store.User{}, &store.Project{}, &store.APIKey{}, &store.PinterestAccount{},
	&store.OneTimeToken{}, &store.OutboxMessage{}, &store.RateLimit{}, &store.LoginThrottle{},
	&store.Membership{}, &store.Invitation{}, &store.SecretScanningReport{}, &store.ActivityLog{},
	&store.AccessVersion{},
}

// migrationsTable is gormigrate's own bookkeeping, mapped by no model.
const migrationsTable = "schema_migrations"

// Column kinds, as far as mapping a Go value cares.
const (
	kindText       = "text"
	kindTime       = "timestamp with time zone"
	kindTimeNoZone = "timestamp without time zone"
	kindInt64      = "64-bit integer"
	kindInt32      = "32-bit integer"
	kindBool       = "boolean"
	kindOther      = "other"
)

// column is one column of the migrated schema, as the engine declares it.
type column struct {
	table, name string
	declared    string // the engine's own words, for messages
	kind        string
	length      int // for text: the most characters it holds; 0 when unbounded
	nullable    bool
}

func (c column) String() string { return c.table + "." + c.name + " " + c.declared }

// readColumns reads every column of the store's schema, keyed "table.column".
func readColumns(t *testing.T, st *store.Store) map[string]column {
	t.Helper()
	var cols []column
	if st.Postgres() {
		cols = readPostgresColumns(t, st.DB())
	} else {
		cols = readSQLiteColumns(t, st.DB())
	}
	if len(cols) == 0 {
		t.Fatal("got no columns from the migrated schema, want its tables")
	}
	out := make(map[string]column, len(cols))
	for _, c := range cols {
		out[c.table+"."+c.name] = c
	}
	return out
}

func readPostgresColumns(t *testing.T, db *gorm.DB) []column {
	t.Helper()
	var rows []struct {
		TableName, ColumnName, DataType, IsNullable string
		CharacterMaximumLength                      *int
	}
	err := db.Raw(`SELECT table_name::text, column_name::text, data_type::text, is_nullable::text,
		character_maximum_length::int FROM information_schema.columns WHERE table_schema = current_schema()`).
		Scan(&rows).Error
	if err != nil {
		t.Fatalf("read information_schema.columns: %v", err)
	}
	cols := make([]column, 0, len(rows))
	for _, r := range rows {
		c := column{table: r.TableName, name: r.ColumnName, declared: r.DataType, kind: postgresKind(r.DataType),
			nullable: r.IsNullable == "YES"}
		if r.CharacterMaximumLength != nil {
			c.length = *r.CharacterMaximumLength
			c.declared += "(" + strconv.Itoa(c.length) + ")"
		}
		cols = append(cols, c)
	}
	return cols
}

func postgresKind(dataType string) string {
	switch dataType {
	case "character varying", "character", "text":
		return kindText
	case "timestamp with time zone":
		return kindTime
	case "timestamp without time zone":
		return kindTimeNoZone
	case "bigint":
		return kindInt64
	case "integer":
		return kindInt32
	case "boolean":
		return kindBool
	}
	return kindOther
}

func readSQLiteColumns(t *testing.T, db *gorm.DB) []column {
	t.Helper()
	var tables []string
	if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).
		Scan(&tables).Error; err != nil {
		t.Fatalf("read sqlite_master: %v", err)
	}
	var cols []column
	for _, table := range tables {
		var info []struct {
			Name, Type  string
			Notnull, Pk int
		}
		if err := db.Raw(`SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, table).Scan(&info).Error; err != nil {
			t.Fatalf("PRAGMA table_info(%s): %v", table, err)
		}
		for _, r := range info {
			kind, length := sqliteKind(r.Type)
			// SQLite lets a non-integer PRIMARY KEY hold NULL unless declared NOT NULL; the models
			// never write one (their keys are plain strings), so the key reads as not nullable.
			cols = append(cols, column{table: table, name: r.Name, declared: r.Type, kind: kind, length: length,
				nullable: r.Notnull == 0 && r.Pk == 0})
		}
	}
	return cols
}

var declaredLength = regexp.MustCompile(`\(\s*(\d+)\s*\)`)

// sqliteKind follows SQLite's type affinity rules (https://sqlite.org/datatype3.html, 3.1) for a
// declared type, and reads a declared length such as varchar(255). GORM's SQLite dialect declares
// strings as text whatever their size, times as datetime and booleans as numeric.
func sqliteKind(declared string) (kind string, length int) {
	d := strings.ToLower(strings.TrimSpace(declared))
	switch {
	case strings.Contains(d, "int"):
		return kindInt64, 0
	case strings.Contains(d, "char"), strings.Contains(d, "clob"), strings.Contains(d, "text"):
		if m := declaredLength.FindStringSubmatch(d); m != nil {
			length, _ = strconv.Atoi(m[1])
		}
		return kindText, length
	case d == "datetime", d == "timestamp":
		return kindTime, 0
	case d == "numeric", d == "boolean", d == "bool":
		return kindBool, 0
	}
	return kindOther, 0
}

var timeType = reflect.TypeFor[time.Time]()

// mapsOnto says why a model field of Go type ft cannot be written to and read back from c, or nil
// when it can: the kinds must agree, and the field must be a pointer exactly when c is nullable.
func mapsOnto(ft reflect.Type, c column) error {
	pointer := ft.Kind() == reflect.Pointer
	if pointer {
		ft = ft.Elem()
	}
	var want string
	switch {
	case ft == timeType:
		want = kindTime
	case ft.Kind() == reflect.String:
		want = kindText
	case ft.Kind() == reflect.Int, ft.Kind() == reflect.Int64:
		want = kindInt64
	case ft.Kind() == reflect.Bool:
		want = kindBool
	default:
		return fmt.Errorf("field of type %s: no mapping rule for it in this test", ft)
	}
	switch {
	case c.kind != want:
		return fmt.Errorf("%s: got a %s column for a Go %s, want a %s column", c, c.kind, ft, want)
	case c.nullable && !pointer:
		return fmt.Errorf("%s: got a nullable column for a Go %s that cannot hold NULL, want NOT NULL or a pointer field", c, ft)
	case !c.nullable && pointer:
		return fmt.Errorf("%s: got a NOT NULL column for a *%s that may be nil, want a nullable column or a plain field", c, ft)
	}
	return nil
}

// bound is the most characters a stored value can have; ok is false when nothing bounds it. why says
// where the bound comes from, or what leaves it open.
type bound struct {
	n   int
	ok  bool
	why string
}

func bounded(n int, why string) bound { return bound{n: n, ok: true, why: why} }

func unbounded(why string) bound { return bound{why: why} }

// fits says why a value within b may not fit c, or nil when it always does.
func fits(b bound, c column) error {
	switch {
	case c.kind != kindText:
		return fmt.Errorf("%s: got a %s column, want a text column", c, c.kind)
	case c.length == 0:
		return nil
	case !b.ok:
		return fmt.Errorf("%s: got values of any length (%s), want at most %d characters", c, b.why, c.length)
	case b.n > c.length:
		return fmt.Errorf("%s: got values of up to %d characters (%s), want at most %d", c, b.n, b.why, c.length)
	}
	return nil
}

// codeBounds are the longest values the code itself (not a request field) writes into bounded
// string columns, each computed from the code that makes them where it is exported.
func codeBounds(t *testing.T) map[string]bound {
	t.Helper()
	id := bounded(len(store.NewID()), "store.NewID")
	b := map[string]bound{}
	for _, col := range []string{
		"organizations.id", "users.id", "users.organization_id", "projects.id", "projects.organization_id",
		"api_keys.id", "api_keys.project_id", "api_keys.organization_id", "api_keys.created_by",
		"pinterest_accounts.project_id", "one_time_tokens.id", "one_time_tokens.user_id", "email_outbox.id",
		"users.active_project_id", "memberships.id", "memberships.organization_id", "memberships.user_id",
		"memberships.invited_by", "invitations.id", "invitations.organization_id", "invitations.invited_by",
		"api_keys.rotated_from", "api_keys.replaced_by",
		"activity_logs.id", "activity_logs.organization_id", "activity_logs.actor_id", "activity_logs.resource_id",
		"access_versions.user_id",
	} {
		b[col] = id
	}
	longest := func(why string, values ...string) bound {
		n := 0
		for _, v := range values {
			n = max(n, utf8.RuneCountInString(v))
		}
		return bounded(n, why)
	}

	hash, err := password.Hash("correct horse battery staple", password.OWASP)
	if err != nil {
		t.Fatal(err)
	}
	b["users.password_hash"] = longest("argon2id PHC string, OWASP parameters", hash)
	b["projects.environment"] = longest("store.Environment*", store.EnvironmentProduction, store.EnvironmentSandbox)
	b["projects.plan"] = longest("store.PlanFree, the only plan written", store.PlanFree)

	live, err := apikey.New(true)
	if err != nil {
		t.Fatal(err)
	}
	test, err := apikey.New(false)
	if err != nil {
		t.Fatal(err)
	}
	b["api_keys.prefix"] = longest("apikey.Key.Display", live.Display, test.Display)
	b["api_keys.secret_hash"] = longest("apikey.Hash", live.Hash)
	b["api_keys.source"] = longest(`CreateAPIKey writes "manual"`, "manual")

	// The sandbox's simulated accounts are the only Pinterest accounts written so far.
	sim := store.SimulatedAccounts(store.NewID(), time.Now())
	for field, col := range map[string]string{
		"ID": "id", "PinterestUserID": "pinterest_user_id", "DisplayName": "display_name", "Username": "username",
		"Scopes": "scopes", "HealthStatus": "health_status", "HealthMessage": "health_message", "MissingScopes": "missing_scopes",
	} {
		var values []string
		for _, a := range sim {
			v := reflect.Indirect(reflect.ValueOf(a).FieldByName(field))
			if v.IsValid() {
				values = append(values, v.String())
			}
		}
		b["pinterest_accounts."+col] = longest("store.SimulatedAccounts", values...)
	}

	_, tokenHash, err := otp.New()
	if err != nil {
		t.Fatal(err)
	}
	b["one_time_tokens.token_hash"] = longest("otp.Hash", tokenHash)
	b["invitations.token_hash"] = longest("otp.Hash", tokenHash)
	b["secret_scanning_reports.digest"] = longest("hex SHA-256 of a report's body", tokenHash)
	b["api_keys.revoked_reason"] = bounded(512, "account.revokeLeaked truncates it to 512")
	roles := longest("account.Role*, the only roles stored", string(account.RoleOwner), string(account.RoleAdmin), string(account.RoleEditor), string(account.RoleViewer))
	b["memberships.role"], b["invitations.role"] = roles, roles
	// Failed logins are counted under "acct:" + 32 hex characters of a hash of the email, alone or
	// with "|" and the client's address (at most 45 characters).
	b["login_throttles.email_key"] = bounded(5+32+1+45, "account.throttleOf")
	b["one_time_tokens.purpose"] = longest("store.Purpose*", store.PurposePasswordReset, store.PurposeEmailVerify, store.PurposeEmailChange, store.PurposeEmailRevert)

	kinds := []string{mail.KindPasswordReset, mail.KindEmailVerify, mail.KindEmailChange, mail.KindEmailChangeTaken,
		mail.KindPasswordChanged, mail.KindEmailChanged, mail.KindLoginLocked, mail.KindInvitation, mail.KindEmailRestored,
		mail.KindAPIKeyCreated}
	var subjects []string
	for _, k := range kinds {
		// An organization's name reaches a subject only through account.safeName: 40 characters at most.
		subject, _, _, err := mail.Render(k, mail.Data{Organization: strings.Repeat("W", 40)})
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, subject)
	}
	b["email_outbox.kind"] = longest("mail.Kind*", kinds...)
	b["email_outbox.subject"] = longest("mail.Render subjects", subjects...)
	b["email_outbox.last_error"] = bounded(1000, "MarkFailed keeps at most 1000 bytes")

	// store.RecordActivity cuts every text of an entry to its column (the flows write far shorter
	// values: catalogue names, emails, key prefixes) and refuses longer metadata.
	for col, n := range map[string]int{
		"actor_type": 16, "status": 16, "category": 32, "resource_type": 32, "action": 64, "actor_label": 255,
		"message": 255, "request_id": 128, "source_address": 64, "metadata": store.MaxActivityMetadata,
	} {
		b["activity_logs."+col] = bounded(n, "store.RecordActivity cuts or refuses longer values")
	}

	// server/limits.go keys a hit "<rule>:<subject>:<window start>": a rule name (the longest,
	// "verify-request:user", has 19 characters), a subject (a UUID, 36; an IP address, at most 45;
	// a hex SHA-256 prefix of an email with ":" and an IP address, 24+1+45) and the window's start in
	// Unix seconds (an int64: at most 20).
	b["rate_limits.bucket"] = bounded(19+1+24+1+45+1+20, "rate-limit key built by server/limits.go")
	return b
}

// TestSchemaMapsModels: migrated from empty, the schema has a column for every field of every model,
// of a kind the field can be written to and read from, nullable exactly when the field is a
// pointer; a bounded string column holds what the code writes (or is fed by a request field, which
// TestSchemaHoldsSpecFields checks); and no table or column is left that no model maps.
func TestSchemaMapsModels(t *testing.T) {
	fromSpec := map[string]bool{}
	for _, f := range specFeeds {
		fromSpec[f.column] = true
	}
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		cols := readColumns(t, st)
		code := codeBounds(t)
		mapped := map[string]bool{}
		for _, m := range models {
			stmt := &gorm.Statement{DB: st.DB()}
			if err := stmt.Parse(m); err != nil {
				t.Fatalf("parse %T: %v", m, err)
			}
			sch := stmt.Schema
			t.Run(sch.Table, func(t *testing.T) {
				for _, f := range sch.Fields {
					if f.DBName == "" {
						continue
					}
					key := sch.Table + "." + f.DBName
					mapped[key] = true
					c, ok := cols[key]
					if !ok {
						t.Errorf("%s.%s: got no column %s, want one (add it in a new migration step)", sch.Name, f.Name, key)
						continue
					}
					if err := mapsOnto(f.FieldType, c); err != nil {
						t.Errorf("%s.%s: %v", sch.Name, f.Name, err)
						continue
					}
					if c.kind != kindText || c.length == 0 {
						continue
					}
					b, known := code[key]
					switch {
					case known:
						if err := fits(b, c); err != nil {
							t.Errorf("%s.%s: %v", sch.Name, f.Name, err)
						}
					case !fromSpec[key]:
						t.Errorf("%s.%s: nothing says how long the values written to %s get: add it to codeBounds or specFeeds", sch.Name, f.Name, c)
					}
				}
			})
		}
		for key, c := range cols {
			if !mapped[key] && c.table != migrationsTable {
				t.Errorf("%s: got a column no model maps, want every column mapped (or dropped by a migration)", c)
			}
		}
		for key := range code {
			if _, ok := cols[key]; !ok {
				t.Errorf("codeBounds names %s: got no such column, want the stale entry removed", key)
			}
		}
	})
}

// storedAs computes how long the stored form of a value valid against a request field's schema can
// get.
type storedAs func(s *openapi3.Schema) bound

// verbatim: the value is stored as it comes (at most trimmed, which only shortens it). maxLength
// counts characters (kin-openapi counts runes), as PostgreSQL's varchar(n) does.
func verbatim(s *openapi3.Schema) bound {
	if s.MaxLength == nil {
		return unbounded("no maxLength")
	}
	return bounded(int(*s.MaxLength), fmt.Sprintf("maxLength %d", *s.MaxLength))
}

// suffixed: the value is stored with suffix appended.
func suffixed(suffix string) storedAs {
	return func(s *openapi3.Schema) bound {
		b := verbatim(s)
		if b.ok {
			b.n += utf8.RuneCountInString(suffix)
			b.why += fmt.Sprintf(" + %q", suffix)
		}
		return b
	}
}

// joined: an array of strings stored joined with sep.
func joined(sep string) storedAs {
	return func(s *openapi3.Schema) bound {
		if s.MaxItems == nil {
			return unbounded("array without maxItems")
		}
		items := int(*s.MaxItems)
		if items == 0 {
			return bounded(0, "maxItems 0")
		}
		item := s.Items.Value
		var lengths []int
		switch {
		case len(item.Enum) > 0:
			for _, e := range item.Enum {
				lengths = append(lengths, utf8.RuneCountInString(fmt.Sprint(e)))
			}
			slices.Sort(lengths)
			slices.Reverse(lengths)
			if s.UniqueItems {
				lengths = lengths[:min(items, len(lengths))]
			} else {
				lengths = slices.Repeat(lengths[:1], items)
			}
		case item.MaxLength != nil:
			lengths = slices.Repeat([]int{int(*item.MaxLength)}, items)
		default:
			return unbounded("array items without maxLength or enum")
		}
		n := 0
		for _, l := range lengths {
			n += l
		}
		n += (len(lengths) - 1) * utf8.RuneCountInString(sep)
		return bounded(n, fmt.Sprintf("%d items joined with %q", len(lengths), sep))
	}
}

// jsonString bounds a string value once JSON-encoded by encoding/json: quotes, and escaping that
// turns one character into at most six (\u003c). A UUID is 36 characters that need no escaping:
// the server validates the format (server/validation.go) and re-encodes the parsed value.
func jsonString(s *openapi3.Schema) bound {
	switch {
	case s.Type.Is(openapi3.TypeString) && s.Format == "uuid":
		return bounded(36+2, "a quoted UUID")
	case s.Type.Is(openapi3.TypeString) && s.MaxLength != nil:
		return bounded(6*int(*s.MaxLength)+2, fmt.Sprintf("maxLength %d, escaped", *s.MaxLength))
	case s.Type.Is(openapi3.TypeString):
		return unbounded("a string without maxLength")
	}
	return unbounded(fmt.Sprintf("a %v value this test cannot bound", s.Type.Slice()))
}

// jsonArray: an array stored as its JSON encoding.
func jsonArray(s *openapi3.Schema) bound {
	if s.MaxItems == nil {
		return unbounded("array without maxItems")
	}
	item := jsonString(s.Items.Value)
	if !item.ok {
		return unbounded("array items: " + item.why)
	}
	items := int(*s.MaxItems)
	n := 2 + items*item.n + max(items-1, 0)
	if s.Nullable {
		n = max(n, len("null"))
	}
	return bounded(n, fmt.Sprintf("JSON array of at most %d items, each %s", items, item.why))
}

// jsonObject: an object stored as its JSON encoding. Only declared properties can be bounded:
// OpenAPI 3.0 cannot limit the length of the names additionalProperties allows.
func jsonObject(s *openapi3.Schema) bound {
	if ap := s.AdditionalProperties; ap.Schema != nil || ap.Has == nil || *ap.Has {
		return unbounded("object with additionalProperties: property names have no maxLength")
	}
	n := 2 + max(len(s.Properties)-1, 0)
	for name, p := range s.Properties {
		v := jsonString(p.Value)
		if !v.ok {
			return unbounded(fmt.Sprintf("property %s: %s", name, v.why))
		}
		n += len(name) + 3 + max(v.n, len("null"))
	}
	return bounded(n, fmt.Sprintf("JSON object of %d declared string properties", len(s.Properties)))
}

// capped: the server refuses (or shortens) a value that would be stored longer than n characters.
func capped(n int, as storedAs) storedAs {
	return func(s *openapi3.Schema) bound {
		b := as(s)
		if !b.ok || b.n > n {
			return bounded(n, fmt.Sprintf("the server keeps it to %d characters (%s otherwise)", n, b.why))
		}
		return b
	}
}

// oneOfRoles: a role is stored only once it is one of the four (account.ParseRole), whatever
// length the request may send.
func oneOfRoles(*openapi3.Schema) bound {
	return bounded(len(account.RoleViewer), "account.ParseRole admits only owner, admin, editor, viewer")
}

// specFeed is a request field of openapi.yaml (a property of a schema in components) whose value
// the server stores, the column it lands in, and how it is stored there.
type specFeed struct {
	schema, property string
	column           string // table.column
	as               storedAs
	how              string // for messages, when not stored verbatim
}

func (f specFeed) field() string { return f.schema + "." + f.property }

func (f specFeed) id() string { return f.field() + " -> " + f.column }

// specFeeds says where each stored request field lands, as the server's handlers store it today;
// TestSpecFeedsCoverRequestFields makes sure no request field is forgotten.
var specFeeds = []specFeed{
	{schema: "RegisterRequest", property: "full_name", column: "users.full_name", as: verbatim},
	// Without workspace_name, the organization and its production project are named after the user.
	{schema: "RegisterRequest", property: "full_name", column: "organizations.name", as: capped(255, suffixed("'s Workspace")), how: `"<full_name>'s Workspace", shortened to 255`},
	{schema: "RegisterRequest", property: "full_name", column: "projects.name", as: capped(255, suffixed("'s Workspace")), how: `"<full_name>'s Workspace", shortened to 255`},
	{schema: "RegisterRequest", property: "email", column: "users.email", as: verbatim},
	{schema: "RegisterRequest", property: "email", column: "users.email_key", as: verbatim, how: "lower-cased, same length in characters"},
	// The account's address is where its links go, and verification tokens are bound to it.
	{schema: "RegisterRequest", property: "email", column: "email_outbox.to_address", as: verbatim},
	{schema: "RegisterRequest", property: "email", column: "one_time_tokens.payload", as: verbatim},
	{schema: "RegisterRequest", property: "workspace_name", column: "organizations.name", as: verbatim},
	{schema: "RegisterRequest", property: "workspace_name", column: "projects.name", as: verbatim},
	{schema: "RegisterRequest", property: "timezone", column: "users.timezone", as: verbatim},
	{schema: "RegisterRequest", property: "timezone", column: "projects.timezone", as: verbatim},
	{schema: "RegisterRequest", property: "marketing_attribution", column: "users.marketing_attribution", as: capped(16384, jsonObject), how: "JSON-encoded, refused beyond 16,384 characters"},
	{schema: "LoginRequest", property: "timezone", column: "users.timezone", as: verbatim},
	{schema: "EmailChangeRequest", property: "new_email", column: "users.pending_email", as: verbatim},
	{schema: "EmailChangeRequest", property: "new_email", column: "one_time_tokens.payload", as: verbatim},
	{schema: "EmailChangeRequest", property: "new_email", column: "email_outbox.to_address", as: verbatim},
	{schema: "EmailChangeRequest", property: "new_email", column: "users.email", as: verbatim, how: "once confirmed"},
	{schema: "EmailChangeRequest", property: "new_email", column: "users.email_key", as: verbatim, how: "once confirmed, lower-cased"},
	{schema: "ProfileUpdate", property: "workspace_name", column: "projects.name", as: verbatim},
	{schema: "ProfileUpdate", property: "full_name", column: "users.full_name", as: verbatim},
	{schema: "ProfileUpdate", property: "company_name", column: "organizations.company_name", as: verbatim},
	{schema: "ProfileUpdate", property: "company_website", column: "organizations.company_website", as: verbatim},
	{schema: "ProfileUpdate", property: "billing_email", column: "organizations.billing_email", as: verbatim},
	{schema: "ProfileUpdate", property: "billing_phone", column: "organizations.billing_phone", as: verbatim},
	{schema: "ProfileUpdate", property: "tax_id", column: "organizations.tax_id", as: verbatim},
	{schema: "ProfileUpdate", property: "address_line1", column: "organizations.address_line1", as: verbatim},
	{schema: "ProfileUpdate", property: "address_line2", column: "organizations.address_line2", as: verbatim},
	{schema: "ProfileUpdate", property: "address_city", column: "organizations.address_city", as: verbatim},
	{schema: "ProfileUpdate", property: "address_state", column: "organizations.address_state", as: verbatim},
	{schema: "ProfileUpdate", property: "address_postal_code", column: "organizations.address_postal_code", as: verbatim},
	{schema: "ProfileUpdate", property: "address_country", column: "organizations.address_country", as: verbatim},
	{schema: "APIKeyCreateRequest", property: "name", column: "api_keys.name", as: verbatim},
	{schema: "APIKeyCreateRequest", property: "scopes", column: "api_keys.scopes", as: joined(","), how: "comma-joined"},
	{schema: "APIKeyCreateRequest", property: "pinterest_account_ids", column: "api_keys.pinterest_account_ids", as: jsonArray, how: "JSON-encoded"},
	{schema: "APIKeyUpdateRequest", property: "name", column: "api_keys.name", as: verbatim},
	{schema: "APIKeyUpdateRequest", property: "scopes", column: "api_keys.scopes", as: joined(","), how: "comma-joined"},
	{schema: "APIKeyUpdateRequest", property: "pinterest_account_ids", column: "api_keys.pinterest_account_ids", as: jsonArray, how: "JSON-encoded"},
	{schema: "SandboxCreateRequest", property: "name", column: "projects.name", as: verbatim},
	{schema: "TeamInvitationCreate", property: "email", column: "invitations.email", as: verbatim},
	{schema: "TeamInvitationCreate", property: "email", column: "invitations.email_key", as: verbatim, how: "lower-cased"},
	{schema: "TeamInvitationCreate", property: "email", column: "email_outbox.to_address", as: verbatim},
	{schema: "TeamInvitationCreate", property: "role", column: "invitations.role", as: oneOfRoles, how: "one of the four roles"},
	{schema: "TeamMemberUpdate", property: "role", column: "memberships.role", as: oneOfRoles, how: "one of the four roles"},
}

// notInStringColumns are the request fields the server does not store in a string column, and why.
var notInStringColumns = map[string]string{
	"RegisterRequest.password":                 "only its argon2id hash is stored (codeBounds)",
	"RegisterRequest.next_path":                "accepted and not used",
	"LoginRequest.password":                    "compared with the stored hash",
	"ForgotPasswordRequest.email":              "looked up; rate limits key on a hash of it",
	"ResetPasswordRequest.token":               "looked up by its SHA-256",
	"ResetPasswordRequest.password":            "only its argon2id hash is stored",
	"ChangePasswordRequest.current_password":   "compared with the stored hash",
	"ChangePasswordRequest.new_password":       "only its argon2id hash is stored",
	"APIKeyCreateRequest.expires_at":           "stored in a timestamp column",
	"SwitchProjectRequest.project_id":          "looked up; the session token carries it",
	"LoginRequest.email":                       "looked up; failed logins are counted under a hash of it (codeBounds)",
	"RegisterRequest.invite_token":             "looked up by its SHA-256",
	"LoginRequest.invite_token":                "looked up by its SHA-256",
	"TeamInvitationAccept.token":               "looked up by its SHA-256",
	"EmailChangeRequest.current_password":      "compared with the stored hash",
	"TeamMemberUpdate.current_password":        "compared with the stored hash",
	"TeamInvitationCreate.current_password":    "compared with the stored hash",
	"TeamInvitationResend.current_password":    "compared with the stored hash",
	"EmailChangeRevertRequest.token":           "looked up by its SHA-256",
	"APIKeyRotateRequest.grace_period_seconds": "sets a timestamp column",
}

// knownFindings are the spec fields that may today hold more than the column they feed (on an
// engine that bounds lengths: PostgreSQL), with what goes wrong. Fixing them belongs to openapi.yaml
// or the server, owned by another change; until it lands, each is named with t.Log and skipped, not
// hidden, and the test fails once one no longer occurs, so the list only shrinks.
var knownFindings = map[string]string{}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatalf("load the embedded spec: %v", err)
	}
	return spec
}

// specProperty finds components.schemas[schema].properties[property].
func specProperty(spec *openapi3.T, schema, property string) (*openapi3.Schema, error) {
	s, ok := spec.Components.Schemas[schema]
	if !ok || s.Value == nil {
		return nil, fmt.Errorf("openapi.yaml has no schema %s", schema)
	}
	p, ok := s.Value.Properties[property]
	if !ok || p.Value == nil {
		return nil, fmt.Errorf("openapi.yaml schema %s has no property %s", schema, property)
	}
	return p.Value, nil
}

// TestSchemaHoldsSpecFields: migrated from empty, every column a request field feeds holds the
// longest value openapi.yaml lets through, in the form the server stores it. Known findings are
// logged and skipped, one subtest each.
func TestSchemaHoldsSpecFields(t *testing.T) {
	spec := loadSpec(t)
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		cols := readColumns(t, st)
		boundsLengths := false
		for _, c := range cols {
			boundsLengths = boundsLengths || (c.kind == kindText && c.length > 0)
		}
		if !boundsLengths {
			t.Log("this engine declares every string column unbounded (GORM's SQLite dialect writes text whatever the size): lengths bind on PostgreSQL")
		}
		for _, f := range specFeeds {
			t.Run(f.id(), func(t *testing.T) {
				s, err := specProperty(spec, f.schema, f.property)
				if err != nil {
					t.Fatal(err)
				}
				c, ok := cols[f.column]
				if !ok {
					t.Fatalf("got no column %s, want the column %s feeds", f.column, f.field())
				}
				b := f.as(s)
				if f.how != "" {
					b.why = f.how + ", " + b.why
				}
				err = fits(b, c)
				finding, known := knownFindings[f.id()]
				switch {
				case err != nil && known:
					t.Logf("KNOWN FINDING #/components/schemas/%s/properties/%s -> %s: %s (%v)", f.schema, f.property, c, finding, err)
					t.Skip("known finding, listed in knownFindings; fix openapi.yaml or the server, then remove it")
				case err != nil:
					t.Errorf("#/components/schemas/%s/properties/%s: %v", f.schema, f.property, err)
				case known && boundsLengths:
					t.Errorf("listed in knownFindings but %s now holds it (%s): remove it from the list", c, b.why)
				case known:
					t.Logf("known finding, not visible on this engine: %s", finding)
				}
			})
		}
	})
	for id := range knownFindings {
		if !slices.ContainsFunc(specFeeds, func(f specFeed) bool { return f.id() == id }) {
			t.Errorf("knownFindings names %q: got no such entry in specFeeds, want a stale entry removed", id)
		}
	}
}

// TestSpecFeedsCoverRequestFields: every property of every JSON request body in openapi.yaml is
// either in specFeeds or in notInStringColumns, and both lists name real properties, so a new
// request field cannot reach a column unchecked.
func TestSpecFeedsCoverRequestFields(t *testing.T) {
	spec := loadSpec(t)
	listed := map[string]bool{}
	for _, f := range specFeeds {
		listed[f.field()] = true
		if _, err := specProperty(spec, f.schema, f.property); err != nil {
			t.Errorf("specFeeds entry %s: %v", f.id(), err)
		}
	}
	for field := range notInStringColumns {
		schemaName, property, _ := strings.Cut(field, ".")
		if _, err := specProperty(spec, schemaName, property); err != nil {
			t.Errorf("notInStringColumns entry %s: %v", field, err)
		}
		if listed[field] {
			t.Errorf("%s is in both specFeeds and notInStringColumns, want one", field)
		}
		listed[field] = true
	}
	bodies := 0
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			media := op.RequestBody.Value.Content.Get("application/json")
			if media == nil || media.Schema == nil {
				continue
			}
			name, ok := strings.CutPrefix(media.Schema.Ref, "#/components/schemas/")
			if !ok {
				t.Errorf("%s %s: got an inline request body schema, want a $ref this test can name", method, path)
				continue
			}
			bodies++
			for property := range media.Schema.Value.Properties {
				if !listed[name+"."+property] {
					t.Errorf("%s %s: request field %s.%s is in neither specFeeds nor notInStringColumns, want it in one", method, path, name, property)
				}
			}
		}
	}
	if bodies == 0 {
		t.Fatal("got no JSON request bodies in the spec, want the API's")
	}
}

// TestFits: the length comparison flags a column shorter than what may be stored in it, and a
// bounded column fed by something unbounded.
func TestFits(t *testing.T) {
	varchar := func(n int) column {
		return column{table: "t", name: "c", declared: fmt.Sprintf("character varying(%d)", n), kind: kindText, length: n}
	}
	text := column{table: "t", name: "c", declared: "text", kind: kindText}
	for _, c := range []struct {
		name    string
		b       bound
		col     column
		wantErr bool
	}{
		{"equal lengths", bounded(255, "maxLength 255"), varchar(255), false},
		{"shorter value", bounded(254, "maxLength 254"), varchar(255), false},
		{"mismatched pair: value longer than column", bounded(267, `maxLength 255 + "'s Workspace"`), varchar(255), true},
		{"unbounded value into bounded column", unbounded("no maxLength"), varchar(16384), true},
		{"unbounded value into text", unbounded("no maxLength"), text, false},
		{"long value into text", bounded(1<<20, "big"), text, false},
		{"string into a timestamp column", bounded(10, "x"), column{table: "t", name: "c", declared: "timestamp with time zone", kind: kindTime}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := fits(c.b, c.col)
			if (err != nil) != c.wantErr {
				t.Errorf("fits(%+v, %s) = %v, want error %v", c.b, c.col, err, c.wantErr)
			}
		})
	}
}

// TestMapsOnto: the type comparison flags a field the column cannot hold or give back.
func TestMapsOnto(t *testing.T) {
	col := func(kind string, nullable bool) column {
		return column{table: "t", name: "c", declared: kind, kind: kind, nullable: nullable}
	}
	for _, c := range []struct {
		name    string
		field   reflect.Type
		col     column
		wantErr bool
	}{
		{"string on text", reflect.TypeFor[string](), col(kindText, false), false},
		{"*string on nullable text", reflect.TypeFor[*string](), col(kindText, true), false},
		{"time on timestamptz", timeType, col(kindTime, false), false},
		{"*time on nullable timestamptz", reflect.TypeFor[*time.Time](), col(kindTime, true), false},
		{"int on bigint", reflect.TypeFor[int](), col(kindInt64, false), false},
		{"bool on boolean", reflect.TypeFor[bool](), col(kindBool, false), false},
		{"string on nullable text", reflect.TypeFor[string](), col(kindText, true), true},
		{"*string on NOT NULL text", reflect.TypeFor[*string](), col(kindText, false), true},
		{"string on timestamptz", reflect.TypeFor[string](), col(kindTime, false), true},
		{"time on timestamp without zone", timeType, col(kindTimeNoZone, false), true},
		{"int on 32-bit integer", reflect.TypeFor[int](), col(kindInt32, false), true},
		{"float, no rule", reflect.TypeFor[float64](), col(kindOther, false), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := mapsOnto(c.field, c.col)
			if (err != nil) != c.wantErr {
				t.Errorf("mapsOnto(%s, %s) = %v, want error %v", c.field, c.col, err, c.wantErr)
			}
		})
	}
}

// TestSQLiteKind: declared SQLite types read as the kinds and lengths they mean.
func TestSQLiteKind(t *testing.T) {
	for _, c := range []struct {
		declared string
		kind     string
		length   int
	}{
		{"text", kindText, 0},
		{"varchar(255)", kindText, 255},
		{"VARCHAR( 64 )", kindText, 64},
		{"datetime", kindTime, 0},
		{"integer", kindInt64, 0},
		{"bigint", kindInt64, 0},
		{"numeric", kindBool, 0},
		{"blob", kindOther, 0},
	} {
		t.Run(c.declared, func(t *testing.T) {
			kind, length := sqliteKind(c.declared)
			if kind != c.kind || length != c.length {
				t.Errorf("sqliteKind(%q) = %s, %d; want %s, %d", c.declared, kind, length, c.kind, c.length)
			}
		})
	}
}

// TestStoredAs: each storage form bounds what the spec lets through, or says it cannot.
func TestStoredAs(t *testing.T) {
	str := func(maxLength uint64) *openapi3.Schema {
		return openapi3.NewStringSchema().WithMaxLength(int64(maxLength))
	}
	enum := openapi3.NewStringSchema().WithEnum("read", "write", "destructive")
	uuids := openapi3.NewArraySchema().WithItems(openapi3.NewUUIDSchema()).WithMaxItems(100)
	fixed := openapi3.NewObjectSchema().WithProperty("utm_source", str(10)).WithoutAdditionalProperties()
	open := openapi3.NewObjectSchema().WithAdditionalProperties(str(10))
	for _, c := range []struct {
		name   string
		as     storedAs
		schema *openapi3.Schema
		want   bound
	}{
		{"verbatim", verbatim, str(255), bounded(255, "")},
		{"verbatim without maxLength", verbatim, openapi3.NewStringSchema(), unbounded("")},
		{"suffixed", suffixed("'s Workspace"), str(255), bounded(267, "")},
		{"joined unique enum", joined(","), openapi3.NewArraySchema().WithItems(enum).WithMaxItems(3).WithUniqueItems(true), bounded(22, "")},
		{"joined repeated enum", joined(","), openapi3.NewArraySchema().WithItems(enum).WithMaxItems(3), bounded(35, "")},
		{"joined without maxItems", joined(","), openapi3.NewArraySchema().WithItems(enum), unbounded("")},
		{"JSON array of UUIDs", jsonArray, uuids, bounded(2+100*38+99, "")},
		{"JSON array of escaped strings", jsonArray, openapi3.NewArraySchema().WithItems(str(4)).WithMaxItems(2), bounded(2+2*26+1, "")},
		{"JSON object, declared properties", jsonObject, fixed, bounded(2+len("utm_source")+3+62, "")},
		{"JSON object, additionalProperties", jsonObject, open, unbounded("")},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.as(c.schema)
			if got.ok != c.want.ok || (got.ok && got.n != c.want.n) {
				t.Errorf("got %d (bounded %v: %s), want %d (bounded %v)", got.n, got.ok, got.why, c.want.n, c.want.ok)
			}
		})
	}
}
