package server

import (
	"embed"
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

var pages = []string{"forgot-password", "reset-password", "verify-email", "confirm-email-change"}

// registerPages serves the account pages and their assets from the binary. A page never consumes
// a token when it is opened; the person acts first.
func registerPages(e *echo.Echo) {
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	for _, name := range pages {
		body, err := fs.ReadFile(web, name+".html")
		if err != nil {
			panic(err)
		}
		e.GET("/"+name, func(c echo.Context) error {
			c.Response().Header().Set("Content-Security-Policy", pageCSP)
			return c.HTMLBlob(http.StatusOK, body)
		})
	}
	assets := http.FileServer(http.FS(web))
	e.GET("/assets/*", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		assets.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}
