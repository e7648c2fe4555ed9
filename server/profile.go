package server

import (
	"context"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/emailaddr"
	"github.com/pinbridge/pinbridge-auth/store"
)

// GetProfile is the account's billing profile.
func (s *Server) GetProfile(ctx context.Context, _ gen.GetProfileRequestObject) (gen.GetProfileResponseObject, error) {
	return gen.GetProfile200JSONResponse(apiProfile(*principalFrom(ctx).account)), nil
}

// UpdateProfile applies a partial update: omitted fields stay, null clears a nullable one.
func (s *Server) UpdateProfile(ctx context.Context, req gen.UpdateProfileRequestObject) (gen.UpdateProfileResponseObject, error) {
	b := req.Body
	patch := store.ProfilePatch{
		WorkspaceName: b.WorkspaceName,
		Billing: store.BillingPatch{
			CompanyName: change(b.CompanyName), CompanyWebsite: change(b.CompanyWebsite),
			BillingEmail: canonicalEmail(change(b.BillingEmail)), BillingPhone: change(b.BillingPhone), TaxID: change(b.TaxID),
			AddressLine1: change(b.AddressLine1), AddressLine2: change(b.AddressLine2),
			AddressCity: change(b.AddressCity), AddressState: change(b.AddressState),
			AddressPostalCode: change(b.AddressPostalCode), AddressCountry: change(b.AddressCountry),
		},
	}
	if b.FullName.IsSpecified() {
		// full_name is not nullable in storage: null clears it to empty.
		patch.FullName = new("")
		if !b.FullName.IsNull() {
			patch.FullName = new(b.FullName.MustGet())
		}
	}
	account, err := s.accounts.UpdateProfile(ctx, callerOf(ctx), patch)
	if err != nil {
		return nil, err
	}
	return gen.UpdateProfile200JSONResponse(apiProfile(account)), nil
}

// change reads one nullable profile field, trimmed: unset when omitted, cleared when null.
func change[T ~string](v nullable.Nullable[T]) store.Change[string] {
	if !v.IsSpecified() {
		return store.Change[string]{}
	}
	if v.IsNull() {
		return store.SetTo[string](nil)
	}
	return store.SetTo(new(strings.TrimSpace(string(v.MustGet()))))
}

// canonicalEmail stores an address in its canonical form (the spec's format check has accepted it,
// so it has one).
func canonicalEmail(c store.Change[string]) store.Change[string] {
	if c.Value != nil {
		if canonical, err := emailaddr.Canonical(*c.Value); err == nil {
			c.Value = &canonical
		}
	}
	return c
}
