package server

import (
	"net/http"
	"testing"

	"github.com/pinbridge/pinbridge-auth/store"
)

// TestScopeMatrix: which key scopes let which methods through.
func TestScopeMatrix(t *testing.T) {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	want := map[string]string{
		http.MethodGet: store.ScopeRead, http.MethodHead: store.ScopeRead,
		http.MethodPost: store.ScopeWrite, http.MethodPut: store.ScopeWrite, http.MethodPatch: store.ScopeWrite,
		http.MethodDelete: store.ScopeDestructive,
	}
	for _, scopes := range []string{"read", "write", "destructive", "read,write", "read,write,destructive", ""} {
		k := store.APIKey{Scopes: scopes}
		for _, m := range methods {
			allowed := k.HasScope(scopeFor(m))
			expect := false
			for _, s := range k.ScopeList() {
				if s == want[m] {
					expect = true
				}
			}
			if allowed != expect {
				t.Errorf("scopes %q, %s: allowed=%v, want %v", scopes, m, allowed, expect)
			}
		}
	}
}

func TestAccessTableFromSpec(t *testing.T) {
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	table := accessTable(spec)
	for op, want := range map[string]access{
		"register": accessPublic, "login": accessPublic, "getme": accessSession, "createapikey": accessSession,
		"listpinterestaccounts": accessSessionOrKey, "gethealth": accessPublic, "switchproject": accessSession,
		"verifyemail": accessPublic, "forgotpassword": accessPublic, "changepassword": accessSession,
	} {
		if got, ok := table[op]; !ok || got != want {
			t.Errorf("access[%s] = %v (present %v), want %v", op, got, ok, want)
		}
	}
}
