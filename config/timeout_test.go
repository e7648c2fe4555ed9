package config

import (
	"strings"
	"testing"
	"time"
)

func TestRequestTimeoutShorterThanWriteTimeout(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.RequestTimeout != 5*time.Second {
		t.Errorf("default PINBRIDGE_REQUEST_TIMEOUT = %v, want 5s", c.HTTP.RequestTimeout)
	}
	cases := []struct {
		request, write string
		ok             bool
	}{
		{"2s", "30s", true},
		{"29s", "30s", true},
		{"29500ms", "30s", false},
		{"30s", "30s", false},
		{"1m", "30s", false},
		{"0s", "30s", false},
	}
	for _, c := range cases {
		_, err := Load(env(map[string]string{"PINBRIDGE_REQUEST_TIMEOUT": c.request, "PINBRIDGE_WRITE_TIMEOUT": c.write}))
		if ok := err == nil; ok != c.ok {
			t.Errorf("PINBRIDGE_REQUEST_TIMEOUT=%s with PINBRIDGE_WRITE_TIMEOUT=%s: error %v, want accepted %v", c.request, c.write, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "PINBRIDGE_REQUEST_TIMEOUT") {
			t.Errorf("error does not name PINBRIDGE_REQUEST_TIMEOUT: %v", err)
		}
	}
}
