package account

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/store"
)

// TestRecordLaterNeverHangsARequest: with every background slot busy, a failed sign-in's entry
// waits no longer than its request, then goes to the service's log instead, whole.
func TestRecordLaterNeverHangsARequest(t *testing.T) {
	var logs bytes.Buffer
	s := New(Deps{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for range cap(s.jobs) {
		s.jobs <- struct{}{} // every slot taken
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.recordLater(ctx, event{action: ActionLogin, status: StatusFailed, origin: Origin{RequestID: "r-1", Source: "203.0.113.9"}}, "user-1")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("recordLater took %v with the slots busy, want it bounded by the request's 50ms", d)
	}
	for _, want := range []string{"activity entry not recorded", "action=auth.login", "status=failed", "user_id=user-1", "request_id=r-1", "source_address=203.0.113.9"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %q", logs.String(), want)
		}
	}
}

// TestCursors: a cursor opens to its position for its binding only; any altered byte, another
// binding or another key is refused.
func TestCursors(t *testing.T) {
	c := newCursors(CursorKey("a secret of at least thirty-two bytes"))
	pos := store.ActivityPosition{CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC), ID: store.NewID()}
	token := c.seal(pos, "org-1\x00security")
	got, err := c.open(token, "org-1\x00security")
	if err != nil || !got.CreatedAt.Equal(pos.CreatedAt) || got.ID != pos.ID {
		t.Fatalf("open(seal(pos)) = %+v, %v; want %+v", got, err, pos)
	}
	other := newCursors(CursorKey("another secret of at least thirty-two bytes"))
	for name, try := range map[string]func() error{
		"other binding": func() error { _, err := c.open(token, "org-2\x00security"); return err },
		"other key":     func() error { _, err := other.open(token, "org-1\x00security"); return err },
		"empty":         func() error { _, err := c.open("", "org-1\x00security"); return err },
		"truncated":     func() error { _, err := c.open(token[:len(token)-1], "org-1\x00security"); return err },
	} {
		if try() == nil {
			t.Errorf("%s: opened, want refused", name)
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range token {
		for _, r := range alphabet {
			if byte(r) == token[i] {
				continue
			}
			b := []byte(token)
			b[i] = byte(r)
			if _, err := c.open(string(b), "org-1\x00security"); err == nil {
				t.Fatalf("cursor with character %d changed to %c: opened, want refused", i, r)
			}
		}
	}
}

// TestMetadataIsBounded: metadata is a JSON object that fits its column, however much a flow puts
// in it.
func TestMetadataIsBounded(t *testing.T) {
	if got := encodeMetadata(nil); got != "{}" {
		t.Errorf("no metadata = %s, want {}", got)
	}
	if got := encodeMetadata(map[string]any{"name": "<b>&</b>"}); got != `{"name":"<b>&</b>"}` {
		t.Errorf("metadata = %s, want the text unescaped", got)
	}
	if got := encodeMetadata(map[string]any{"name": strings.Repeat("x", store.MaxActivityMetadata)}); got != `{"metadata_truncated":true}` {
		t.Errorf("over-long metadata = %.40s…, want the truncation note", got)
	}
}
