// Package api is certmaker's HTTP API, a door of the service core:
// httprouter handlers that decode a request, make one call into core, and
// render the answer (errors by one table from the core's kinds to
// statuses, errors.go). Every route answers under /api and under /api/v1.
package api
