package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testserver"
)

// TestExample runs the example against a live server, twice (register, then log in).
func TestExample(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	cfg, err := config.Load(func(name string) (string, bool) {
		switch name {
		case "PINBRIDGE_ENV":
			return "test", true
		case "PINBRIDGE_JWT_SECRET":
			return strings.Repeat("s", 40), true
		case "PINBRIDGE_DATA_DIR":
			return t.TempDir(), true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	params := password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	stack := testserver.New(t, cfg, st, testserver.Options{PasswordParams: params})
	ts := httptest.NewServer(stack.Server.Handler())
	defer ts.Close()

	var out bytes.Buffer
	if err := run(context.Background(), ts.URL, "example@example.com", "a perfectly fine password", &out); err != nil {
		t.Fatalf("first run: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), ts.URL, "example@example.com", "a perfectly fine password", &out); err != nil {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"registered example@example.com", "logged in as example@example.com", "created API key pb_live_", "0 Pinterest accounts connected"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
