// Package api is certmaker's HTTP API: httprouter handlers that decode a
// request, validate it, make one call into ca, store, challenge or ocsp, and
// render the answer. Every route answers under /api and under /api/v1.
package api
