package api

import (
	"math/big"
	"net/http"
	"strings"
)

// parseID reads a certificate id: the serial in decimal, positive, and no
// longer than the 20 octets RFC 5280 allows.
func parseID(s string) (*big.Int, error) {
	if s == "" || len(s) > 49 || strings.TrimLeft(s, "0123456789") != "" {
		return nil, badRequest("certificate id %.60q is not a decimal serial number", s)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() <= 0 || len(n.Bytes()) > 20 {
		return nil, badRequest("certificate id %.60q is not a valid serial number", s)
	}
	return n, nil
}

// prefixOf is the API prefix the request came in on, so that the locations
// we hand out use the same one.
func prefixOf(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/api/v1/") {
		return "/api/v1"
	}
	return "/api"
}

// setLocations sets the headers that tell a client where its certificate
// (and key, if the server made it) can be fetched.
func (s *Server) setLocations(w http.ResponseWriter, r *http.Request, serial *big.Int, withKey bool) {
	base := s.ca.PublicURL() + prefixOf(r)
	id := serial.String()
	w.Header().Set("X-Certificate-Location", base+"/certificate/"+id+"/obtain")
	if withKey {
		w.Header().Set("X-Privatekey-Location", base+"/privatekey/"+id+"/obtain")
	}
}
