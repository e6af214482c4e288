package api

import (
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/store"
)

const pemType = "application/x-pem-file"

// handleRequest issues a certificate for a simple JSON request, with a key
// the server generates, or opens a challenge when challenges are required.
func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request, _ httprouter.Params, u *store.User) {
	body, err := readBody(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	_, req, kt, err := decodeSimple(body)
	if err != nil {
		Error(w, r, err)
		return
	}
	if s.challengeRequired {
		s.openChallenge(w, r, u, req, kt, nil)
		return
	}
	c, err := s.Issue(r.Context(), u.Name, req, kt)
	if err != nil {
		Error(w, r, err)
		return
	}
	s.setLocations(w, r, c.Serial, true)
	writeText(w, http.StatusOK, c.Serial.String()+"\n")
}

// handleRequestWithCSR signs a client's CSR; the server never sees that key.
func (s *Server) handleRequestWithCSR(w http.ResponseWriter, r *http.Request, _ httprouter.Params, u *store.User) {
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
	if err := checkPEMTail(body); err != nil {
		Error(w, r, err)
		return
	}
	csr, req, err := ca.ParseCSR(body)
	if err != nil {
		Error(w, r, err)
		return
	}
	req.Days = days
	if err := req.Normalize(); err != nil {
		Error(w, r, err)
		return
	}
	if s.challengeRequired {
		s.openChallenge(w, r, u, req, "", csr)
		return
	}
	c, err := s.IssueCSR(r.Context(), u.Name, csr, req)
	if err != nil {
		Error(w, r, err)
		return
	}
	s.setLocations(w, r, c.Serial, false)
	writeText(w, http.StatusOK, c.Serial.String()+"\n")
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

// ownCertificate reads a certificate the user may see: its own, or any for
// an admin. Anything else is reported as not found, so that ids of other
// users' certificates cannot be probed.
func (s *Server) ownCertificate(idParam string, u *store.User, adminMay bool) (store.Certificate, error) {
	serial, err := ca.ParseSerial(idParam)
	if err != nil {
		return store.Certificate{}, err
	}
	c, err := s.store.Certificate(serial)
	if err != nil {
		return c, err
	}
	if c.Owner != u.Name && !(adminMay && u.Admin) {
		return store.Certificate{}, notFound(serial)
	}
	return c, nil
}

func notFound(serial *big.Int) error {
	return fmt.Errorf("certificate %s: %w", serial, store.ErrNotFound)
}

// Certificate reads certificate id as u may see it: its own, or any for
// an admin; store.ErrNotFound otherwise.
func (s *Server) Certificate(u *store.User, id string) (store.Certificate, error) {
	return s.ownCertificate(id, u, true)
}

// PrivateKeyPEM returns the PKCS#8 PEM key of certificate id, to its owner
// only (not to admins); store.ErrNotFound otherwise and for CSR
// certificates.
func (s *Server) PrivateKeyPEM(u *store.User, id string) ([]byte, error) {
	c, err := s.ownCertificate(id, u, false)
	if err != nil {
		return nil, err
	}
	if c.KeyPKCS8 == nil {
		return nil, fmt.Errorf("private key of certificate %s: %w (it was issued from a CSR; the server never had its key)", c.Serial, errNotFound)
	}
	return ca.KeyPEM(c.KeyPKCS8), nil
}

func (s *Server) handleCertificateObtain(w http.ResponseWriter, r *http.Request, p httprouter.Params, u *store.User) {
	c, err := s.ownCertificate(p.ByName("id"), u, true)
	if err != nil {
		Error(w, r, err)
		return
	}
	writePEM(w, ca.CertPEM(c.DER))
}

func (s *Server) handlePrivateKeyObtain(w http.ResponseWriter, r *http.Request, p httprouter.Params, u *store.User) {
	// Keys only for their requester: an admin may read certificates, which
	// are public anyway, but not someone else's private key.
	key, err := s.PrivateKeyPEM(u, p.ByName("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writePEM(w, key)
}

func (s *Server) handleRootObtain(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ *store.User) {
	root := s.ca.Active()
	if root == nil {
		Error(w, r, errors.New("no active root"))
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
