package store

import (
	"context"
	"time"
)

// Change is an optional update of one nullable column: when Set, the column becomes Value (nil
// clears it); when not, the column stays as it is.
type Change[T any] struct {
	Set   bool
	Value *T
}

// SetTo is a Change to v (nil clears the column).
func SetTo[T any](v *T) Change[T] { return Change[T]{Set: true, Value: v} }

func (c Change[T]) apply(updates map[string]any, column string) {
	if c.Set {
		updates[column] = c.Value
	}
}

// BillingPatch changes the organization's billing profile: each field that is Set.
type BillingPatch struct {
	CompanyName       Change[string]
	CompanyWebsite    Change[string]
	BillingEmail      Change[string]
	BillingPhone      Change[string]
	TaxID             Change[string]
	AddressLine1      Change[string]
	AddressLine2      Change[string]
	AddressCity       Change[string]
	AddressState      Change[string]
	AddressPostalCode Change[string]
	AddressCountry    Change[string]
}

// updates lists the organization columns the patch sets.
func (b BillingPatch) updates() map[string]any {
	u := map[string]any{}
	b.CompanyName.apply(u, "company_name")
	b.CompanyWebsite.apply(u, "company_website")
	b.BillingEmail.apply(u, "billing_email")
	b.BillingPhone.apply(u, "billing_phone")
	b.TaxID.apply(u, "tax_id")
	b.AddressLine1.apply(u, "address_line1")
	b.AddressLine2.apply(u, "address_line2")
	b.AddressCity.apply(u, "address_city")
	b.AddressState.apply(u, "address_state")
	b.AddressPostalCode.apply(u, "address_postal_code")
	b.AddressCountry.apply(u, "address_country")
	return u
}

// ProfilePatch is a partial profile update: only the fields set change.
type ProfilePatch struct {
	// WorkspaceName renames the production project.
	WorkspaceName *string
	FullName      *string
	Billing       BillingPatch
}

// UpdateProfile applies a profile patch in one transaction.
func (s *Store) UpdateProfile(ctx context.Context, userID, orgID string, p ProfilePatch, now time.Time) error {
	now = now.UTC()
	return s.Tx(ctx, func(tx *Store) error {
		if p.WorkspaceName != nil {
			if err := tx.db.Model(&Project{}).Where("organization_id = ? AND environment = ?", orgID, EnvironmentProduction).
				Updates(map[string]any{"name": *p.WorkspaceName, "updated_at": now}).Error; err != nil {
				return wrap("rename workspace", err)
			}
		}
		if p.FullName != nil {
			if err := tx.db.Model(&User{}).Where("id = ?", userID).
				Updates(map[string]any{"full_name": *p.FullName, "updated_at": now}).Error; err != nil {
				return wrap("update full name", err)
			}
		}
		if updates := p.Billing.updates(); len(updates) > 0 {
			updates["updated_at"] = now
			if err := tx.db.Model(&Organization{}).Where("id = ?", orgID).Updates(updates).Error; err != nil {
				return wrap("update billing profile", err)
			}
		}
		return nil
	})
}
