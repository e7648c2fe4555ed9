package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/pinbridge/pinbridge-auth/store"
)

// cursors issues and opens the activity log's page cursors. A cursor is the position of a page's
// last entry (its time and id) followed by an HMAC-SHA256 of that position and of what the cursor
// is bound to (the organization and the filters), base64url-encoded: opaque to clients, and
// refused when altered, forged, or presented by another organization or with other filters. The
// key derives from the JWT secret, so every instance opens the cursors of every other.
type cursors struct{ key []byte }

const (
	cursorVersion = 1
	cursorMACLen  = 16 // 128 bits of HMAC-SHA256
	cursorLen     = 1 + 8 + 16 + cursorMACLen
)

var errBadCursor = errors.New("invalid cursor")

// cursorKeyLabel separates the cursor key from every other use of the JWT secret.
const cursorKeyLabel = "pinbridge activity-log cursor v1"

// CursorKey derives the key of activity-log cursors from the JWT secret.
func CursorKey(jwtSecret string) []byte {
	m := hmac.New(sha256.New, []byte(jwtSecret))
	m.Write([]byte(cursorKeyLabel))
	return m.Sum(nil)
}

func newCursors(key []byte) cursors {
	if len(key) == 0 {
		// Without a configured key, cursors work within this process only.
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return cursors{key: key}
}

func (c cursors) mac(payload []byte, binding string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	m.Write([]byte{0})
	m.Write([]byte(binding))
	return m.Sum(nil)[:cursorMACLen]
}

// seal is the cursor of pos for binding.
func (c cursors) seal(pos store.ActivityPosition, binding string) string {
	id, err := uuid.Parse(pos.ID)
	if err != nil {
		// Every entry's id is a UUID (store.NewID); a cursor that cannot be opened is the safe answer.
		return ""
	}
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(pos.CreatedAt.UnixMicro()))
	b = append(b, id[:]...)
	b = append(b, c.mac(b, binding)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open returns the position of a cursor sealed for binding; errBadCursor for anything else.
func (c cursors) open(token, binding string) (store.ActivityPosition, error) {
	// Strict: a cursor has one spelling (no stray bits in its last character).
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return store.ActivityPosition{}, errBadCursor
	}
	payload, mac := b[:cursorLen-cursorMACLen], b[cursorLen-cursorMACLen:]
	if !hmac.Equal(mac, c.mac(payload, binding)) {
		return store.ActivityPosition{}, errBadCursor
	}
	micros := int64(binary.BigEndian.Uint64(payload[1:9]))
	id, err := uuid.FromBytes(payload[9:25])
	if err != nil {
		return store.ActivityPosition{}, errBadCursor
	}
	return store.ActivityPosition{CreatedAt: time.UnixMicro(micros).UTC(), ID: id.String()}, nil
}
