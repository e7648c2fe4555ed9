package testsmtp

import (
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
)

func newQP(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

func newB64(r io.Reader) io.Reader {
	raw, err := io.ReadAll(r)
	if err != nil {
		return strings.NewReader("")
	}
	clean := strings.NewReplacer("\r", "", "\n", "").Replace(string(raw))
	return base64.NewDecoder(base64.StdEncoding, strings.NewReader(clean))
}
