package store

import (
	"context"
	"fmt"
	"time"
)

// Billing columns of organizations that the profile edits.
var billingColumns = map[string]bool{
	"company_name": true, "company_website": true, "billing_email": true, "billing_phone": true, "tax_id": true,
	"address_line1": true, "address_line2": true, "address_city": true, "address_state": true,
	"address_postal_code": true, "address_country": true,
}

// ProfilePatch is a partial profile update: only the fields set change.
type ProfilePatch struct {
	// WorkspaceName renames the production project.
	WorkspaceName *string
	FullName      *string
	// Billing maps billing columns (company_name, tax_id, ...) to their new value; nil clears one.
	Billing map[string]*string
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
		if len(p.Billing) > 0 {
			updates := map[string]any{"updated_at": now}
			for col, v := range p.Billing {
				if !billingColumns[col] {
					return fmt.Errorf("update profile: unknown billing field %q", col)
				}
				updates[col] = v
			}
			if err := tx.db.Model(&Organization{}).Where("id = ?", orgID).Updates(updates).Error; err != nil {
				return wrap("update billing profile", err)
			}
		}
		return nil
	})
}
