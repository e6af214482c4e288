package api

import (
	"certmaker/ca"
	"certmaker/core"
)

// simpleFrom is the simple request that decodes to the normalized req:
// the core's stored form, in the API's type.
func simpleFrom(req *ca.Request, kt ca.KeyType) simpleRequest {
	c := core.SimpleFrom(req, kt)
	return simpleRequest{SimpleRequest: c, Subject: subjectFields{SimpleSubject: c.Subject}}
}
