// Package api holds wearlink's OpenAPI document (openapi.yaml), embedded so
// that the server can serve it and tests can check it against the routes.
package api

import _ "embed"

// OpenAPI is openapi.yaml: every route wearlink serves, ROOK's and its own.
//
//go:embed openapi.yaml
var OpenAPI []byte
