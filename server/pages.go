package server

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed web
var webFS embed.FS

// pageCSP lets the account pages load their own script and style and call the API on the same
// origin, and nothing else: no third party ever sees a token in a URL.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

var pages = []string{"forgot-password", "reset-password", "verify-email", "confirm-email-change", "revert-email-change", "accept-invitation"}

// registerPages serves the account pages and their assets from the binary. A page never consumes
// a token when it is opened; the person acts first.
func registerPages(e *echo.Echo) {
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	for _, name := range pages {
		// Each page is the shared layout filled with its own title and form.
		t, err := template.ParseFS(web, "layout.html", "pages/"+name+".html")
		if err != nil {
			panic(err)
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "layout.html", name); err != nil {
			panic(err)
		}
		body := buf.Bytes()
		e.GET("/"+name, func(c echo.Context) error {
			c.Response().Header().Set("Content-Security-Policy", pageCSP)
			return c.HTMLBlob(http.StatusOK, body)
		})
	}
	assets, err := staticFiles(mustSub(web, "assets"), "/assets/", "public, max-age=300")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	e.GET("/assets/*", assets)
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
