package server

import (
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// staticFile is one embedded file as it is served.
type staticFile struct {
	body        []byte
	contentType string
}

// staticFiles serves the regular files of fsys (but those named in skip) at prefix + their name,
// with cacheControl. The files are read once, here; an error is a file that cannot be read.
//
// Only a file's exact name is served. Every other path below prefix is a 404 in the contract's
// error shape: directories and index files (no listing, and no redirect as http.FileServer makes),
// dot segments, empty segments, names that are not UTF-8, and any path sent with escapes it does
// not need (a real file's name needs none), so an encoded slash or backslash never names a file.
func staticFiles(fsys fs.FS, prefix, cacheControl string, skip ...string) (echo.HandlerFunc, error) {
	files := map[string]staticFile{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || slices.Contains(skip, name) {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		// The content type http.FileServer gives: by extension, else sniffed.
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		files[name] = staticFile{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("server: read embedded files for %s: %w", prefix, err)
	}
	return func(c echo.Context) error {
		u := c.Request().URL
		name, under := strings.CutPrefix(u.Path, prefix)
		f, found := files[name]
		if !under || !found || u.RawPath != "" {
			return echo.ErrNotFound
		}
		c.Response().Header().Set("Cache-Control", cacheControl)
		return c.Blob(http.StatusOK, f.contentType, f.body)
	}, nil
}
