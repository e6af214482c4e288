package api

import (
	"math/big"
	"net/http"
	"strings"
)

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
	base := s.core.PublicURL() + prefixOf(r)
	id := serial.String()
	w.Header().Set("X-Certificate-Location", base+"/certificate/"+id+"/obtain")
	if withKey {
		w.Header().Set("X-Privatekey-Location", base+"/privatekey/"+id+"/obtain")
	}
}
