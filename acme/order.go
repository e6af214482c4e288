package acme

import (
	"encoding/base64"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/storage"
)

// identifier is an RFC 8555 identifier; type "dns" or, per RFC 8738, "ip".
type identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// order is the JSON form of an order (RFC 8555 7.1.3).
type order struct {
	Status         string       `json:"status"`
	Expires        string       `json:"expires,omitempty"`
	Identifiers    []identifier `json:"identifiers"`
	Authorizations []string     `json:"authorizations"`
	Finalize       string       `json:"finalize"`
	Certificate    string       `json:"certificate,omitempty"`
	Error          *problem     `json:"error,omitempty"`
	Replaces       string       `json:"replaces,omitempty"`
}

func (s *Server) orderJSON(o *storage.ACMEOrder) order {
	out := order{
		Status:   o.Status,
		Expires:  timestamp(o.Expires),
		Finalize: s.orderURL(o.ID) + "/finalize",
		Error:    problemOf(o.Error),
		Replaces: o.Replaces,
	}
	for _, id := range o.Identifiers {
		out.Identifiers = append(out.Identifiers, identifier(id))
	}
	for _, az := range o.Authzs {
		out.Authorizations = append(out.Authorizations, s.authzURL(az))
	}
	if o.Serial != nil {
		out.Certificate = s.certURL(o.Serial)
	}
	return out
}

type newOrderRequest struct {
	Identifiers []identifier `json:"identifiers"`
	NotBefore   string       `json:"notBefore"`
	NotAfter    string       `json:"notAfter"`
	// Replaces is the certID (RFC 9773 5) of the certificate the order
	// renews.
	Replaces string `json:"replaces"`
}

// handleNewOrder makes an order and its authorizations (RFC 8555 7.4).
func (s *Server) handleNewOrder(w http.ResponseWriter, r *http.Request, _ httprouter.Params, q *request) error {
	var req newOrderRequest
	if err := q.decode(&req); err != nil {
		return err
	}
	oreq := core.ACMEOrderRequest{NotBefore: req.NotBefore, NotAfter: req.NotAfter}
	for _, id := range req.Identifiers {
		oreq.Identifiers = append(oreq.Identifiers, storage.ACMEIdentifier(id))
	}
	if req.Replaces != "" {
		id, err := core.ParseCertID(req.Replaces)
		if err != nil {
			return err
		}
		oreq.Replaces = &id
	}
	o, err := s.core.NewACMEOrder(r.Context(), q.account, oreq)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.orderURL(o.ID))
	return writeJSON(w, http.StatusCreated, s.orderJSON(&o))
}

// handleOrder answers POST-as-GET on an order.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	if !q.postAsGet() {
		return malformed("an order is read with POST-as-GET")
	}
	o, err := s.core.ACMEOrder(r.Context(), q.account, p.ByName("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.orderURL(o.ID))
	return writeJSON(w, http.StatusOK, s.orderJSON(&o))
}

type finalizeRequest struct {
	CSR string `json:"csr"`
}

// handleFinalize issues the certificate of a ready order from the
// client's CSR (RFC 8555 7.4); it answers once the certificate is durably
// stored.
func (s *Server) handleFinalize(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	var req finalizeRequest
	if err := q.decode(&req); err != nil {
		return err
	}
	der, err := base64.RawURLEncoding.DecodeString(req.CSR)
	if err != nil {
		return core.Errorf(core.BadCSR, "csr is not base64url-encoded DER")
	}
	o, err := s.core.FinalizeACMEOrder(r.Context(), q.account, p.ByName("id"), der)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.orderURL(o.ID))
	return writeJSON(w, http.StatusOK, s.orderJSON(&o))
}

// pemChain is the certificate's media type (RFC 8555 7.4.2, 9.1).
const pemChain = "application/pem-certificate-chain"

// handleCertificate serves an order's certificate as a PEM chain (RFC
// 8555 7.4.2), the one format certmaker offers: an Accept that excludes
// it is answered 406.
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	if !q.postAsGet() {
		return malformed("a certificate is read with POST-as-GET")
	}
	if !accepts(r.Header.Values("Accept"), pemChain) {
		return newProblem(probMalformed, http.StatusNotAcceptable, "the certificate is served as %s only", pemChain)
	}
	serial, err := ca.ParseSerial(p.ByName("serial"))
	if err != nil {
		return notFound("certificate")
	}
	chain, err := s.core.ACMECertificate(r.Context(), q.account, serial)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", pemChain)
	w.WriteHeader(http.StatusOK)
	w.Write(chain)
	return nil
}
