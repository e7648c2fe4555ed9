package server

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/store"
)

// The hottest answers (GET /v1/auth/me, the API-key read of GET /v1/pinterest/accounts and the
// liveness probe) are encoded by goccy/go-json instead of encoding/json: the same bytes for these
// types (TestHotAnswersEncodeAsEncodingJSON holds them together) in well under half the time, which
// was an eighth of the CPU of `me`. They are written at once, from a pooled buffer, with their
// Content-Length (`me`'s remembered as long as nothing it shows changes: meBodies). Every other
// answer keeps the generated encoder.

type (
	accountsAnswer []pinterestAccountWire
	// healthAnswer is a liveness answer encoded once, when the server starts (healthBodies), with
	// its Content-Length: GetHealth returns it by pointer, which the response interface holds
	// without allocating.
	healthAnswer struct {
		body   []byte
		length []string
	}
)

// meWire is gen.MeResponse as apiMe fills it, built straight from the account
// (TestMeAnswerEncodesAsGenerated): ids as stored instead of parsed into UUIDs and written back
// through MarshalText, about seventeen of them per answer with three organizations.
type meWire struct {
	ActiveProject          workspaceWire    `json:"active_project"`
	AvailableOrganizations []orgSessionWire `json:"available_organizations"`
	Organization           organizationWire `json:"organization"`
	OrganizationRole       string           `json:"organization_role"`
	Permissions            gen.Permissions  `json:"permissions"`
	Projects               []workspaceWire  `json:"projects"`
	User                   userWire         `json:"user"`
	Workspace              workspaceWire    `json:"workspace"`
}

type orgSessionWire struct {
	ActiveProject    workspaceWire    `json:"active_project"`
	Organization     organizationWire `json:"organization"`
	OrganizationRole string           `json:"organization_role"`
	Permissions      gen.Permissions  `json:"permissions"`
	Projects         []workspaceWire  `json:"projects"`
}

type organizationWire struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type workspaceWire struct {
	CreatedAt   time.Time `json:"created_at"` // always set, so never omitted
	Environment string    `json:"environment"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Plan        string    `json:"plan"`
	Timezone    string    `json:"timezone"`
}

type userWire struct {
	CreatedAt     time.Time `json:"created_at"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	FullName      string    `json:"full_name"` // always set (apiUser), never null
	ID            string    `json:"id"`
	Timezone      string    `json:"timezone"`
}

// wireMe is apiMe's answer in wire form.
func wireMe(a store.Account, active store.Project) meWire {
	current, available := orgSessions(a, active, wireOrgSession)
	u := a.User
	return meWire{
		User: userWire{
			ID: wireID(u.ID), Email: u.Email, FullName: u.FullName, Timezone: u.Timezone,
			EmailVerified: u.EmailVerifiedAt != nil, CreatedAt: u.CreatedAt.UTC(),
		},
		Organization: current.Organization, ActiveProject: current.ActiveProject, Projects: current.Projects,
		Workspace: current.ActiveProject, OrganizationRole: current.OrganizationRole, Permissions: current.Permissions,
		AvailableOrganizations: available,
	}
}

func wireOrgSession(o store.OrganizationAccess, active store.Project) orgSessionWire {
	projects := make([]workspaceWire, 0, len(o.Projects))
	for _, p := range o.Projects {
		projects = append(projects, wireWorkspace(p))
	}
	return orgSessionWire{
		Organization:     organizationWire{ID: wireID(o.Organization.ID), Name: o.Organization.Name},
		OrganizationRole: o.Role,
		Permissions:      apiPermissions(account.Role(o.Role)),
		ActiveProject:    wireWorkspace(active),
		Projects:         projects,
	}
}

func wireWorkspace(p store.Project) workspaceWire {
	return workspaceWire{
		ID: wireID(p.ID), Name: p.Name, Environment: p.Environment, Timezone: p.Timezone, Plan: p.Plan,
		CreatedAt: p.CreatedAt.UTC(),
	}
}

// pinterestAccountWire is gen.PinterestAccount as apiPinterestAccount fills it, built straight from
// the stored account: every nullable field is set (null or a value) and every optional one present,
// so plain pointers and values encode the same bytes (TestAccountsAnswerEncodesAsGenerated). The
// generated type's Nullable fields are maps, each made per field and encoded through an
// encoding/json round trip of its own, and its UUIDs through MarshalText: together about a tenth
// of the CPU of an API-key read.
type pinterestAccountWire struct {
	CreatedAt         time.Time  `json:"created_at"`
	DisplayName       *string    `json:"display_name"`
	HealthCheckedAt   *time.Time `json:"health_checked_at"`
	HealthMessage     *string    `json:"health_message"`
	HealthStatus      *string    `json:"health_status"`
	ID                string     `json:"id"`
	MissingScopes     []string   `json:"missing_scopes"`
	PinterestUserID   string     `json:"pinterest_user_id"`
	ReconnectRequired bool       `json:"reconnect_required"`
	RevokedAt         *time.Time `json:"revoked_at"`
	Scopes            string     `json:"scopes"`
	TokenExpiresAt    *time.Time `json:"token_expires_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	Username          *string    `json:"username"`
	WorkspaceID       string     `json:"workspace_id"`
}

// wirePinterestAccount is apiPinterestAccount's answer in wire form.
func wirePinterestAccount(a store.PinterestAccount) pinterestAccountWire {
	missing := []string{}
	if a.MissingScopes != "" {
		missing = strings.Split(a.MissingScopes, ",")
	}
	return pinterestAccountWire{
		ID: wireID(a.ID), WorkspaceID: wireID(a.ProjectID), PinterestUserID: a.PinterestUserID,
		DisplayName: a.DisplayName, Username: a.Username, Scopes: a.Scopes,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), RevokedAt: utcPtr(a.RevokedAt),
		TokenExpiresAt: utcPtr(a.TokenExpiresAt), HealthStatus: a.HealthStatus,
		HealthMessage: a.HealthMessage, HealthCheckedAt: utcPtr(a.HealthCheckedAt),
		ReconnectRequired: a.ReconnectRequired, MissingScopes: missing,
	}
}

// wireID is id as the generated UUID type writes it: canonical and lower-case, the way ids are
// stored (one spelled otherwise is spelled again); a malformed id panics, as in apiUUID.
func wireID(id string) string {
	u := apiUUID(id)
	if len(id) == 36 && strings.ToLower(id) == id {
		return id
	}
	return u.String()
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a accountsAnswer) VisitListPinterestAccountsResponse(w http.ResponseWriter) error {
	return writeJSON(w, http.StatusOK, []pinterestAccountWire(a))
}

func (a *healthAnswer) VisitGetHealthResponse(w http.ResponseWriter) error {
	return writeEncoded(w, http.StatusOK, a.body, a.length)
}

// healthBodies encodes the two liveness answers this server gives, password hashing "ok" and
// "busy": everything else in them is fixed for the process's life.
func healthBodies(version string, env gen.DeploymentEnvironment) (ok, busy *healthAnswer, err error) {
	encode := func(hashing string) (*healthAnswer, error) {
		var buf bytes.Buffer
		err := gojson.NewEncoder(&buf).Encode(gen.GetHealth200JSONResponse{
			Status: "ok", Version: version, Environment: env,
			Checks: map[string]string{"server": "ok", "password_hashing": hashing},
		})
		return &healthAnswer{body: buf.Bytes(), length: []string{strconv.Itoa(buf.Len())}}, err
	}
	if ok, err = encode("ok"); err != nil {
		return nil, nil, err
	}
	busy, err = encode("busy")
	return ok, busy, err
}

// answerBuffers are the encoding buffers of writeJSON; one that grew past maxPooledAnswer is left
// to the garbage collector rather than kept.
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledAnswer = 64 << 10

// writeJSON writes v as a JSON answer with status: what encoding/json's Encoder writes (HTML
// characters escaped, a newline at the end).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	buf := answerBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledAnswer {
			answerBuffers.Put(buf)
		}
	}()
	if err := encodeJSON(buf, v); err != nil {
		return err
	}
	return writeBody(w, status, buf.Bytes())
}

// encodeJSON appends v's JSON to buf as encoding/json's Encoder writes it.
func encodeJSON(buf *bytes.Buffer, v any) error { return gojson.NewEncoder(buf).Encode(v) }

// writeBody writes the encoded JSON answer body with status and its Content-Length.
func writeBody(w http.ResponseWriter, status int, body []byte) error {
	return writeEncoded(w, status, body, []string{strconv.Itoa(len(body))})
}

// writeEncoded is writeBody with the Content-Length header's value given (made once for an answer
// that never changes; net/http only reads it).
func writeEncoded(w http.ResponseWriter, status int, body []byte, length []string) error {
	h := w.Header()
	h["Content-Type"] = valueJSON
	h["Content-Length"] = length
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}
