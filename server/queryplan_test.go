package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestEveryQueryUsesAnIndex drives every request path of the API, the background workers and the
// operator's commands once over PostgreSQL, records every statement the driver sends (through GORM
// or past it), and asks PostgreSQL for the plan of each distinct one with sequential scans disabled,
// so that the planner takes an index whenever one can serve the query, however small the tables.
// A sequential scan left in a plan, or an index read from end to end, means no index serves the
// query: a table that grows makes it slower with every row. It also fails when a store method that
// queries was not exercised, so a new query cannot escape the check by not being run.
//
// The plans are made in a database of a non-C collation when the server can create one, as
// production databases mostly are: there a plain index serves no LIKE 'prefix%'.
func TestEveryQueryUsesAnIndex(t *testing.T) {
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		if u := collatedDatabase(t, base); u != "" {
			t.Setenv("TEST_DATABASE_URL", u)
		}
	}
	_, dbURL := testdb.Engines()[1].Open(t) // PostgreSQL, migrated; skipped without it
	rec := &queryLog{queries: map[string]*recordedQuery{}, methods: map[string]bool{}}
	st := testdb.OpenURL(t, dbURL, store.Options{MaxOpenConns: 8, Tracer: rec})
	priv, keyFile := scanningKeys(t)
	cfg := testConfig(t)
	cfg.Auth.SecretScanningKeysFile = keyFile
	e := newEnv(t, st, cfg, fastHash)

	driveEveryPath(t, e, func(body string) map[string]string {
		return map[string]string{"Github-Public-Key-Identifier": "test-key-1", "Github-Public-Key-Signature": sign(t, priv, body)}
	})
	e.stack.Accounts.Wait()
	queries := rec.stop()

	for _, m := range unexercisedStoreMethods(rec.methods) {
		t.Errorf("store method %s ran no query here: drive the path that uses it (or list it in offPath with why)", m)
	}

	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	leading := leadingKeys(t, conn)
	checked := 0
	for _, q := range queries {
		if !planned(q.sql) {
			continue
		}
		checked++
		plan, err := explain(t.Context(), conn, q)
		if err != nil {
			t.Errorf("EXPLAIN %s\n  by %s: %v", q.sql, q.caller, err)
			continue
		}
		for _, s := range fullScans(plan, leading) {
			if reason, ok := fullScanAllowed[s.table]; ok {
				t.Logf("%s of %s allowed (%s): %.120s", s.node, s.table, reason, q.sql)
				continue
			}
			t.Errorf("%s of %s: no index serves this query\n  query: %s\n  by %s\n  plan: %s",
				s.node, s.table, q.sql, q.caller, strings.Join(s.plan, " / "))
		}
	}
	if checked < 50 {
		t.Errorf("only %d distinct statements planned: the drive did not run", checked)
	}
	t.Logf("%d distinct statements planned, %d recorded in all", checked, len(queries))
}

// collatedDatabase creates, beside base, a database whose default collation is ICU's en-US, and
// returns its URL; it is dropped when the test ends. Empty, with a note, when the server cannot
// (PostgreSQL before 15, no ICU, no CREATEDB privilege).
func collatedDatabase(t *testing.T, base string) string {
	t.Helper()
	admin, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(context.Background())
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "plan_" + hex.EncodeToString(buf)
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		t.Logf("planning in the server's default collation: no database of ICU collation (%v)", err)
		return ""
	}
	t.Cleanup(func() {
		if admin, err := pgx.Connect(context.Background(), base); err == nil {
			_, _ = admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
			_ = admin.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// fullScanAllowed names the tables a query may read whole, each with why. Keep it empty: add an index.
var fullScanAllowed = map[string]string{}

// offPath lists the store methods that query but that this test does not drive, each with why.
var offPath = map[string]string{
	"Migrate": "schema migrations, at start-up only",
	"ReleaseLoginAttempt": "an attempt whose password check could not run (a full hashing pool): an UPDATE by " +
		"primary key (TestLoginFloodIsShedNotQueued drives it)",
	"RecordActivities": "fixtures and benchmarks only",
}

// queryLog is a pgx tracer that records every statement with its first arguments and the store
// method that sent it.
type queryLog struct {
	mu      sync.Mutex
	stopped bool
	order   []string
	queries map[string]*recordedQuery // by SQL text
	methods map[string]bool           // exported Store methods seen sending a statement
}

type recordedQuery struct {
	sql    string
	args   []any
	caller string // the store method and the flow that called it
}

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	caller, methods := callerOf()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return ctx
	}
	for _, m := range methods {
		l.methods[m] = true
	}
	if _, ok := l.queries[d.SQL]; !ok {
		l.order = append(l.order, d.SQL)
		l.queries[d.SQL] = &recordedQuery{sql: d.SQL, args: slices.Clone(d.Args), caller: caller}
	}
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// stop ends the recording (the workers still run) and returns the statements in the order first seen.
func (l *queryLog) stop() []*recordedQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	out := make([]*recordedQuery, len(l.order))
	for i, q := range l.order {
		out[i] = l.queries[q]
	}
	return out
}

const modulePath = "github.com/pinbridge/pinbridge-auth/"

// callerOf describes who sent the statement being traced: the innermost store method and the first
// function outside the store that called it; and it lists every exported Store method on the stack.
func callerOf() (string, []string) {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	var inner, outer string
	var methods []string
	for {
		f, more := frames.Next()
		name := strings.TrimPrefix(f.Function, modulePath)
		if name != f.Function {
			if m, ok := strings.CutPrefix(name, "store.(*Store)."); ok {
				m, _, _ = strings.Cut(m, ".")
				if m != "Tx" && m[0] >= 'A' && m[0] <= 'Z' {
					methods = append(methods, m)
					if inner == "" {
						inner = "store." + m
					}
				}
			} else if outer == "" && !strings.HasPrefix(name, "store.") {
				outer = name
			}
		}
		if !more {
			break
		}
	}
	return inner + " from " + outer, methods
}

// unexercisedStoreMethods lists the Store methods that send statements but sent none here.
func unexercisedStoreMethods(seen map[string]bool) []string {
	quiet := map[string]bool{ // they send no statement of their own (Ping and Health ping the protocol)
		"Close": true, "Postgres": true, "Ping": true, "Health": true, "Tx": true, "OnQuery": true, "DB": true,
	}
	var out []string
	typ := reflect.TypeFor[*store.Store]()
	for i := range typ.NumMethod() {
		m := typ.Method(i).Name
		if !seen[m] && !quiet[m] && offPath[m] == "" {
			out = append(out, m)
		}
	}
	return out
}

// planned reports whether a statement has a plan worth reading: transaction control, SET and the
// like have none.
func planned(sql string) bool {
	word, _, _ := strings.Cut(strings.TrimLeft(sql, " \t\r\n("), " ")
	switch strings.ToUpper(word) {
	case "SELECT", "WITH", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// explain returns the plan PostgreSQL chooses for q with its recorded arguments when sequential
// scans are disabled (they are then taken only when nothing else can run the query).
func explain(ctx context.Context, conn *pgx.Conn, q *recordedQuery) (map[string]any, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		return nil, err
	}
	var raw []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+q.sql, q.args...).Scan(&raw); err != nil {
		return nil, err
	}
	var out []struct {
		Plan map[string]any `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		return nil, fmt.Errorf("plan %s: %v", raw, err)
	}
	return out[0].Plan, nil
}

// fullScan is a node of a plan that reads a whole table, or a whole index, to find its rows.
type fullScan struct {
	node, table string
	plan        []string // the path from the plan's root to the node
}

// fullScans walks a plan for sequential scans, and for index scans that read their index from end
// to end: with no index condition (taken only because sequential scans are off), or with none on
// the index's leading key (a B-tree is then searched whole). leading gives an index's leading key.
func fullScans(root map[string]any, leading func(index string) string) []fullScan {
	var out []fullScan
	var walk func(n map[string]any, path []string)
	walk = func(n map[string]any, path []string) {
		node, _ := n["Node Type"].(string)
		table, _ := n["Relation Name"].(string)
		index, _ := n["Index Name"].(string)
		label := node
		if table != "" {
			label += " on " + table
		}
		if index != "" {
			label += " using " + index
		}
		path = append(path, label)
		cond, hasCond := n["Index Cond"].(string)
		switch {
		case node == "Seq Scan":
			out = append(out, fullScan{node: node, table: table, plan: slices.Clone(path)})
		case index == "":
		case !hasCond:
			out = append(out, fullScan{node: "whole-index " + label, table: table, plan: slices.Clone(path)})
		case !mentions(cond, leading(index)):
			out = append(out, fullScan{node: label + " without its leading key " + leading(index), table: table, plan: slices.Clone(path)})
		}
		children, _ := n["Plans"].([]any)
		for _, c := range children {
			if child, ok := c.(map[string]any); ok {
				walk(child, path)
			}
		}
	}
	walk(root, nil)
	return out
}

var sqlLiteral = regexp.MustCompile(`'(?:[^']|'')*'`)

// mentions reports whether an index condition, as EXPLAIN writes it, uses key (a column or an
// expression, as pg_get_indexdef writes it) of the scanned table. Parentheses and spaces are
// ignored, literals too; a name qualified by another table's alias does not count.
func mentions(cond, key string) bool {
	strip := strings.NewReplacer("(", "", ")", "", " ", "")
	c := strip.Replace(sqlLiteral.ReplaceAllString(cond, "''"))
	return regexp.MustCompile(`(^|[^a-z0-9_."])` + regexp.QuoteMeta(strip.Replace(key)) + `($|[^a-z0-9_"])`).MatchString(c)
}

// leadingKeys looks up the leading key of the indexes of conn's database, once each.
func leadingKeys(t *testing.T, conn *pgx.Conn) func(index string) string {
	keys := map[string]string{}
	return func(index string) string {
		if k, ok := keys[index]; ok {
			return k
		}
		var k string
		if err := conn.QueryRow(t.Context(), "SELECT pg_get_indexdef(to_regclass($1), 1, true)", index).Scan(&k); err != nil {
			t.Fatalf("leading key of %s: %v", index, err)
		}
		keys[index] = k
		return k
	}
}

// must sends one request and fails the test unless the answer has status want; it returns the
// decoded JSON body (an object, a list, or nil when empty).
func (e *env) must(want int, method, path, body string, headers map[string]string) any {
	e.t.Helper()
	status, _, raw := e.send(method, path, body, headers)
	if status != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, status, raw, want)
	}
	var out any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return out
}

// field reads a string at a path of keys in a decoded JSON body.
func field(t testing.TB, v any, keys ...string) string {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %s in %v", k, v)
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v at %v is not a string", v, keys)
	}
	return s
}

func bearerHeader(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// driveEveryPath runs every operation of the API at least once, the outcomes that query differently
// (a wrong password, an unknown email, a second page) too, then every background worker and every
// operator command. signed gives the headers that sign a secret-scanning report.
func driveEveryPath(t *testing.T, e *env, signed func(body string) map[string]string) {
	ctx := context.Background()
	const pw, pw2, pw3 = "a perfectly fine password", "a second fine password", "a third fine password"

	// System endpoints.
	e.must(200, "GET", "/", "", nil)
	e.must(200, "GET", "/healthz", "", nil)
	e.must(200, "GET", "/readyz", "", nil)
	metrics, err := http.Get(e.url + "/metrics") // the outbox backlog gauge (not JSON)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	_ = metrics.Body.Close()
	if metrics.StatusCode != 200 {
		t.Fatalf("metrics: %d", metrics.StatusCode)
	}

	// Registration, sign-in (right, wrong, unknown), the account.
	registered := e.register("owner@example.com", pw)
	production := registered.ActiveProject.ID.String()
	e.must(409, "POST", "/v1/auth/register", `{"full_name":"Again","email":"Owner@example.com","password":"`+pw+`"}`, nil)
	e.must(401, "POST", "/v1/auth/login", `{"email":"owner@example.com","password":"not the password"}`, nil)
	e.must(401, "POST", "/v1/auth/login", `{"email":"nobody@example.com","password":"not the password"}`, nil)
	// A hash made with outdated parameters is made again at the next sign-in.
	outdated, err := password.Hash(pw, password.Params{Memory: 512, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPasswordHash(context.Background(), registered.User.ID.String(), outdated, time.Now()); err != nil {
		t.Fatal(err)
	}
	owner := e.login("owner@example.com")
	e.must(200, "GET", "/v1/auth/me", "", bearerHeader(owner))
	e.must(200, "GET", "/v1/auth/me", "", bearerHeader(owner)) // the user's row and the organizations remembered
	e.must(200, "GET", "/v1/auth/profile", "", bearerHeader(owner))
	e.must(200, "PUT", "/v1/auth/profile", `{"full_name":"Owen Owner","company_name":"Owner Inc","workspace_name":"Owners"}`, bearerHeader(owner))

	// Email verification.
	verify := e.requestVerification(owner, "owner@example.com")
	e.must(200, "GET", "/v1/auth/email/verify?token="+verify, "", nil)
	e.must(400, "GET", "/v1/auth/email/verify?token="+verify, "", nil)

	// Projects.
	e.must(200, "GET", "/v1/projects", "", bearerHeader(owner))
	sandbox := e.sandbox(owner).ID.String()
	e.must(200, "POST", "/v1/projects/sandbox/reset", "", bearerHeader(owner))
	inSandbox := e.switchTo(owner, sandbox)

	// API keys: in the sandbox one limited to some accounts; read with the key in every way a
	// client sends it; updated, rotated, revoked.
	accounts := e.must(200, "GET", "/v1/pinterest/accounts", "", bearerHeader(inSandbox)).([]any)
	if len(accounts) == 0 {
		t.Fatal("the sandbox has no accounts")
	}
	accountID := field(t, accounts[0], "id")
	limited := e.must(201, "POST", "/v1/api-keys", `{"name":"limited","pinterest_account_ids":["`+accountID+`"]}`, bearerHeader(inSandbox))
	limitedKey := field(t, limited, "api_key")
	e.must(200, "GET", "/v1/pinterest/accounts", "", map[string]string{"X-API-Key": limitedKey})
	e.must(200, "GET", "/v1/pinterest/accounts", "", bearerHeader(limitedKey))
	e.must(200, "GET", "/v1/activity-logs", "", map[string]string{"X-API-Key": limitedKey})
	e.must(401, "GET", "/v1/pinterest/accounts", "", map[string]string{"X-API-Key": "pb_test_" + strings.Repeat("A", 40)})
	owner = e.switchTo(inSandbox, production)
	key := e.must(201, "POST", "/v1/api-keys", `{"name":"publisher","scopes":["read","write"]}`, bearerHeader(owner))
	keyID := field(t, key, "id")
	e.must(200, "GET", "/v1/pinterest/accounts", "", map[string]string{"X-API-Key": field(t, key, "api_key")})
	e.must(200, "GET", "/v1/api-keys", "", bearerHeader(owner))
	e.must(200, "PATCH", "/v1/api-keys/"+keyID, `{"name":"renamed"}`, bearerHeader(owner))
	rotated := e.must(201, "POST", "/v1/api-keys/"+keyID+"/rotate", `{"grace_period_seconds":3600}`, bearerHeader(owner))
	e.must(200, "DELETE", "/v1/api-keys/"+field(t, rotated, "id"), "", bearerHeader(owner))
	e.must(404, "DELETE", "/v1/api-keys/00000000-0000-7000-8000-000000000000", "", bearerHeader(owner))
	expiring := e.clock.Now().Add(72 * time.Hour).Format(time.RFC3339)
	e.must(201, "POST", "/v1/api-keys", `{"name":"expiring","expires_at":"`+expiring+`"}`, bearerHeader(owner))
	leaked := field(t, e.must(201, "POST", "/v1/api-keys", `{"name":"leaked"}`, bearerHeader(owner)), "api_key")
	report := `[{"token":"` + leaked + `","type":"pinbridge_api_key","url":"https://github.com/octo/repo","source":"content"}]`
	e.must(200, "POST", "/v1/secret-scanning/github", report, signed(report))
	e.must(400, "POST", "/v1/secret-scanning/github", report, signed(report))
	e.stack.KeyUsage.Flush(ctx)

	// The team: an invitation accepted by registering, one by signing in, one by a session; roles
	// changed; a member removed, one leaving; invitations listed, resent, revoked, previewed.
	_, bobLink := e.invite(owner, "bob@example.com", "editor")
	e.must(200, "GET", "/v1/team/invitations/preview?token="+url.QueryEscape(bobLink), "", nil)
	bob := e.must(201, "POST", "/v1/auth/register", `{"full_name":"Bob","email":"bob@example.com","password":"`+pw+`","invite_token":"`+bobLink+`"}`, nil)
	e.register("carol@example.com", pw)
	_, carolLink := e.invite(owner, "carol@example.com", "viewer")
	e.must(200, "POST", "/v1/auth/login", `{"email":"carol@example.com","password":"`+pw+`","invite_token":"`+carolLink+`"}`, nil)
	dave := e.register("dave@example.com", pw).AccessToken
	_, daveLink := e.invite(owner, "dave@example.com", "viewer")
	e.must(200, "POST", "/v1/team/invitations/accept", `{"token":"`+daveLink+`"}`, bearerHeader(dave))
	pending, _ := e.invite(owner, "erin@example.com", "viewer")
	e.must(200, "GET", "/v1/team/invitations", "", bearerHeader(owner))
	e.must(200, "POST", "/v1/team/invitations/"+pending.ID.String()+"/resend", "", bearerHeader(owner))
	e.must(200, "DELETE", "/v1/team/invitations/"+pending.ID.String(), "", bearerHeader(owner))
	e.must(200, "GET", "/v1/team/members", "", bearerHeader(owner))
	carolID := e.memberID(owner, "carol@example.com")
	e.must(200, "PATCH", "/v1/team/members/"+carolID, `{"role":"editor"}`, bearerHeader(owner))
	e.must(200, "DELETE", "/v1/team/members/"+carolID, "", bearerHeader(owner))
	bobToken := field(t, bob, "access_token")
	e.must(200, "DELETE", "/v1/team/members/"+e.memberID(owner, "bob@example.com"), "", bearerHeader(bobToken))
	// A founder who leaves their only organization (a co-owner keeps it) gets a new one at sign-in.
	frank := e.register("frank@example.com", pw).AccessToken
	e.verify(frank, "frank@example.com") // making an owner needs a verified address
	gina := e.join(frank, "gina@example.com", "owner")
	e.must(200, "DELETE", "/v1/team/members/"+e.memberID(gina.AccessToken, "frank@example.com"), "", bearerHeader(frank))
	e.must(200, "POST", "/v1/auth/login", `{"email":"frank@example.com","password":"`+pw+`","timezone":"Europe/Paris"}`, nil)
	e.register("ursula@example.com", pw) // never verified

	// Recovery and password changes: a reset of a verified account and of one never verified (which
	// undoes what its registrant set up), a change with the wrong password and the right one.
	e.forgot("nobody@example.com")
	e.must(400, "POST", "/v1/auth/reset-password", `{"token":"`+strings.Repeat("x", 43)+`","password":"`+pw2+`"}`, nil)
	if status, msg := e.reset(e.resetLink("owner@example.com"), pw2); status != 200 {
		t.Fatalf("reset: %d %s", status, msg)
	}
	if status, msg := e.reset(e.resetLink("ursula@example.com"), pw2); status != 200 {
		t.Fatalf("reset of an unverified account: %d %s", status, msg)
	}
	owner = e.loginWith("owner@example.com", pw2)
	e.must(400, "POST", "/v1/auth/change-password", `{"current_password":"not the password","new_password":"`+pw3+`"}`, bearerHeader(owner))
	e.must(200, "POST", "/v1/auth/change-password", `{"current_password":"`+pw2+`","new_password":"`+pw3+`"}`, bearerHeader(owner))

	// Email change: requested, confirmed, then undone by the former address (which ends the
	// password), and a new password chosen with the link that comes with it.
	// The revert revokes the keys made since the re-authentication window before the request, and
	// no others: the keys above stay (the expiring one is reminded about below).
	e.clock.Advance(11 * time.Minute)
	owner = e.loginWith("owner@example.com", pw3)
	confirm := e.requestEmailChange(owner, "owner-new@example.com")
	e.must(200, "GET", "/v1/auth/email/change/confirm?token="+confirm, "", nil)
	revert := e.linkTo("owner@example.com", "/revert-email-change")
	e.must(409, "POST", "/v1/auth/register", `{"full_name":"Squatter","email":"owner@example.com","password":"`+pw+`"}`, nil)
	e.must(200, "POST", "/v1/auth/email/change/revert", `{"token":"`+revert+`"}`, nil)
	if status, msg := e.reset(e.linkTo("owner@example.com", "/reset-password"), pw); status != 200 {
		t.Fatalf("reset after the revert: %d %s", status, msg)
	}
	owner = e.login("owner@example.com")

	// The activity log: every filter, a second page.
	for _, q := range []string{"", "category=security", "action=auth.login", "status=failed", "resource_type=api_key",
		"since=" + url.QueryEscape(e.clock.Now().Add(-time.Hour).Format(time.RFC3339)), "category=configuration&status=success&resource_type=team_member"} {
		page := e.must(200, "GET", "/v1/activity-logs?limit=2&"+q, "", bearerHeader(owner)).(map[string]any)
		if next, ok := page["next_cursor"].(string); ok {
			e.must(200, "GET", "/v1/activity-logs?limit=2&"+q+"&cursor="+url.QueryEscape(next), "", bearerHeader(owner))
		}
	}

	// The workers: mail delivered, and failing (retried later), claims given back, key usage
	// written, the log pruned, expiry reminders, expired rate-limit buckets purged.
	e.stack.Accounts.Wait()
	e.stack.Sender.Deliver(ctx)
	failures := e.stack.Sender.Failures()
	e.smtp.SetDown(true)
	e.forgot("owner@example.com")
	for deadline := time.Now().Add(mailWait); e.stack.Sender.Failures() == failures; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no failed delivery while the SMTP server is down")
		}
	}
	e.stack.Sender.Stop() // once it has recorded the failure
	e.smtp.SetDown(false)
	if err := e.store.ReleaseClaims(ctx, []string{store.NewID()}); err != nil {
		t.Fatal(err)
	}
	e.stack.KeyUsage.Flush(ctx)
	if _, err := e.stack.Pruner.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Accounts.RemindExpiringKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PurgeRateLimits(ctx, e.clock.Now()); err != nil { // every 512th hit does
		t.Fatal(err)
	}

	// The operator's commands (pinbridge admin), on the same database.
	a := e.stack.Accounts
	found, err := a.AdminUser(ctx, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AdminResetLink(ctx, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(context.Context, string) error{a.AdminVerify, a.AdminUnlock, a.AdminEndSessions} {
		if err := f(ctx, "carol@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.AdminOrganization(ctx, found.Account.Organizations[0].Organization.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AdminKey(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AdminRevokeKey(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	e.stack.Accounts.Wait()
}
