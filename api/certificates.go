package api

import (
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
)

const pemType = "application/x-pem-file"

// handleRequest issues a certificate for a simple JSON request, with a key
// the server generates, or opens a challenge when challenges are required.
func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a core.Actor) {
	body, err := readBody(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	sr, req, kt, err := decodeSimple(body)
	if err != nil {
		Error(w, r, err)
		return
	}
	proof, err := core.ParseProof(sr.Challenge)
	if err != nil {
		Error(w, r, err)
		return
	}
	s.answerRequested(w, r, a, core.CertificateRequest{Request: req, KeyType: kt, Proof: proof})
}

// dnsChallenge is the 202 answer to a request that asked for a DNS proof:
// the token and the solve URL, which an HTTP proof's answer gives as its
// body and X-Challenge-Location header (the header is set here too), and
// the TXT records to publish.
type dnsChallenge struct {
	Token    string           `json:"token"`
	Location string           `json:"challenge_location"`
	DNS      []core.DNSRecord `json:"dns"`
}

// answerRequested asks the core for a certificate: issued now (200 and
// its serial), or a challenge to solve first (202 and its token; for a
// DNS proof, JSON with the records to publish too).
func (s *Server) answerRequested(w http.ResponseWriter, r *http.Request, a core.Actor, cr core.CertificateRequest) {
	res, err := s.core.Request(r.Context(), a, cr)
	switch {
	case err != nil:
		Error(w, r, err)
	case res.Challenge != nil && cr.Proof == core.ProofDNS:
		loc := s.core.PublicURL() + prefixOf(r) + "/challenge/" + res.Challenge.ID + "/solve"
		w.Header().Set("X-Challenge-Location", loc)
		writeJSONStatus(w, http.StatusAccepted, dnsChallenge{Token: res.Challenge.Token, Location: loc, DNS: append([]core.DNSRecord{}, res.DNS...)})
	case res.Challenge != nil:
		w.Header().Set("X-Challenge-Location", s.core.PublicURL()+prefixOf(r)+"/challenge/"+res.Challenge.ID+"/solve")
		writeText(w, http.StatusAccepted, res.Challenge.Token)
	default:
		s.setLocations(w, r, res.Certificate.Serial, cr.CSR == nil)
		writeText(w, http.StatusOK, res.Certificate.Serial.String()+"\n")
	}
}

// handleRequestWithCSR signs a client's CSR; the server never sees that key.
func (s *Server) handleRequestWithCSR(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a core.Actor) {
	days, err := daysParam(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	csr, req, err := core.CSRRequest(body, days)
	if err != nil {
		Error(w, r, err)
		return
	}
	proof, err := core.ParseProof(r.URL.Query().Get("challenge"))
	if err != nil {
		Error(w, r, err)
		return
	}
	s.answerRequested(w, r, a, core.CertificateRequest{Request: req, CSR: csr, Proof: proof})
}

func daysParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("days")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("days %.20q is not a whole number", v)
	}
	return n, nil
}

func (s *Server) handleCertificateObtain(w http.ResponseWriter, r *http.Request, p httprouter.Params, a core.Actor) {
	serial, err := ca.ParseSerial(p.ByName("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	c, err := s.core.Certificate(r.Context(), a, serial)
	if err != nil {
		Error(w, r, err)
		return
	}
	// The leaf, then its intermediate: what a TLS server must send.
	writePEM(w, s.core.ChainPEM(&c))
}

func (s *Server) handlePrivateKeyObtain(w http.ResponseWriter, r *http.Request, p httprouter.Params, a core.Actor) {
	serial, err := ca.ParseSerial(p.ByName("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	key, err := s.core.PrivateKeyPEM(r.Context(), a, serial)
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writePEM(w, key)
}

func (s *Server) handleRootObtain(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ core.Actor) {
	root, err := s.core.ActiveRoot()
	if err != nil {
		Error(w, r, err)
		return
	}
	writePEM(w, ca.CertPEM(root.Cert.Raw))
}

func writePEM(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", pemType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
