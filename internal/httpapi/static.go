package httpapi

import (
	"net/http"

	"github.com/wearlink/wearlink/api"
)

// logoSVG is a plain ring drawn for the data source lists: a neutral mark,
// no provider's logo.
const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" role="img" aria-label="data source">` +
	`<circle cx="32" cy="34" r="20" fill="none" stroke="#1a1a1a" stroke-width="6"/>` +
	`<rect x="22" y="6" width="20" height="5" rx="2" fill="#1a1a1a"/></svg>`

func serveLogo(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(logoSVG))
}

// serveOpenAPI serves api/openapi.yaml, the document of every route here.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(api.OpenAPI)
}
