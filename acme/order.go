package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

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
}

func (s *Server) orderJSON(o *storage.ACMEOrder) order {
	status := s.orderStatus(o)
	if status == statusReady && s.finalizing.holds(o.ID) {
		status = statusProcessing // claim.go
	}
	out := order{
		Status:   status,
		Expires:  timestamp(o.Expires),
		Finalize: s.orderURL(o.ID) + "/finalize",
		Error:    problemOf(o.Error),
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

// orderStatus is the stored status, except that an order not yet valid
// turns invalid when it expires (RFC 8555 7.1.6).
func (s *Server) orderStatus(o *storage.ACMEOrder) string {
	switch o.Status {
	case statusPending, statusReady:
		if s.ca.Now().After(o.Expires) {
			return statusInvalid
		}
	}
	return o.Status
}

// normalizeIdentifier checks one identifier and returns its canonical form.
func normalizeIdentifier(id identifier) (identifier, error) {
	switch id.Type {
	case "dns":
		n, err := ca.NormalizeDNSName(id.Value)
		if err != nil {
			return id, newProblem(probRejectedIdentifier, http.StatusBadRequest, "%v", err)
		}
		if ca.IsWildcard(n) {
			return id, newProblem(probRejectedIdentifier, http.StatusBadRequest,
				"%q: wildcard names need the dns-01 challenge, and certmaker offers only http-01", id.Value)
		}
		return identifier{"dns", n}, nil
	case "ip":
		a, err := ca.NormalizeIP(id.Value)
		if err != nil {
			return id, newProblem(probRejectedIdentifier, http.StatusBadRequest, "%v", err)
		}
		return identifier{"ip", a.String()}, nil
	}
	return id, newProblem(probUnsupportedIdentifier, http.StatusBadRequest, "identifier type %.40q: only dns and ip are supported", id.Type)
}

// caRequest is the certificate request an order's identifiers make.
func caRequest(ids []identifier) *ca.Request {
	req := &ca.Request{}
	for _, id := range ids {
		if id.Type == "ip" {
			a, _ := netip.ParseAddr(id.Value)
			req.IPs = append(req.IPs, a)
		} else {
			req.DNSNames = append(req.DNSNames, id.Value)
		}
	}
	return req
}

type newOrderRequest struct {
	Identifiers []identifier `json:"identifiers"`
	NotBefore   string       `json:"notBefore"`
	NotAfter    string       `json:"notAfter"`
}

// handleNewOrder makes an order and one http-01 authorization per
// identifier (RFC 8555 7.4).
func (s *Server) handleNewOrder(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, q *request) error {
	var req newOrderRequest
	if err := q.decode(&req); err != nil {
		return err
	}
	if req.NotBefore != "" || req.NotAfter != "" {
		return malformed("notBefore and notAfter are not supported: certmaker sets the validity")
	}
	if len(req.Identifiers) == 0 {
		return malformed("an order needs at least one identifier")
	}
	if len(req.Identifiers) > ca.MaxNames {
		return newProblem(probRejectedIdentifier, http.StatusBadRequest, "%d identifiers, at most %d per order", len(req.Identifiers), ca.MaxNames)
	}
	var ids []identifier
	seen := make(map[identifier]bool, len(req.Identifiers))
	for _, id := range req.Identifiers {
		n, err := normalizeIdentifier(id)
		if err != nil {
			return err
		}
		if !seen[n] {
			seen[n] = true
			ids = append(ids, n)
		}
	}
	creq := caRequest(ids)
	if err := creq.Normalize(); err != nil {
		return newProblem(probRejectedIdentifier, http.StatusBadRequest, "%v", err)
	}
	if err := s.core.Permits(creq); err != nil {
		return newProblem(probRejectedIdentifier, http.StatusBadRequest, "%v", err)
	}

	now := s.ca.Now().UTC()
	orderID, err := newID()
	if err != nil {
		return internal(err)
	}
	o := storage.ACMEOrder{ID: orderID, Account: q.account.ID, Status: statusPending, Expires: now.Add(s.expiry), Created: now}
	var authzs []storage.ACMEAuthz
	ready := true
	for _, id := range ids {
		az, err := s.newAuthz(q.account.ID, orderID, id, o.Expires)
		if err != nil {
			return internal(err)
		}
		ready = ready && az.Status == statusValid
		authzs = append(authzs, az)
		o.Identifiers = append(o.Identifiers, storage.ACMEIdentifier(id))
		o.Authzs = append(o.Authzs, az.ID)
	}
	if ready {
		o.Status = statusReady
	}
	if err := s.store.CreateACMEOrder(o, authzs); err != nil {
		return internal(err)
	}
	w.Header().Set("Location", s.orderURL(o.ID))
	return writeJSON(w, http.StatusCreated, s.orderJSON(&o))
}

// ownOrder loads an order of q's account.
func (s *Server) ownOrder(id string, q *request) (storage.ACMEOrder, error) {
	o, err := s.store.ACMEOrder(id)
	if errors.Is(err, storage.ErrNotFound) {
		return o, notFound("order")
	}
	if err != nil {
		return o, internal(err)
	}
	if o.Account != q.account.ID {
		return o, unauthorized("the order belongs to another account")
	}
	return o, nil
}

// handleOrder answers POST-as-GET on an order.
func (s *Server) handleOrder(w http.ResponseWriter, _ *http.Request, p httprouter.Params, q *request) error {
	if !q.postAsGet() {
		return malformed("an order is read with POST-as-GET")
	}
	o, err := s.ownOrder(p.ByName("id"), q)
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
// client's CSR, which must name exactly the order's identifiers (RFC 8555
// 7.4). It answers once the certificate is durably stored.
func (s *Server) handleFinalize(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	o, err := s.ownOrder(p.ByName("id"), q)
	if err != nil {
		return err
	}
	var req finalizeRequest
	if err := q.decode(&req); err != nil {
		return err
	}
	if st := s.orderStatus(&o); st != statusReady {
		return newProblem(probOrderNotReady, http.StatusForbidden, "the order is %s, not ready", st)
	}
	csr, creq, err := s.checkCSR(req.CSR, &o, q.account)
	if err != nil {
		return err
	}
	// Claimed in memory, so that two finalize calls do not both sign; the
	// commit below takes the certificate only for an order still ready, so
	// that holds across processes too. Nothing durable says processing: a
	// crash before the commit leaves the order ready and no certificate,
	// and the client finalizes again.
	if !s.finalizing.claim(o.ID) {
		return newProblem(probOrderNotReady, http.StatusForbidden, "the order is %s, not ready", statusProcessing)
	}
	defer s.finalizing.release(o.ID)
	var refused error
	// The request has its answer's deadline; the commit must not be cut
	// off halfway by a client that hangs up.
	_, done, err := s.core.IssueACMEOrder(context.WithoutCancel(r.Context()), actor(q.account), csr, creq, o.ID,
		func(o *storage.ACMEOrder, c *storage.Certificate) error {
			refused = nil
			if st := s.orderStatus(o); st != statusReady {
				refused = newProblem(probOrderNotReady, http.StatusForbidden, "the order is %s, not ready", st)
				return refused
			}
			o.Status, o.Serial = statusValid, c.Serial
			return nil
		})
	switch {
	case refused != nil:
		return refused
	case core.KindOf(err) == core.Full:
		// Nothing stored, as after a crash: the order stays ready and the
		// client may finalize again once there is room.
		return asProblem(err)
	case err != nil:
		issueErr := err
		_, err = s.store.UpdateACMEOrder(o.ID, func(o *storage.ACMEOrder) error {
			if o.Status == statusReady {
				o.Status = statusInvalid
				o.Error = issueProblem(issueErr).record()
			}
			return nil
		})
		if err != nil {
			s.log.Error("ACME order not marked invalid", "order", o.ID, "err", err)
		}
		return issueProblem(issueErr)
	}
	w.Header().Set("Location", s.orderURL(done.ID))
	return writeJSON(w, http.StatusOK, s.orderJSON(&done))
}

// issueProblem explains why signing failed: a CSR certmaker refuses is
// badCSR, anything else as its kind says.
func issueProblem(err error) *problem {
	if core.KindOf(err) == core.Invalid {
		return newProblem(probBadCSR, http.StatusBadRequest, "%v", err)
	}
	return asProblem(err)
}

// checkCSR decodes the finalize CSR and checks it against the order: its
// signature and key, exactly the order's identifiers (in SANs or the
// common name), and a key other than the account's.
func (s *Server) checkCSR(b64 string, o *storage.ACMEOrder, a *storage.ACMEAccount) (*x509.CertificateRequest, *ca.Request, error) {
	der, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(der) == 0 {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "csr is not base64url-encoded DER")
	}
	if len(der) > ca.MaxCSRSize {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "csr larger than %d bytes", ca.MaxCSRSize)
	}
	csr, parsed, err := ca.ParseCSR(ca.CSRPEM(der))
	if err != nil {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "%v", err)
	}
	if len(parsed.Emails) > 0 {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "the CSR names email addresses, which ACME orders cannot")
	}
	// Count before any work per name: a request has room for thousands.
	// Duplicates count too; no client needs to repeat a name 100 times.
	if n := len(csr.DNSNames) + len(csr.IPAddresses); n > ca.MaxNames {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "the CSR names %d names, at most %d per certificate", n, ca.MaxNames)
	}
	want := make([]identifier, len(o.Identifiers))
	for i, id := range o.Identifiers {
		want[i] = identifier(id)
	}
	var got []identifier
	seen := make(map[identifier]bool)
	add := func(id identifier) error {
		n, err := normalizeIdentifier(id)
		if err != nil {
			return newProblem(probBadCSR, http.StatusBadRequest, "%s", asProblem(err).Detail)
		}
		if !seen[n] {
			seen[n] = true
			got = append(got, n)
		}
		return nil
	}
	for _, d := range csr.DNSNames {
		if err := add(identifier{"dns", d}); err != nil {
			return nil, nil, err
		}
	}
	for _, ip := range parsed.IPs {
		if err := add(identifier{"ip", ip.String()}); err != nil {
			return nil, nil, err
		}
	}
	if cn := csr.Subject.CommonName; cn != "" {
		typ := "dns"
		if _, err := netip.ParseAddr(cn); err == nil {
			typ = "ip"
		}
		if err := add(identifier{typ, cn}); err != nil {
			return nil, nil, err
		}
	}
	if !sameIdentifiers(got, want) {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest,
			"the CSR names %s, but the order is for %s", identifierList(got), identifierList(want))
	}
	if publicThumbprint(csr.PublicKey) == a.Thumbprint {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "the CSR's key is the account key; use another key for the certificate")
	}
	// Only names: an ACME order proves control of names, nothing of an
	// organization or a place the CSR might claim.
	req := caRequest(want)
	req.Subject.CommonName = parsed.Subject.CommonName
	req.Days = s.days
	if err := req.Normalize(); err != nil {
		return nil, nil, newProblem(probBadCSR, http.StatusBadRequest, "%v", err)
	}
	return csr, req, nil
}

// sameIdentifiers compares two lists without duplicates as sets.
func sameIdentifiers(a, b []identifier) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[identifier]bool, len(b))
	for _, id := range b {
		in[id] = true
	}
	for _, id := range a {
		if !in[id] {
			return false
		}
	}
	return true
}

// maxListed bounds the identifiers an error message spells out.
const maxListed = 10

func identifierList(ids []identifier) string {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, id := range ids {
		if i == maxListed {
			fmt.Fprintf(&buf, ", and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			buf.WriteString(", ")
		}
		buf.WriteString(id.Type + ":" + id.Value)
	}
	buf.WriteByte(']')
	return buf.String()
}

// handleCertificate serves an order's certificate as a PEM chain, leaf
// then the intermediate that signed it (RFC 8555 7.4.2); never the root,
// which clients must already trust.
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	if !q.postAsGet() {
		return malformed("a certificate is read with POST-as-GET")
	}
	serial, err := ca.ParseSerial(p.ByName("serial"))
	if err != nil {
		return notFound("certificate")
	}
	o, err := s.store.ACMEOrderBySerial(serial)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("certificate")
	}
	if err != nil {
		return internal(err)
	}
	if o.Account != q.account.ID {
		return unauthorized("the certificate was ordered by another account")
	}
	c, err := s.core.Certificate(r.Context(), actor(q.account), serial)
	if err != nil {
		return internal(err)
	}
	chain := s.core.ChainPEM(&c)
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.WriteHeader(http.StatusOK)
	w.Write(chain)
	return nil
}
