package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// APIKey scopes.
const (
	ScopeRead        = "read"
	ScopeWrite       = "write"
	ScopeDestructive = "destructive"
)

// ScopeList returns the key's scopes.
func (k APIKey) ScopeList() []string {
	if k.Scopes == "" {
		return nil
	}
	return strings.Split(k.Scopes, ",")
}

// HasScope reports whether the key holds scope.
func (k APIKey) HasScope(scope string) bool {
	for _, s := range k.ScopeList() {
		if s == scope {
			return true
		}
	}
	return false
}

// AccountIDs returns the Pinterest accounts the key is limited to; nil means all of its project's.
func (k APIKey) AccountIDs() []string {
	if k.PinterestAccountIDs == nil {
		return nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(*k.PinterestAccountIDs), &ids); err != nil {
		// Written only by this package as a JSON array; an unreadable value limits to nothing.
		return []string{}
	}
	return ids
}

// Usable reports whether the key may authenticate at now: neither revoked nor expired.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

func encodeIDs(ids *[]string) *string {
	if ids == nil {
		return nil
	}
	list := *ids
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	s := string(b)
	return &s
}

// NewAPIKey is what key creation stores.
type NewAPIKey struct {
	ProjectID      string
	OrganizationID string
	CreatedBy      string
	Name           string
	Prefix         string
	SecretHash     string
	Scopes         []string
	// PinterestAccountIDs nil means every account of the project.
	PinterestAccountIDs *[]string
	ExpiresAt           *time.Time
	Now                 time.Time
}

// CreateAPIKey stores a key; ErrConflict if its hash already exists (a 2^-256 event).
func (s *Store) CreateAPIKey(ctx context.Context, in NewAPIKey) (APIKey, error) {
	now := in.Now.UTC()
	k := APIKey{
		ID:                  NewID(),
		ProjectID:           in.ProjectID,
		OrganizationID:      in.OrganizationID,
		CreatedBy:           &in.CreatedBy,
		Name:                in.Name,
		Prefix:              in.Prefix,
		SecretHash:          in.SecretHash,
		Scopes:              strings.Join(in.Scopes, ","),
		PinterestAccountIDs: encodeIDs(in.PinterestAccountIDs),
		Source:              "manual",
		ExpiresAt:           in.ExpiresAt,
		CreatedAt:           now,
		UpdatedAt:           now,
	}
	if err := s.db.WithContext(ctx).Create(&k).Error; err != nil {
		return APIKey{}, wrap("create api key", err)
	}
	return k, nil
}

// APIKeys lists a project's keys, newest first, revoked ones included.
func (s *Store) APIKeys(ctx context.Context, projectID string) ([]APIKey, error) {
	keys := []APIKey{}
	err := s.db.WithContext(ctx).Where("project_id = ?", projectID).Order("created_at DESC, id DESC").Find(&keys).Error
	return keys, wrap("list api keys", err)
}

// KeyAccess is what an API key opens: the key and the Pinterest accounts it may act on (its
// project's, or the subset it is limited to), oldest first.
type KeyAccess struct {
	Key      APIKey
	Accounts []PinterestAccount
}

// APIKeyAccess finds the key with this secret hash and the accounts it may act on, in one indexed
// query: authentication runs it on every API-key request. ErrNotFound when no key has this hash.
// The caller still checks that the key is usable (not revoked, not expired).
func (s *Store) APIKeyAccess(ctx context.Context, hash string) (KeyAccess, error) {
	ka, _, err := s.apiKeyAccess(ctx, keyAccessJoin(), hash)
	return ka, err
}

// APIKeyAccessSummary is APIKeyAccess with only what authenticating the key checks of it: its id,
// project, organization, secret hash, scopes, accounts, last use, expiry and revocation. Its name,
// prefix, creator, rotation links and other fields are zero; the accounts are whole.
//
// The accounts of the key's project are remembered (per process, for keyMemory keys, by the secret
// hash a request brings) with the project's accounts version read in the same statement, which the
// database bumps in the transaction of every change to them (migration 0050). While the project
// still holds that version, the summary is the key's row, read on every call (its revocation,
// expiry, scopes and account limits as of the call), with the accounts remembered: a read by the
// key's unique index and the project's primary key instead of the join. The accounts are shared
// between calls: read them, never change them.
func (s *Store) APIKeyAccessSummary(ctx context.Context, hash string) (KeyAccess, error) {
	if s.keys == nil {
		ka, _, err := s.apiKeyAccess(ctx, keyAccessSummaryJoin(), hash)
		return ka, err
	}
	if known, ok := s.keys.Get(hash); ok {
		row, found, err := firstRow[keyAccessRow](ctx, s, keySummaryRead(), hash)
		if err != nil {
			return KeyAccess{}, wrap("api key access", err)
		}
		if !found {
			s.keys.Remove(hash)
			return KeyAccess{}, fmt.Errorf("api key access: %w", ErrNotFound)
		}
		if row.Project.ID == known.projectID && row.Project.AccountsVersion == known.version {
			return KeyAccess{Key: row.Key, Accounts: limitAccounts(known.accounts, row.Key.AccountIDs())}, nil
		}
	}
	ka, all, err := s.apiKeyAccess(ctx, keyAccessSummaryJoin(), hash)
	if err != nil {
		return KeyAccess{}, err
	}
	s.keys.Add(hash, all)
	return ka, nil
}

// keyMemory is how many keys' project accounts APIKeyAccessSummary remembers; beyond, the least
// recently used are forgotten.
const keyMemory = 4096

// projectAccounts are a project's accounts, oldest first, as of its accounts version.
type projectAccounts struct {
	projectID string
	version   int64
	accounts  []PinterestAccount
}

// keySummaryColumns are the key's columns of a summary: what authenticating it checks.
var keySummaryColumns = []string{"id", "project_id", "organization_id", "secret_hash", "scopes",
	"pinterest_account_ids", "last_used_at", "expires_at", "revoked_at"}

// keyProjectColumns are the project's columns a key's summary reads: its accounts version.
var keyProjectColumns = []string{"id", "accounts_version"}

// keySummaryRead reads the key's columns of a summary by its secret hash, and its project's
// accounts version.
var keySummaryRead = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[keyAccessRow]("FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.secret_hash = ?",
		joined{field: "Key", alias: "k", once: true, only: keySummaryColumns},
		joined{field: "Project", alias: "p", once: true, only: keyProjectColumns})
})

// apiKeyAccess reads the key with hash and its project's accounts with plan: the key's access, and
// all of the project's accounts (oldest first) as of the project's accounts version when plan reads
// it.
func (s *Store) apiKeyAccess(ctx context.Context, plan *joinPlan, hash string) (KeyAccess, projectAccounts, error) {
	var ka KeyAccess
	var all projectAccounts
	err := scanJoin(ctx, s, plan, hash, func(rows []keyAccessRow) error {
		if len(rows) == 0 {
			return nil
		}
		ka = KeyAccess{Key: rows[0].Key} // a once model
		all = projectAccounts{projectID: rows[0].Key.ProjectID, version: rows[0].Project.AccountsVersion,
			accounts: make([]PinterestAccount, 0, len(rows))}
		for _, row := range rows {
			if row.Account.ID != "" {
				all.accounts = append(all.accounts, row.Account)
			}
		}
		return nil
	})
	if err != nil {
		return KeyAccess{}, projectAccounts{}, wrap("api key access", err)
	}
	if ka.Key.ID == "" {
		return KeyAccess{}, projectAccounts{}, fmt.Errorf("api key access: %w", ErrNotFound)
	}
	// Oldest first, put in order here rather than by PostgreSQL sorting the whole wide rows.
	slices.SortFunc(all.accounts, func(a, b PinterestAccount) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	all.accounts = slices.Clip(all.accounts) // an append to what is remembered copies it
	ka.Accounts = limitAccounts(all.accounts, ka.Key.AccountIDs())
	return ka, all, nil
}

// limitAccounts is the accounts whose ids are in only, in their order; all of them (the same slice)
// when only is nil, as for a key not limited to some accounts.
func limitAccounts(accounts []PinterestAccount, only []string) []PinterestAccount {
	if only == nil {
		return accounts
	}
	out := make([]PinterestAccount, 0, len(only))
	for _, a := range accounts {
		if slices.Contains(only, a.ID) {
			out = append(out, a)
		}
	}
	return out
}

// keyAccessRow is one row of keyAccessJoin: the key repeats for each account of its project; a
// project without accounts gives one row whose account is zero. Project, the key's project's
// accounts version, is read by the summary's reads only.
type keyAccessRow struct {
	Key     APIKey
	Account PinterestAccount
	Project Project
}

// keyAccessJoin joins a key with its project's accounts (apiKeyAccess puts them oldest first).
var keyAccessJoin = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[keyAccessRow](keyAccessJoinRest,
		joined{field: "Key", alias: "k", once: true}, joined{field: "Account", alias: "a", outer: true})
})

// keyAccessSummaryJoin is keyAccessJoin reading only the key's columns of APIKeyAccessSummary,
// and its project's accounts version.
var keyAccessSummaryJoin = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[keyAccessRow](strings.Replace(keyAccessJoinRest, "FROM api_keys k", "FROM api_keys k JOIN projects p ON p.id = k.project_id", 1),
		joined{field: "Key", alias: "k", once: true, only: keySummaryColumns},
		joined{field: "Project", alias: "p", once: true, only: keyProjectColumns},
		joined{field: "Account", alias: "a", outer: true})
})

const keyAccessJoinRest = "FROM api_keys k LEFT JOIN pinterest_accounts a ON a.project_id = k.project_id" +
	" WHERE k.secret_hash = ?"

// APIKeyInOrganization finds a key of the organization; ErrNotFound for a key that does not exist
// or belongs to another organization.
func (s *Store) APIKeyInOrganization(ctx context.Context, orgID, keyID string) (APIKey, error) {
	var k APIKey
	err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", keyID, orgID).Take(&k).Error
	return k, wrap("api key", err)
}

// APIKeyPatch changes the fields that are set.
type APIKeyPatch struct {
	Name   *string
	Scopes *[]string
	// PinterestAccountIDs limits the key to these accounts; a nil Value means every account.
	PinterestAccountIDs Change[[]string]
}

// UpdateAPIKey patches a key of the organization; ErrNotFound when it is not one of its keys.
func (s *Store) UpdateAPIKey(ctx context.Context, orgID, keyID string, p APIKeyPatch, now time.Time) (APIKey, error) {
	updates := map[string]any{"updated_at": now.UTC()}
	if p.Name != nil {
		updates["name"] = *p.Name
	}
	if p.Scopes != nil {
		updates["scopes"] = strings.Join(*p.Scopes, ",")
	}
	if p.PinterestAccountIDs.Set {
		updates["pinterest_account_ids"] = encodeIDs(p.PinterestAccountIDs.Value)
	}
	return s.updateKey(ctx, "update api key", orgID, keyID, updates)
}

// RevokeAPIKey marks a key of the organization revoked (keeping the first revocation time) and
// reports whether this call revoked it; ErrNotFound when it is not one of its keys.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, keyID string, now time.Time) (APIKey, bool, error) {
	var k APIKey
	var revoked bool
	err := s.Tx(ctx, func(tx *Store) error {
		res := tx.db.Model(&APIKey{}).Where("id = ? AND organization_id = ? AND revoked_at IS NULL", keyID, orgID).
			Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
		if res.Error != nil {
			return wrap("revoke api key", res.Error)
		}
		revoked = res.RowsAffected == 1
		return wrap("revoke api key", tx.db.Where("id = ? AND organization_id = ?", keyID, orgID).Take(&k).Error)
	})
	return k, revoked, err
}

// RevokeOrganizationKeys revokes every live key of the organization and returns how many it revoked.
func (s *Store) RevokeOrganizationKeys(ctx context.Context, orgID string, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&APIKey{}).Where("organization_id = ? AND revoked_at IS NULL", orgID).
		Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
	return res.RowsAffected, wrap("revoke organization keys", res.Error)
}

func (s *Store) updateKey(ctx context.Context, op, orgID, keyID string, updates map[string]any) (APIKey, error) {
	var k APIKey
	err := s.Tx(ctx, func(tx *Store) error {
		res := tx.db.Model(&APIKey{}).Where("id = ? AND organization_id = ?", keyID, orgID).Updates(updates)
		if res.Error != nil {
			return wrap(op, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", op, ErrNotFound)
		}
		return wrap(op, tx.db.Where("id = ?", keyID).Take(&k).Error)
	})
	return k, err
}

// TouchAPIKeys records that keys were used at at. It only moves last_used_at forward, so
// instances flushing out of order cannot move it back.
func (s *Store) TouchAPIKeys(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("id IN ? AND (last_used_at IS NULL OR last_used_at < ?)", ids, at.UTC()).
		UpdateColumn("last_used_at", at.UTC()).Error
	return wrap("touch api keys", err)
}
