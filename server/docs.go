package server

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/oasdiff/yaml"
)

//go:embed docs
var docsFS embed.FS

// docsCSP lets Swagger UI run from this server alone (it sets inline styles and data: images).
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// registerDocs serves Swagger UI at /docs and the spec at /openapi.json and /openapi.yaml, all
// embedded. The served spec lists no servers, so tools call the origin they loaded it from.
func registerDocs(e *echo.Echo, spec *openapi3.T) error {
	served := *spec
	served.Servers = nil
	specJSON, err := json.Marshal(&served)
	if err != nil {
		return fmt.Errorf("server: encode spec: %w", err)
	}
	specYAML, err := yaml.JSONToYAML(specJSON)
	if err != nil {
		return fmt.Errorf("server: encode spec as YAML: %w", err)
	}
	e.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", specJSON)
	})
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", specYAML)
	})

	docs, err := fs.Sub(docsFS, "docs")
	if err != nil {
		return err
	}
	index, err := fs.ReadFile(docs, "index.html")
	if err != nil {
		return err
	}
	e.GET("/docs", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", docsCSP)
		return c.HTMLBlob(http.StatusOK, index)
	})
	// Everything else under /docs/ is a file of the tree (index.html only at /docs) or a JSON 404.
	files, err := staticFiles(docs, "/docs/", "public, max-age=3600", "index.html")
	if err != nil {
		return err
	}
	e.GET("/docs/*", files)
	return nil
}
