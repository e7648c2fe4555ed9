// Package gen holds code generated from openapi.yaml: the strict Echo server interface, the models
// and the embedded spec. Never edit it by hand; change openapi.yaml and run `make generate`.
package gen

//go:generate go tool oapi-codegen -config config.yaml ../openapi.yaml
//go:generate go tool oapi-codegen -config client/config.yaml ../openapi.yaml
