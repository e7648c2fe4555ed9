package server

import (
	"context"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/store"
)

// GetProfile is the account's billing profile.
func (s *Server) GetProfile(ctx context.Context, _ gen.GetProfileRequestObject) (gen.GetProfileResponseObject, error) {
	return gen.GetProfile200JSONResponse(apiProfile(*principalFrom(ctx).account)), nil
}

// UpdateProfile applies a partial update: omitted fields stay, null clears a nullable one.
func (s *Server) UpdateProfile(ctx context.Context, req gen.UpdateProfileRequestObject) (gen.UpdateProfileResponseObject, error) {
	p := principalFrom(ctx)
	b := req.Body
	patch := store.ProfilePatch{Billing: map[string]*string{}}
	if b.WorkspaceName != nil {
		name := strings.TrimSpace(*b.WorkspaceName)
		patch.WorkspaceName = &name
	}
	if b.FullName.IsSpecified() {
		name := ""
		if !b.FullName.IsNull() {
			name = strings.TrimSpace(b.FullName.MustGet())
		}
		patch.FullName = &name
	}
	billing := map[string]nullable.Nullable[string]{
		"company_name": b.CompanyName, "company_website": b.CompanyWebsite, "billing_phone": b.BillingPhone,
		"tax_id": b.TaxID, "address_line1": b.AddressLine1, "address_line2": b.AddressLine2,
		"address_city": b.AddressCity, "address_state": b.AddressState, "address_postal_code": b.AddressPostalCode,
		"address_country": b.AddressCountry,
	}
	if b.BillingEmail.IsSpecified() {
		if b.BillingEmail.IsNull() {
			billing["billing_email"] = nullable.NewNullNullable[string]()
		} else {
			billing["billing_email"] = nullable.NewNullableWithValue(string(b.BillingEmail.MustGet()))
		}
	}
	for col, v := range billing {
		if !v.IsSpecified() {
			continue
		}
		if v.IsNull() {
			patch.Billing[col] = nil
			continue
		}
		val := strings.TrimSpace(v.MustGet())
		patch.Billing[col] = &val
	}
	if err := s.store.UpdateProfile(ctx, p.account.User.ID, p.organizationID, patch, s.now()); err != nil {
		return nil, err
	}
	account, err := s.store.Account(ctx, p.account.User.ID)
	if err != nil {
		return nil, err
	}
	return gen.UpdateProfile200JSONResponse(apiProfile(account)), nil
}
