package api

import _ "embed"

// OpenAPI is the API's description in OpenAPI 3.1, served at /api/v1/openapi.yaml. The
// tests check every answer they get against it.
//
//go:embed openapi.yaml
var OpenAPI []byte
