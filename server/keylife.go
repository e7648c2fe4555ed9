package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
)

// RotateAPIKey replaces a key with a new one; the old keeps working for the grace period.
func (s *Server) RotateAPIKey(ctx context.Context, req gen.RotateAPIKeyRequestObject) (gen.RotateAPIKeyResponseObject, error) {
	c := callerOf(ctx)
	if err := s.limit(ctx, limitKeyRotateOrg, c.Account.Organization.ID); err != nil {
		return nil, err
	}
	var grace *time.Duration
	if req.Body != nil && req.Body.GracePeriodSeconds != nil {
		grace = new(time.Duration(*req.Body.GracePeriodSeconds) * time.Second)
	}
	key, plaintext, err := s.accounts.RotateKey(ctx, c, req.KeyID.String(), grace)
	if err != nil {
		return nil, err
	}
	return gen.RotateAPIKey201JSONResponse(apiKeyCreated(key, plaintext)), nil
}

var errBadSignature = newError(http.StatusUnauthorized, gen.ErrorCodeInvalidSignature, "The report is not signed by a configured secret scanning key")

// ReportLeakedKeys revokes the live keys of a signed leak report (GitHub secret scanning).
func (s *Server) ReportLeakedKeys(ctx context.Context, req gen.ReportLeakedKeysRequestObject) (gen.ReportLeakedKeysResponseObject, error) {
	if err := s.limit(ctx, limitLeakReportIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	body := rawBody(ctx)
	id, sig := req.Params.GithubPublicKeyIdentifier, req.Params.GithubPublicKeySignature
	if s.scanKeys == nil || id == nil || sig == nil || s.scanKeys.Verify(body, *id, *sig) != nil {
		return nil, errBadSignature
	}
	reports := make([]account.LeakReport, 0, len(*req.Body))
	for _, r := range *req.Body {
		reports = append(reports, account.LeakReport{Token: r.Token, Type: r.Type, URL: deref(r.URL), Source: deref(r.Source)})
	}
	digest := sha256.Sum256(body)
	verdicts, err := s.accounts.ReportLeakedKeys(ctx, reports, hex.EncodeToString(digest[:]))
	if err != nil {
		return nil, err
	}
	out := make(gen.ReportLeakedKeys200JSONResponse, 0, len(verdicts))
	for _, v := range verdicts {
		label := gen.FalsePositive
		if v.Ours {
			label = gen.TruePositive
		}
		out = append(out, struct {
			Label     gen.SecretScanningVerdictsLabel `json:"label"`
			TokenRaw  string                          `json:"token_raw"`
			TokenType string                          `json:"token_type"`
		}{Label: label, TokenRaw: v.Token, TokenType: v.Type})
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
