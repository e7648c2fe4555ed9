package account

import "testing"

func TestSafeName(t *testing.T) {
	for name, want := range map[string]string{
		"Jane Doe":                 "Jane Doe",
		"Zoë O'Brien-Smith":        "Zoë O'Brien-Smith",
		"J. R. R. Tolkien":         "J. R. R. Tolkien",
		"山田 太郎":                    "山田 太郎",
		"Acme & Co":                "Acme & Co",
		"Refund desk paypal．com":   "",
		"ｗｗｗ．evil．com":             "",
		"evil。com support":         "",
		"evil․com":                 "",
		"Call +1 800 555 0100 now": "",
		"https://evil.example":     "",
		"Your account is locked, restore it at evil.example": "",
		"a\u202eb": "",
		"":         "",
	} {
		if got := safeName(name); got != want {
			t.Errorf("safeName(%q) = %q, want %q", name, got, want)
		}
	}
}
