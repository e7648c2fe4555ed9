package server

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	gojson "github.com/goccy/go-json"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestHotAnswersEncodeAsEncodingJSON: for each answer writeJSON encodes, random values (strings
// with HTML characters, escapes, line separators and invalid UTF-8; set and unset optional and
// nullable fields; times with and without fractions) encode to the same bytes as with encoding/json's
// Encoder, which the generated code uses for every other answer.
func TestHotAnswersEncodeAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range []any{new(gen.GetHealth200JSONResponse)} {
		for i := range 300 {
			fill(rng, reflect.ValueOf(v).Elem(), 0)
			var want, got bytes.Buffer
			if err := json.NewEncoder(&want).Encode(v); err != nil {
				t.Fatal(err)
			}
			if err := gojson.NewEncoder(&got).Encode(v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want.Bytes(), got.Bytes()) {
				t.Fatalf("%T #%d encodes differently:\nencoding/json: %s\ngoccy/go-json: %s", v, i, want.Bytes(), got.Bytes())
			}
		}
	}
}

// TestAccountsAnswerEncodesAsGenerated: the API-key read's wire form of random stored accounts
// encodes to the bytes encoding/json makes of the generated type, filled as the contract shapes it
// (apiPinterestAccount), ids in any spelling included.
func TestAccountsAnswerEncodesAsGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		stored := make([]store.PinterestAccount, rng.IntN(4))
		for j := range stored {
			fill(rng, reflect.ValueOf(&stored[j]).Elem(), 0)
			stored[j].ID, stored[j].ProjectID = randomID(rng), randomID(rng)
			if rng.IntN(3) == 0 {
				stored[j].MissingScopes = ""
			}
			if rng.IntN(3) == 0 {
				at := stored[j].CreatedAt.In(time.FixedZone("", 3600))
				stored[j].CreatedAt, stored[j].TokenExpiresAt = at, &at
			}
		}
		want := gen.ListPinterestAccounts200JSONResponse{}
		got := accountsAnswer{}
		for _, a := range stored {
			want = append(want, apiPinterestAccount(a))
			got = append(got, wirePinterestAccount(a))
		}
		var wantBuf bytes.Buffer
		if err := json.NewEncoder(&wantBuf).Encode(want); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		if err := got.VisitListPinterestAccountsResponse(rec); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wantBuf.Bytes(), rec.Body.Bytes()) {
			t.Fatalf("#%d encodes differently:\ngenerated: %s\nwire:      %s", i, wantBuf.Bytes(), rec.Body.Bytes())
		}
	}
}

// TestMeAnswerEncodesAsGenerated: the wire form of me for random accounts (one to four
// organizations of one to three projects, roles known and unknown, times in other zones, ids in any
// spelling) encodes to the bytes encoding/json makes of apiMe's answer.
func TestMeAnswerEncodesAsGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	roles := []string{"owner", "admin", "editor", "viewer", "billing", "unknown"}
	at := func() time.Time {
		t := time.Unix(rng.Int64N(4e9), int64(rng.IntN(2)*rng.IntN(1e9)))
		if rng.IntN(2) == 0 {
			return t.In(time.FixedZone("", -7200))
		}
		return t.UTC()
	}
	project := func() store.Project {
		var p store.Project
		fill(rng, reflect.ValueOf(&p).Elem(), 0)
		p.ID, p.OrganizationID, p.CreatedAt = randomID(rng), randomID(rng), at()
		return p
	}
	for i := range 500 {
		var a store.Account
		fill(rng, reflect.ValueOf(&a.User).Elem(), 0)
		a.User.ID, a.User.CreatedAt = randomID(rng), at()
		a.Organizations = make([]store.OrganizationAccess, 1+rng.IntN(4))
		for j := range a.Organizations {
			o := &a.Organizations[j]
			fill(rng, reflect.ValueOf(&o.Organization).Elem(), 0)
			o.Organization.ID, o.Role = randomID(rng), roles[rng.IntN(len(roles))]
			o.Projects = make([]store.Project, 1+rng.IntN(3))
			for k := range o.Projects {
				o.Projects[k] = project()
			}
		}
		current := a.Organizations[rng.IntN(len(a.Organizations))]
		a.Organization, a.Role, a.Projects = current.Organization, current.Role, current.Projects
		active := current.Projects[rng.IntN(len(current.Projects))]

		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(gen.GetMe200JSONResponse(apiMe(a, active))); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		body, err := newMeBodies().answer(a, active)
		if err != nil {
			t.Fatal(err)
		}
		if err := body.VisitGetMeResponse(rec); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), rec.Body.Bytes()) {
			t.Fatalf("#%d encodes differently:\ngenerated: %s\nwire:      %s", i, want.Bytes(), rec.Body.Bytes())
		}
	}
}

// randomID is a random UUID, spelled in lower or upper case.
func randomID(rng *rand.Rand) string {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(rng.IntN(256))
	}
	if rng.IntN(4) == 0 {
		return strings.ToUpper(u.String())
	}
	return u.String()
}

// apiPinterestAccount is a stored account as the generated type carries it: the reference the
// wire form is held to.
func apiPinterestAccount(a store.PinterestAccount) gen.PinterestAccount {
	missing := []string{}
	if a.MissingScopes != "" {
		missing = strings.Split(a.MissingScopes, ",")
	}
	reconnect := a.ReconnectRequired
	return gen.PinterestAccount{
		ID: apiUUID(a.ID), WorkspaceID: apiUUID(a.ProjectID), PinterestUserID: a.PinterestUserID,
		DisplayName: nullableString(a.DisplayName), Username: nullableString(a.Username), Scopes: a.Scopes,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), RevokedAt: nullableTime(a.RevokedAt),
		TokenExpiresAt: nullableTime(a.TokenExpiresAt), HealthStatus: nullableString(a.HealthStatus),
		HealthMessage: nullableString(a.HealthMessage), HealthCheckedAt: nullableTime(a.HealthCheckedAt),
		ReconnectRequired: &reconnect, MissingScopes: &missing,
	}
}

var awkward = []string{"", "plain", "<script>&amp;</script>", "quote \" and \\ backslash", "line\u2028sep\u2029", "tab\tnew\nline\x01",
	"émoji 🙂 ñ", "\xff\xfe invalid", "Jane O'Brien & Co.", "a/b?c=d"}

// fill gives v random contents, descending at most a few levels.
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(awkward[rng.IntN(len(awkward))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(rng.IntN(1000)) / 7)
	case reflect.Pointer:
		if depth > 6 || rng.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(rng, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if depth > 6 || rng.IntN(4) == 0 {
			v.SetZero()
			return
		}
		n := rng.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(rng, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if depth > 6 || rng.IntN(4) == 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(3) + 1 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(rng, k, depth+1)
			fill(rng, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			at := time.Unix(rng.Int64N(4e9), 0).UTC()
			if rng.IntN(2) == 0 {
				at = at.Add(time.Duration(rng.IntN(1e9)))
			}
			v.Set(reflect.ValueOf(at))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i), depth+1)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(rng, v.Index(i), depth+1)
		}
	}
}

// TestHealthAnswersEncodeAsGenerated: the liveness answers encoded at start are the bytes
// encoding/json makes of the generated type, for any version and environment, hashing ok and busy.
func TestHealthAnswersEncodeAsGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		var version, env string
		fill(rng, reflect.ValueOf(&version).Elem(), 0)
		fill(rng, reflect.ValueOf(&env).Elem(), 0)
		ok, busy, err := healthBodies(version, gen.DeploymentEnvironment(env))
		if err != nil {
			t.Fatal(err)
		}
		for hashing, got := range map[string]*healthAnswer{"ok": ok, "busy": busy} {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(gen.GetHealth200JSONResponse{Status: "ok", Version: version,
				Environment: gen.DeploymentEnvironment(env), Checks: map[string]string{"server": "ok", "password_hashing": hashing}}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.body, want.Bytes()) {
				t.Fatalf("#%d hashing %s:\ngot  %s\nwant %s", i, hashing, got.body, want.Bytes())
			}
			if len(got.length) != 1 || got.length[0] != strconv.Itoa(want.Len()) {
				t.Fatalf("#%d hashing %s: Content-Length %v for %d bytes", i, hashing, got.length, want.Len())
			}
		}
	}
}
