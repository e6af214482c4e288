package api

import (
	"certmaker/ca"
	"certmaker/core"
)

// simpleFrom is the simple request that decodes to the normalized req:
// the core's stored form, in the API's spelling.
func simpleFrom(req *ca.Request, kt ca.KeyType) simpleRequest {
	c := core.SimpleFrom(req, kt)
	sub := c.Subject
	return simpleRequest{
		Domains: c.Domains, IPs: c.IPs, EmailAddresses: c.EmailAddresses, Days: c.Days, KeyType: c.KeyType,
		Subject: subjectFields{
			CommonName: sub.CommonName, Organization: sub.Organization, Country: sub.Country, Province: sub.Province,
			Locality: sub.Locality, StreetAddress: sub.StreetAddress, PostalCode: sub.PostalCode,
		},
	}
}
