package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/logline"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testserver"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// fastHash keeps API tests quick; the production parameters are covered in the password package
// and by TestPasswordStoredAsArgon2idPHC.
var fastHash = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testSecret = "test-secret-0123456789-0123456789-abcdef"

// clock is a settable time source shared by the server and the test. It stands still unless the
// test advances it, or follows the wall clock (plus what was advanced) after Follow.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	follow bool
	since  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.follow {
		return c.now.Add(time.Since(c.since))
	}
	return c.now
}

// Follow makes the clock move with real time from now on.
func (c *clock) Follow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.follow, c.since = true, time.Now()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one running API over one store.
type env struct {
	t      testing.TB
	url    string
	store  *store.Store
	sql    *testdb.SQL // the rows as stored, for what the API never shows (eachEngine sets it)
	cfg    config.Config
	clock  *clock
	client *client.ClientWithResponses
	http   *http.Client
	logs   *syncBuffer
	stack  *testserver.Stack // the workers main would run: deliver mail or flush key usage now
	smtp   *testsmtp.Server
	// secrets are the passwords, tokens, keys and JWTs the test sent or received (useSQL checks that
	// none reached the activity log).
	secrets *secretSet
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(func(name string) (string, bool) {
		switch name {
		case "PINBRIDGE_ENV":
			return "test", true
		case "PINBRIDGE_JWT_SECRET":
			return testSecret, true
		case "PINBRIDGE_DATA_DIR":
			return t.TempDir(), true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Mail.RetryMin, cfg.Mail.RetryMax, cfg.Mail.PollPeriod = time.Second, time.Minute, 50*time.Millisecond
	cfg.Limits.Scale = 1000 // the rate-limit tests set 1
	return cfg
}

// eachEngine runs fn against a fresh API on every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, dbURL := eng.Open(t)
			e := newEnv(t, st, testConfig(t), fastHash)
			e.useSQL(t, dbURL)
			fn(t, e)
		})
	}
}

func newEnv(t testing.TB, st *store.Store, cfg config.Config, params password.Params) *env {
	t.Helper()
	return newEnvWithSMTP(t, st, cfg, params, testsmtp.Start(t))
}

// newEnvWithSMTP is newEnv delivering to an SMTP server the test already runs.
func newEnvWithSMTP(t testing.TB, st *store.Store, cfg config.Config, params password.Params, smtpServer *testsmtp.Server) *env {
	t.Helper()
	if cfg.Mail.SMTPURL == "" {
		cfg.Mail.SMTPURL = config.Secret(smtpServer.URL)
	}
	// Links in emails must point at this server, so its address is known before the server is built.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Mail.PublicURL = "http://" + listener.Addr().String()
	clk := &clock{now: time.Now().UTC()}
	logs := &syncBuffer{}
	stack := testserver.New(t, cfg, st, testserver.Options{
		Logger:         slog.New(logline.New(logs, true, &slog.HandlerOptions{Level: slog.LevelDebug})), // as in production
		Now:            clk.Now,
		Version:        "test",
		PasswordParams: params,
	})
	ts := httptest.NewUnstartedServer(stack.Server.Handler())
	ts.Listener.Close()
	ts.Listener = listener
	ts.Start()
	t.Cleanup(ts.Close) // registered after the stack's, so it runs first: requests end before the workers stop
	vt := newValidatingTransport(t)
	hc := &http.Client{Transport: vt}
	c, err := client.NewClientWithResponses(ts.URL, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &env{t: t, url: ts.URL, store: st, cfg: cfg, clock: clk, client: c, http: hc, logs: logs, stack: stack, smtp: smtpServer, secrets: vt.secrets}
}

// validatingTransport fails the test on any response that openapi.yaml does not allow for its
// operation and status, and collects the secrets each exchange carries.
type validatingTransport struct {
	t       testing.TB
	router  routers.Router
	secrets *secretSet
}

func newValidatingTransport(t testing.TB) *validatingTransport {
	t.Helper()
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	spec.Servers = nil
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &validatingTransport{t: t, router: router, secrets: &secretSet{}}
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	v.secrets.fromRequest(req)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.secrets.fromJSON(body)
	if resp.Header.Get("X-Request-ID") == "" {
		v.t.Errorf("%s %s: response has no X-Request-ID", req.Method, req.URL.Path)
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return resp, nil // not an operation of the spec (404/405 paths): nothing to validate against
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		v.t.Errorf("%s %s -> %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, firstLine(err.Error()), body)
	}
	return resp, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// bearer authenticates a generated-client call.
func bearer(token string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// register creates an account through the API and returns the response.
func (e *env) register(email, pw string) *client.AuthResponse {
	e.t.Helper()
	resp, err := e.client.RegisterWithResponse(context.Background(), client.RegisterJSONRequestBody{
		FullName: "Jane Doe", Email: client.Email(email), Password: pw,
	})
	if err != nil {
		e.t.Fatalf("register: %v", err)
	}
	if resp.JSON201 == nil {
		e.t.Fatalf("register %s: status %d, body %s", email, resp.StatusCode(), resp.Body)
	}
	return resp.JSON201
}

// do sends a raw request (for what the generated client cannot express) and decodes the JSON.
func (e *env) do(method, path string, body string, headers map[string]string) (int, http.Header, map[string]any) {
	e.t.Helper()
	status, header, raw := e.send(method, path, body, headers)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: status %d, body is not a JSON object: %s", method, path, status, raw)
		}
	}
	return status, header, out
}

// send sends a raw request (a JSON body when body is not empty) and returns the answer as it came.
func (e *env) send(method, path string, body string, headers map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// errorOf returns detail.code and detail.message of an error body.
func errorOf(t testing.TB, body map[string]any) (string, string) {
	t.Helper()
	d, ok := body["detail"].(map[string]any)
	if !ok {
		t.Fatalf("body has no detail object: %v", body)
	}
	code, _ := d["code"].(string)
	msg, _ := d["message"].(string)
	return code, msg
}

// secretSet collects the secrets a test's requests and responses carry: passwords, one-time
// tokens, API keys and JWTs, as the fields and headers that hold them name them.
type secretSet struct {
	mu  sync.Mutex
	set map[string]bool
}

// secretFields are the JSON fields, anywhere in a body, whose values are secrets.
var secretFields = map[string]bool{
	"password": true, "current_password": true, "new_password": true, "token": true, "invite_token": true,
	"access_token": true, "api_key": true,
}

func (s *secretSet) add(v string) {
	// Shorter values are not secrets the API accepts (passwords have 8+ characters, tokens 20+),
	// and would match anything.
	if len(v) < 8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = map[string]bool{}
	}
	s.set[v] = true
}

func (s *secretSet) fromRequest(req *http.Request) {
	if auth := req.Header.Get("Authorization"); auth != "" {
		_, v, _ := strings.Cut(auth, " ")
		s.add(strings.TrimSpace(v))
	}
	s.add(req.Header.Get("X-API-Key"))
	s.add(req.URL.Query().Get("token"))
	if req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			raw, _ := io.ReadAll(body)
			s.fromJSON(raw)
		}
	}
}

func (s *secretSet) fromJSON(raw []byte) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, inner := range x {
				if str, ok := inner.(string); ok && secretFields[k] {
					s.add(str)
				}
				walk(inner)
			}
		case []any:
			for _, inner := range x {
				walk(inner)
			}
		}
	}
	walk(v)
}

func (s *secretSet) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.set))
	for v := range s.set {
		out = append(out, v)
	}
	return out
}

// useSQL opens the test's database apart from the store (e.sql) and, when the test ends, searches
// every stored activity-log entry for the secrets the test used, the hashes the database keeps
// (passwords, tokens, keys) and anything shaped like a JWT, an argon2 hash or an API key: the
// activity log never holds one, whatever flow wrote the entry.
func (e *env) useSQL(t testing.TB, dbURL string) {
	t.Helper()
	e.sql = testdb.OpenSQL(t, dbURL)
	t.Cleanup(func() { e.checkActivityHoldsNoSecret(t) })
}

var secretShaped = regexp.MustCompile(`\$argon2|eyJ[A-Za-z0-9_-]{8,}\.|pb_(live|test)_[A-Za-z0-9]{5,}`)

func (e *env) checkActivityHoldsNoSecret(t testing.TB) {
	t.Helper()
	e.stack.Accounts.Wait() // the entries written off the request path
	// Every column but those the catalogue fixes (action, category, status, types, message: code
	// constants, one of which, "wrong password", is also a password a test uses).
	entries := e.sql.Strings(t, `SELECT id || '|' || organization_id || '|' || COALESCE(actor_id, '') || '|' ||
		COALESCE(actor_label, '') || '|' || COALESCE(resource_id, '') || '|' || metadata || '|' || COALESCE(request_id, '') || '|' ||
		COALESCE(source_address, '') FROM activity_logs`)
	forbidden := append(e.secrets.all(), e.sql.Strings(t, `SELECT password_hash FROM users UNION ALL SELECT token_hash FROM one_time_tokens
		UNION ALL SELECT secret_hash FROM api_keys UNION ALL SELECT token_hash FROM invitations`)...)
	for _, entry := range entries {
		if m := secretShaped.FindString(entry); m != "" {
			t.Errorf("activity entry holds something shaped like a secret (%.12s…): %.60s…", m, entry)
		}
		for _, s := range forbidden {
			if strings.Contains(entry, s) {
				t.Errorf("activity entry holds a secret or hash the test used (%.8s…): %.60s…", s, entry)
			}
		}
	}
}
