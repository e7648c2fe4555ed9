package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/apikey"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Key lifecycle errors.
var (
	ErrKeyNotRotatable = errors.New("api key is revoked or already rotated")
	ErrReportReplayed  = errors.New("leak report already received")
)

// Rotation overlap: how long the old key keeps working by default, and at most.
const (
	DefaultRotationGrace = 24 * time.Hour
	MaxRotationGrace     = 7 * 24 * time.Hour
)

// RotateKey replaces a key of the caller's organization with a new one of the same name, scopes,
// Pinterest accounts, project and expiry, returned with its plaintext (once). The old key keeps
// working for grace (DefaultRotationGrace when nil; never past its own expiry), then is refused.
// Needs can_manage_api_keys. ErrKeyNotFound for a key of another organization;
// ErrKeyNotRotatable for one that is revoked or already rotated; a *FieldError for a grace
// outside 0 to MaxRotationGrace.
func (s *Service) RotateKey(ctx context.Context, c Caller, keyID string, grace *time.Duration) (store.APIKey, string, error) {
	if err := c.require(PermManageAPIKeys); err != nil {
		return store.APIKey{}, "", err
	}
	overlap := DefaultRotationGrace
	if grace != nil {
		overlap = *grace
	}
	if overlap < 0 || overlap > MaxRotationGrace {
		return store.APIKey{}, "", invalid("grace_period_seconds", "must be 0 to 604800 (7 days)")
	}
	old, err := s.store.APIKeyInOrganization(ctx, c.organization(), keyID)
	if err != nil {
		return store.APIKey{}, "", notFoundAs(err, ErrKeyNotFound)
	}
	now := s.now()
	if old.RevokedAt != nil || old.ReplacedBy != nil || !old.Usable(now) {
		return store.APIKey{}, "", ErrKeyNotRotatable
	}
	minted, err := apikey.New(strings.HasPrefix(old.Prefix, apikey.LivePrefix))
	if err != nil {
		return store.APIKey{}, "", fmt.Errorf("mint api key: %w", err)
	}
	oldEnds := now.Add(overlap)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(oldEnds) {
		oldEnds = *old.ExpiresAt
	}
	var accounts *[]string
	if ids := old.AccountIDs(); ids != nil {
		accounts = &ids
	}
	var created store.APIKey
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if err := holdCaller(ctx, tx, c, false); err != nil {
			return err
		}
		var err error
		created, err = tx.RotateAPIKey(ctx, c.organization(), old.ID, store.NewAPIKey{
			ProjectID: old.ProjectID, OrganizationID: old.OrganizationID, CreatedBy: c.user().ID, Name: old.Name,
			Prefix: minted.Display, SecretHash: minted.Hash, Scopes: old.ScopeList(), PinterestAccountIDs: accounts,
			ExpiresAt: old.ExpiresAt, Now: now,
		}, oldEnds)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, keyEvent(ActionAPIKeyRotated, c, created, map[string]any{
			"rotated_from": old.ID, "old_prefix": old.Prefix, "grace_seconds": int64(overlap / time.Second)}))
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return store.APIKey{}, "", ErrKeyNotRotatable
	case err != nil:
		return store.APIKey{}, "", notFoundAs(err, ErrKeyNotFound)
	}
	return created, minted.Plaintext, nil
}

// LeakReport is one reported token: where a scanner found it.
type LeakReport struct {
	Token, Type, URL, Source string
}

// LeakVerdict says whether a reported token is one of this service's keys.
type LeakVerdict struct {
	Token, Type string
	Ours        bool
}

// ReportLeakedKeys handles a verified leak report (digest identifies it): every reported key that
// is live is revoked, with where it was found as the reason, and its organization's key managers
// are told by email. Each token gets a verdict: Ours when it is a key of this service (live or
// not). ErrReportReplayed when the report was handled before; nothing changes then.
func (s *Service) ReportLeakedKeys(ctx context.Context, reports []LeakReport, digest string) ([]LeakVerdict, error) {
	now := s.now()
	var verdicts []LeakVerdict
	err := s.store.Tx(ctx, func(tx *store.Store) error {
		verdicts = make([]LeakVerdict, 0, len(reports)) // anew on each run: Tx may run fn again
		if err := tx.RecordScanningReport(ctx, digest, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrReportReplayed
			}
			return err
		}
		for _, r := range reports {
			v := LeakVerdict{Token: r.Token, Type: r.Type}
			if _, err := apikey.Check(r.Token); err == nil {
				access, err := tx.APIKeyAccess(ctx, apikey.Hash(r.Token))
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil:
					return err
				default:
					v.Ours = true
					if err := s.revokeLeaked(ctx, tx, access.Key, r, now); err != nil {
						return err
					}
				}
			}
			verdicts = append(verdicts, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mailer.Wake()
	return verdicts, nil
}

// revokeLeaked revokes a reported key when it is live and tells its managers, inside tx.
func (s *Service) revokeLeaked(ctx context.Context, tx *store.Store, k store.APIKey, r LeakReport, now time.Time) error {
	where := strings.TrimSpace(r.URL)
	if where == "" {
		where = "an undisclosed location"
	}
	reason := truncate("leaked: reported by secret scanning ("+r.Source+") at "+where, 512)
	revoked, err := tx.RevokeLeakedKey(ctx, k.ID, reason, now)
	if err != nil || !revoked {
		return err
	}
	sc, err := orgScope(ctx, tx, k.OrganizationID)
	if err != nil {
		return err
	}
	err = s.record(ctx, tx, event{action: ActionAPIKeyLeakRevoked, scope: sc, actor: scannerActor, resourceType: ResourceAPIKey,
		resourceID: k.ID, meta: map[string]any{"prefix": k.Prefix, "found_at": truncate(where, 300), "source": truncate(r.Source, 64)}})
	if err != nil {
		return err
	}
	s.log.Warn("security event: a leaked API key was revoked", "key_id", k.ID, "organization_id", k.OrganizationID, "found_at", where)
	return s.tellKeyManagers(ctx, tx, k, mail.KindKeyLeaked, truncate(where, 300))
}

// tellKeyManagers emails every member of the key's organization who may manage keys, inside tx.
func (s *Service) tellKeyManagers(ctx context.Context, tx *store.Store, k store.APIKey, kind, where string) error {
	members, err := tx.Members(ctx, k.OrganizationID)
	if err != nil {
		return err
	}
	expires := ""
	if k.ExpiresAt != nil {
		expires = k.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, m := range members {
		if !Role(m.Membership.Role).Has(PermManageAPIKeys) {
			continue
		}
		name := "" // a key's name is typed text: never to an address whose owner has not proven it
		if m.User.EmailVerifiedAt != nil {
			name = safeName(k.Name)
		}
		subject, text, html, err := mail.Render(kind, mail.Data{
			Name: greetingName(m.User, m.User.Email), KeyPrefix: k.Prefix, KeyName: name, Where: where, Expires: expires,
		})
		if err != nil {
			return err
		}
		if _, err := tx.Enqueue(ctx, store.NewMessage{Kind: kind, To: m.User.Email, Subject: subject, Text: text, HTML: html}, s.now()); err != nil {
			return err
		}
	}
	return nil
}

// expiryNotice is how long before a key expires its managers are told, once.
const expiryNotice = 7 * 24 * time.Hour

// RemindExpiringKeys tells the managers of every key that expires within 7 days, once per key
// (safe with several instances: one marks the key and sends), in batches of at most 100 keys. It
// returns how many keys it reminded about.
func (s *Service) RemindExpiringKeys(ctx context.Context) (int, error) {
	now := s.now()
	keys, err := s.store.KeysExpiringBy(ctx, now, now.Add(expiryNotice), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		var first bool // set by the run that commits (Tx may run fn again)
		err := s.store.Tx(ctx, func(tx *store.Store) error {
			var err error
			if first, err = tx.MarkExpiryReminded(ctx, k.ID, now); err != nil || !first {
				return err
			}
			return s.tellKeyManagers(ctx, tx, k, mail.KindKeyExpiring, "")
		})
		if err != nil {
			return n, err
		}
		if first {
			n++
		}
	}
	if n > 0 {
		s.mailer.Wake()
	}
	return n, nil
}

// truncate shortens s to at most n characters.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
