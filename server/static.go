package server

import (
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// staticFile is one embedded file as it is served: its body is read from the embedded tree on each
// request (it lives in the binary's read-only data; a copy held here would sit on the heap for the
// process's life: 1.9 MB for Swagger UI alone).
type staticFile struct {
	size        int64
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
		info, err := d.Info()
		if err != nil {
			return err
		}
		// The content type http.FileServer gives: by extension, else sniffed from the first bytes.
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			head, err := readHead(fsys, name, 512)
			if err != nil {
				return err
			}
			ct = http.DetectContentType(head)
		}
		files[name] = staticFile{size: info.Size(), contentType: ct}
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
		body, err := fsys.Open(name)
		if err != nil {
			return err
		}
		defer body.Close()
		w := c.Response()
		h := w.Header()
		h.Set("Cache-Control", cacheControl)
		h.Set("Content-Type", f.contentType)
		h.Set("Content-Length", strconv.FormatInt(f.size, 10))
		w.WriteHeader(http.StatusOK)
		// io.Copy would allocate a 32 KiB buffer for every request (neither side offers to copy
		// by itself); the buffers are pooled instead.
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		_, err = io.CopyBuffer(w, body, *buf)
		return err
	}, nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readHead is the first n bytes of the file name in fsys (all of it when shorter).
func readHead(fsys fs.FS, name string, n int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}
