package mail

import "testing"

// TestEveryKindRenders: each kind a flow queues has a template.
func TestEveryKindRenders(t *testing.T) {
	for _, kind := range []string{KindPasswordReset, KindEmailVerify, KindEmailChange, KindEmailChangeTaken,
		KindPasswordChanged, KindEmailChanged, KindLoginLocked, KindInvitation, KindEmailRestored,
		KindKeyLeaked, KindKeyExpiring} {
		subject, text, html, err := Render(kind, Data{Name: "Jane", Link: "https://app.example.com/x?token=t", Organization: "Acme", KeyPrefix: "pb_live_AbC1"})
		if err != nil || subject == "" || text == "" || html == "" {
			t.Errorf("Render(%s) = %q, %d text bytes, %d html bytes, %v; want all three", kind, subject, len(text), len(html), err)
		}
	}
}
