package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/store"
)

// activity reads one page of the log with the given credential headers and query.
func (e *env) activity(headers map[string]string, query url.Values) (int, *client.ActivityLogList, map[string]any) {
	e.t.Helper()
	r, err := e.client.ListActivityLogsWithResponse(context.Background(), nil, func(_ context.Context, req *http.Request) error {
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		req.URL.RawQuery = query.Encode()
		return nil
	})
	if err != nil {
		e.t.Fatalf("list activity: %v", err)
	}
	var body map[string]any
	if r.JSON200 == nil {
		_, _, body = e.do("GET", "/v1/activity-logs?"+query.Encode(), "", headers)
	}
	return r.StatusCode(), r.JSON200, body
}

// walk reads every page of the log for query, limit entries a page, and returns the ids in order.
func (e *env) walk(headers map[string]string, query url.Values, limit int) []string {
	e.t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", fmt.Sprint(limit))
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			e.t.Fatal("more than 10,000 pages: the walk does not end")
		}
		status, page, body := e.activity(headers, q)
		if status != http.StatusOK {
			e.t.Fatalf("page %d: status %d %v", pages, status, body)
		}
		if len(page.Items) > limit {
			e.t.Fatalf("page %d holds %d entries, want at most %d", pages, len(page.Items), limit)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID.String())
		}
		next, err := page.NextCursor.Get()
		if err != nil {
			return ids
		}
		q.Set("cursor", next)
	}
}

// seedActivity stores n entries in org, with actions of the catalogue taken in turn, several per
// instant, before base; it returns them.
func seedActivity(t testing.TB, st *store.Store, org string, n int, base time.Time) []store.ActivityLog {
	t.Helper()
	actions := make([]string, 0, len(account.Catalogue))
	for a := range account.Catalogue {
		actions = append(actions, a)
	}
	slices.Sort(actions)
	rows := make([]store.ActivityLog, 0, n)
	for i := range n {
		action := actions[i%len(actions)]
		status := account.StatusSuccess
		// Every other round of the catalogue fails where an action can, whatever the catalogue's size.
		if (i/len(actions))%2 == 1 && account.Catalogue[action].Messages[account.StatusFailed] != "" {
			status = account.StatusFailed
		}
		resource := []string{account.ResourceUser, account.ResourceAPIKey, account.ResourceProject}[i%3]
		rid, actor := store.NewID(), store.NewID()
		at := base.Add(-time.Duration(n-i/3) * time.Millisecond) // three entries per instant
		rows = append(rows, store.ActivityLog{
			OrganizationID: org, CreatedAt: at, ActorType: account.ActorUser, ActorID: &actor, Action: action,
			Category: account.Catalogue[action].Category, Status: status, ResourceType: &resource, ResourceID: &rid,
			Message: "seeded", Metadata: `{"i":` + fmt.Sprint(i) + `}`, RetentionDays: 7, ExpiresAt: at.Add(7 * 24 * time.Hour),
		})
	}
	if err := st.RecordActivities(context.Background(), rows); err != nil {
		t.Fatalf("seed activity: %v", err)
	}
	return rows
}

// TestActivityLogPagesAreStable walks 1,000 entries page by page, with and without filters, while
// new entries keep arriving: every entry that was there is returned exactly once, newest first,
// and nothing is returned twice.
func TestActivityLogPagesAreStable(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("pages@example.com", "a perfectly fine password")
		org := a.Organization.ID.String()
		auth := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		seeded := seedActivity(t, e.store, org, 1000, e.clock.Now())

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var inserted int
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					inserted = i
					return
				default:
				}
				now := e.clock.Now().Add(time.Duration(i) * time.Microsecond)
				err := e.store.RecordActivity(context.Background(), store.ActivityLog{
					OrganizationID: org, CreatedAt: now, ActorType: account.ActorSystem, Action: account.ActionLogin,
					Category: account.CategorySecurity, Status: account.StatusSuccess, Message: "concurrent",
					Metadata: "{}", RetentionDays: 7, ExpiresAt: now.Add(time.Hour),
				})
				if err != nil {
					t.Errorf("concurrent insert: %v", err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
		defer func() { close(stop); wg.Wait(); t.Logf("%d entries inserted during the walks", inserted) }()

		for _, c := range []struct {
			name  string
			query url.Values
			limit int
			keep  func(store.ActivityLog) bool
		}{
			{"every entry", url.Values{}, 37, func(store.ActivityLog) bool { return true }},
			{"configuration", url.Values{"category": {"configuration"}}, 11, func(r store.ActivityLog) bool { return r.Category == account.CategoryConfiguration }},
			{"failed sign-ins", url.Values{"action": {account.ActionLogin}, "status": {"failed"}}, 5, func(r store.ActivityLog) bool {
				return r.Action == account.ActionLogin && r.Status == account.StatusFailed
			}},
			{"API keys", url.Values{"resource_type": {"api_key"}, "category": {"configuration"}}, 200, func(r store.ActivityLog) bool {
				return *r.ResourceType == account.ResourceAPIKey && r.Category == account.CategoryConfiguration
			}},
			{"since", url.Values{"since": {seeded[700].CreatedAt.Format(time.RFC3339Nano)}, "category": {"security"}}, 50, func(r store.ActivityLog) bool {
				return !r.CreatedAt.Before(seeded[700].CreatedAt) && r.Category == account.CategorySecurity
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				want := map[string]bool{}
				for _, r := range seeded {
					if c.keep(r) {
						want[r.ID] = true
					}
				}
				if len(want) == 0 {
					t.Fatal("the filter selects no seeded entry; the walk would prove nothing")
				}
				got := e.walk(auth, c.query, c.limit)
				seen := map[string]bool{}
				for _, id := range got {
					if seen[id] {
						t.Fatalf("entry %s returned twice", id)
					}
					seen[id] = true
				}
				for id := range want {
					if !seen[id] {
						t.Errorf("seeded entry %s never returned", id)
					}
				}
				// Entries written during the walk may appear on the first page only (they are newer
				// than every position after it); the seeded ones come in the log's order.
				var order []string
				for _, id := range got {
					if want[id] {
						order = append(order, id)
					}
				}
				var expected []string
				for i := len(seeded) - 1; i >= 0; i-- {
					if want[seeded[i].ID] {
						expected = append(expected, seeded[i].ID)
					}
				}
				if !sortedLike(seeded, order) {
					t.Error("seeded entries not newest first (then by id descending)")
				}
				if len(order) != len(expected) {
					t.Errorf("got %d seeded entries, want %d", len(order), len(expected))
				}
			})
		}
	})
}

// sortedLike says whether ids (entries of rows) come newest first, then by id descending.
func sortedLike(rows []store.ActivityLog, ids []string) bool {
	at := map[string]time.Time{}
	for _, r := range rows {
		at[r.ID] = r.CreatedAt
	}
	return slices.IsSortedFunc(ids, func(a, b string) int {
		if c := at[b].Compare(at[a]); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
}

// TestActivityLogIsolation: a session and an API key read their own organization's log only; a
// cursor of another organization, an altered one, or one replayed with other filters is 422 naming
// it; a key without the read scope is refused; every role may read (all have can_view_reports).
func TestActivityLogIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("alice@example.com", "a perfectly fine password")
		b := e.register("bob@example.com", "a perfectly fine password")
		now := e.clock.Now()
		ownA := seedActivity(t, e.store, a.Organization.ID.String(), 30, now)
		ownB := seedActivity(t, e.store, b.Organization.ID.String(), 30, now)
		asA := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		keyB := e.createKey(b.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "reader", Scopes: &[]client.APIKeyScope{client.Read}})
		asKeyB := map[string]string{"X-API-Key": keyB.APIKey}

		// An organization's entries as stored: the seeded ones and those of its flows (registration,
		// keys).
		ids := func(org string, seeded []store.ActivityLog) []string {
			out := e.sql.Strings(t, "SELECT id FROM activity_logs WHERE organization_id = ?", org)
			slices.Sort(out)
			for _, r := range seeded {
				if _, found := slices.BinarySearch(out, r.ID); !found {
					t.Fatalf("seeded entry %s not stored", r.ID)
				}
			}
			return out
		}
		inA, inB := ids(a.Organization.ID.String(), ownA), ids(b.Organization.ID.String(), ownB)
		for _, c := range []struct {
			name    string
			headers map[string]string
			want    []string
		}{
			{"session of A", asA, inA},
			{"API key of B", asKeyB, inB},
			{"API key of B as bearer", map[string]string{"Authorization": "Bearer " + keyB.APIKey}, inB},
		} {
			got := e.walk(c.headers, nil, 7)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s read %d entries, want exactly its organization's %d", c.name, len(got), len(c.want))
			}
		}

		_, first, _ := e.activity(asA, url.Values{"limit": {"5"}})
		cursor, err := first.NextCursor.Get()
		if err != nil {
			t.Fatal("the first page of 30 entries has no next_cursor")
		}
		tampered := []byte(cursor)
		tampered[len(tampered)/2] ^= 1
		for _, c := range []struct {
			name    string
			headers map[string]string
			query   url.Values
		}{
			{"A's cursor by B's key", asKeyB, url.Values{"cursor": {cursor}}},
			{"A's cursor with another filter", asA, url.Values{"cursor": {cursor}, "category": {"security"}}},
			{"A's cursor with another since", asA, url.Values{"cursor": {cursor}, "since": {"2020-01-01T00:00:00Z"}}},
			{"altered cursor", asA, url.Values{"cursor": {string(tampered)}}},
			{"forged cursor", asA, url.Values{"cursor": {"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}},
			{"not base64", asA, url.Values{"cursor": {"!!!"}}},
		} {
			status, _, body := e.activity(c.headers, c.query)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", c.name, status)
				continue
			}
			if code, msg := errorOf(t, body); code != "validation_error" || !strings.Contains(msg, "query.cursor") {
				t.Errorf("%s: %s %q, want validation_error naming query.cursor", c.name, code, msg)
			}
		}
		if status, page, _ := e.activity(asA, url.Values{"cursor": {cursor}, "limit": {"50"}}); status != http.StatusOK || len(page.Items) != len(inA)-5 {
			t.Errorf("A's cursor with another limit: %d, want 200 and the %d entries left", status, len(inA)-5)
		}

		writeOnly := e.createKey(b.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "writer", Scopes: &[]client.APIKeyScope{client.Write}})
		if status, _, body := e.activity(map[string]string{"X-API-Key": writeOnly.APIKey}, nil); status != http.StatusForbidden {
			t.Errorf("key without read scope: %d, want 403", status)
		} else if code, _ := errorOf(t, body); code != "insufficient_scope" {
			t.Errorf("key without read scope: %s, want insufficient_scope", code)
		}
		if status, _, _ := e.activity(nil, nil); status != http.StatusUnauthorized {
			t.Errorf("no credential: %d, want 401", status)
		}
		for _, role := range []string{"viewer", "editor", "admin"} {
			m := e.join(a.AccessToken, role+"@example.com", role)
			got := e.walk(map[string]string{"Authorization": "Bearer " + m.AccessToken}, url.Values{"resource_type": {"project"}}, 50)
			if len(got) != 10 {
				t.Errorf("%s of A read %d project entries, want A's 10", role, len(got))
			}
		}
	})
}

// TestActivityLogQueryValidation: unknown filter values, a limit out of range, a malformed since
// or an over-long cursor are 422 naming the parameter.
func TestActivityLogQueryValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("query@example.com", "a perfectly fine password")
		auth := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		for _, c := range []struct{ param, value string }{
			{"category", "secrets"}, {"action", "auth.logout"}, {"status", "ok"}, {"resource_type", "organization"},
			{"limit", "0"}, {"limit", "201"}, {"limit", "ten"}, {"since", "yesterday"}, {"cursor", strings.Repeat("A", 257)},
		} {
			status, _, body := e.activity(auth, url.Values{c.param: {c.value}})
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s=%s: status %d, want 422", c.param, c.value, status)
				continue
			}
			if code, msg := errorOf(t, body); code != "validation_error" || !strings.Contains(msg, c.param) {
				t.Errorf("%s=%s: %s %q, want validation_error naming %s", c.param, c.value, code, msg, c.param)
			}
		}
		status, page, _ := e.activity(auth, url.Values{"limit": {"200"}, "since": {"2026-01-01T00:00:00+02:00"}})
		if status != http.StatusOK || page.NextCursor.IsSpecified() && !page.NextCursor.IsNull() {
			t.Errorf("limit 200 with since: %d, want 200 and a null next_cursor", status)
		}
	})
}

// TestActivityLogRetention: the organization's plan sets the retention the list reports, and an
// entry past its expiry is never returned.
func TestActivityLogRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("retention@example.com", "a perfectly fine password")
		org := a.Organization.ID.String()
		auth := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		now := e.clock.Now()
		key := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "reader", Scopes: &[]client.APIKeyScope{client.Read}})
		rows := seedActivity(t, e.store, org, 3, now)
		live := e.sql.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE organization_id = ?", org) - 1 // with the registration's and the key's
		expired := rows[0]
		e.sql.Exec(t, "UPDATE activity_logs SET expires_at = created_at WHERE id = ?", expired.ID)
		for plan, days := range map[string]int{"free": 7, "starter": 30, "growth": 90, "pro": 180, "enterprise": 365} {
			e.sql.Exec(t, "UPDATE projects SET plan = ? WHERE organization_id = ?", plan, org)
			_, byKey, _ := e.activity(map[string]string{"X-API-Key": key.APIKey}, nil)
			_, page, _ := e.activity(auth, nil)
			for _, p := range []*client.ActivityLogList{page, byKey} {
				if p.CurrentRetentionDays != days || p.CurrentRetentionLabel != fmt.Sprintf("%d days", days) {
					t.Errorf("plan %s: retention %d %q, want %d days", plan, p.CurrentRetentionDays, p.CurrentRetentionLabel, days)
				}
			}
			for _, it := range page.Items {
				if it.ID.String() == expired.ID {
					t.Errorf("plan %s: the entry that expired at now was returned", plan)
				}
			}
			if int64(len(page.Items)) != live {
				t.Errorf("plan %s: %d entries, want the %d live ones", plan, len(page.Items), live)
			}
		}
	})
}

// TestActivityCatalogueMatchesSpec: the actions the flows record are exactly the ActivityAction
// enum of openapi.yaml, and each has a message for success.
func TestActivityCatalogueMatchesSpec(t *testing.T) {
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	var inSpec []string
	for _, v := range spec.Components.Schemas["ActivityAction"].Value.Enum {
		inSpec = append(inSpec, v.(string))
	}
	var inCode []string
	for a, info := range account.Catalogue {
		inCode = append(inCode, a)
		if info.Messages[account.StatusSuccess] == "" || (info.Category != account.CategorySecurity && info.Category != account.CategoryConfiguration) {
			t.Errorf("%s: %+v, want a success message and the security or configuration category", a, info)
		}
	}
	slices.Sort(inSpec)
	slices.Sort(inCode)
	if !slices.Equal(inSpec, inCode) {
		t.Errorf("openapi.yaml ActivityAction = %v\naccount.Catalogue = %v\nwant the same names", inSpec, inCode)
	}
}

// TestExpiredActivityIsPrunedAndNeverReturned: an entry is kept for the retention of the plan it
// was written under; past it, it is never returned, and the pruner deletes it.
func TestExpiredActivityIsPrunedAndNeverReturned(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("pruned@example.com", "a perfectly fine password") // free: 7 days
		org := a.Organization.ID.String()
		e.sql.Exec(t, "UPDATE projects SET plan = 'starter' WHERE organization_id = ?", org)
		e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "kept a month"}) // starter: 30 days
		actions := func() []string {
			token := e.login("pruned@example.com") // a session of the day (logins are starter entries too)
			var out []string
			for _, it := range e.logOf(token) {
				out = append(out, fmt.Sprintf("%s/%d", it.Action, it.RetentionDays))
			}
			return out
		}
		stored := func(action string) int64 {
			return e.sql.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE organization_id = ? AND action = ?", org, action)
		}
		if got := fmt.Sprint(actions()); got != "[auth.register/7 api_key.created/30 auth.login/30]" {
			t.Fatalf("log at first = %s", got)
		}

		e.clock.Advance(7*24*time.Hour + time.Second)
		if got := fmt.Sprint(actions()); got != "[api_key.created/30 auth.login/30 auth.login/30]" {
			t.Errorf("log after 7 days = %s, want the registration gone", got)
		}
		if stored(account.ActionRegister) != 1 {
			t.Fatal("the expired registration entry is already gone before pruning; the test proves nothing")
		}
		if n, err := e.stack.Pruner.Prune(context.Background()); err != nil || n != 1 {
			t.Errorf("Prune = %d, %v; want the one expired entry deleted", n, err)
		}
		if stored(account.ActionRegister) != 0 || stored(account.ActionAPIKeyCreated) != 1 {
			t.Error("after pruning: want the registration deleted and the key's entry kept")
		}

		e.clock.Advance(23*24*time.Hour + time.Second)
		if got := fmt.Sprint(actions()); got != "[auth.login/30 auth.login/30]" {
			t.Errorf("log after 30 days = %s, want the first month's entries gone", got)
		}
		if n, err := e.stack.Pruner.Prune(context.Background()); err != nil || n != 2 {
			t.Errorf("Prune = %d, %v; want the key's entry and the first login's deleted", n, err)
		}
	})
}
