package acme

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/httplog"
	"certmaker/internal/jsonkeys"
	"certmaker/storage"
)

// algorithms are the JWS algorithms accepted for account keys.
var algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.EdDSA}

// eabAlgorithms are the MACs accepted for External Account Binding.
var eabAlgorithms = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}

// maxJWS bounds a request body; a CSR with 100 names is a few KiB.
const maxJWS = 64 << 10

// keyMode says how a request must name its key (RFC 8555 6.2).
type keyMode int

const (
	byKID    keyMode = iota // an existing account: "kid" is its URL
	byJWK                   // newAccount: the key itself in "jwk"
	byEither                // revokeCert: the account, or the certificate's key
)

// request is a verified JWS request.
type request struct {
	url     string
	payload []byte
	// With kid: the account (whose user may act). With jwk: the key.
	account *storage.ACMEAccount
	jwk     *jose.JSONWebKey
	nonce   string // spent by Server.spend
}

// postAsGet reports an empty payload (RFC 8555 6.3).
func (q *request) postAsGet() bool { return len(q.payload) == 0 }

// decode reads a JSON payload as strictly as the API reads its bodies (a
// key named twice is refused: jsonkeys); unknown fields are ignored, as
// RFC 8555 asks of servers.
func (q *request) decode(v any) error {
	if q.postAsGet() {
		return malformed("this request needs a JSON payload, not POST-as-GET")
	}
	if err := json.Unmarshal(q.payload, v); err != nil {
		return malformed("payload is not the expected JSON object: %v", err)
	}
	if err := jsonkeys.Check(q.payload); err != nil {
		return malformed("payload: %v", err)
	}
	return nil
}

type postHandler func(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error

// post verifies the request's JWS and spends its nonce before h runs.
func (s *Server) post(mode keyMode, h postHandler) handlerFunc {
	return s.postRefusing(mode, nil, h)
}

// postRefusing is post with refuse run after the signature is verified
// and before the nonce is spent: for refusals that need no write and are
// final, whenever the request is sent again (see nonce.go). refuse must
// neither write nor answer anything that a later state of the store could
// change, and must hold only for requests anyone may send: then a copy
// replayed later is refused alike, and an unspent nonce opens nothing.
// On a cluster, each spent nonce is a write and a key in etcd, so
// strangers' requests refused this way cost the store nothing.
func (s *Server) postRefusing(mode keyMode, refuse postHandler, h postHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
		q, err := s.verify(w, r, mode)
		if err != nil {
			return err
		}
		if q.account != nil {
			// Signed by an account's key: its answer, badNonce included,
			// carries a nonce every node takes (nonces.forAccount).
			w.Header().Set("Replay-Nonce", s.nonces.forAccount())
		}
		if refuse != nil {
			if err := refuse(w, r, p, q); err != nil {
				return err
			}
		}
		if err := s.spend(r, q); err != nil {
			return err
		}
		return h(w, r, p, q)
	}
}

// flattened is a JWS in the flattened JSON serialization; RFC 8555 6.2
// allows no other, and no unprotected header.
type flattened struct {
	Protected  *string         `json:"protected"`
	Payload    *string         `json:"payload"`
	Signature  *string         `json:"signature"`
	Header     json.RawMessage `json:"header"`
	Signatures json.RawMessage `json:"signatures"`
}

// jws is a parsed flattened JWS: go-jose's form, its protected header, and
// the parts as sent (an External Account Binding's MAC is over them).
type jws struct {
	*jose.JSONWebSignature
	header    jose.Header
	protected string
	payload   string
	signature string
}

// parseJWS parses a flattened JWS. The body is decoded once; go-jose gets
// its parts in the compact form, which it parses without a second JSON
// pass over the body (the payload is most of it).
func parseJWS(body []byte, algs []jose.SignatureAlgorithm) (*jws, error) {
	var f flattened
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, malformed("body is not a JWS in flattened JSON serialization: %v", err)
	}
	switch {
	case f.Signatures != nil:
		return nil, malformed("JWS must use the flattened JSON serialization, with one signature")
	case f.Header != nil:
		return nil, malformed("JWS must not have an unprotected header")
	case f.Protected == nil || f.Payload == nil || f.Signature == nil:
		return nil, malformed("JWS needs protected, payload and signature")
	case strings.Contains(*f.Protected+*f.Payload+*f.Signature, "."):
		return nil, malformed("JWS parts must be base64url")
	}
	parsed, err := jose.ParseSignedCompact(*f.Protected+"."+*f.Payload+"."+*f.Signature, algs)
	var algErr *jose.ErrUnexpectedSignatureAlgorithm
	if errors.As(err, &algErr) {
		p := newProblem(probBadSignatureAlgorithm, http.StatusBadRequest, "JWS algorithm %q is not supported", algErr.Got)
		for _, a := range algs {
			p.Algorithms = append(p.Algorithms, string(a))
		}
		return nil, p
	}
	if err != nil {
		return nil, malformed("JWS does not parse: %v", err)
	}
	if len(parsed.Signatures) != 1 {
		return nil, malformed("JWS must have exactly one signature")
	}
	return &jws{JSONWebSignature: parsed, header: parsed.Signatures[0].Protected,
		protected: *f.Protected, payload: *f.Payload, signature: *f.Signature}, nil
}

func headerURL(h jose.Header) string {
	u, _ := h.ExtraHeaders["url"].(string)
	return u
}

// verify checks what RFC 8555 6 asks of a POST, but for the nonce: content
// type, JWS form and algorithm, url, key (jwk or kid as the resource
// wants), signature. Each refusal here is final for the request as sent
// and tells nothing that was not in it or in the directory (an unknown kid
// names an account id, random, that will never exist), so it needs no
// nonce spent; spend takes the nonce after.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, mode keyMode) (*request, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/jose+json" {
		return nil, newProblem(probMalformed, http.StatusUnsupportedMediaType, "Content-Type must be application/jose+json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJWS))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, newProblem(probMalformed, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", maxJWS)
	}
	if err != nil {
		return nil, malformed("reading body: %v", err)
	}
	sig, err := parseJWS(body, algorithms)
	if err != nil {
		return nil, err
	}
	h := sig.header
	want := s.url(r.URL.Path)
	q := &request{url: headerURL(h)}
	switch {
	case q.url == "":
		return nil, malformed("JWS protected header has no url")
	case q.url != want:
		return nil, unauthorized("JWS url %.200q is not this resource's URL %q", q.url, want)
	case h.Nonce == "":
		return nil, newProblem(probBadNonce, http.StatusBadRequest, "JWS protected header has no nonce")
	case h.JSONWebKey != nil && h.KeyID != "":
		return nil, malformed("JWS must have either jwk or kid, not both")
	case h.JSONWebKey == nil && h.KeyID == "":
		return nil, malformed("JWS must have jwk or kid")
	case mode == byKID && h.KeyID == "":
		return nil, malformed("this resource needs a JWS signed by an account (kid), not by a jwk")
	case mode == byJWK && h.JSONWebKey == nil:
		return nil, malformed("newAccount needs a JWS with the account's key in jwk, not a kid")
	}

	var key *jose.JSONWebKey
	if h.JSONWebKey != nil {
		if err := checkKey(h.JSONWebKey); err != nil {
			return nil, err
		}
		key, q.jwk = h.JSONWebKey, h.JSONWebKey
	} else {
		a, k, err := s.accountByKID(r, h.KeyID)
		if err != nil {
			return nil, err
		}
		key, q.account = k, a
	}
	payload, err := sig.Verify(key)
	if err != nil {
		return nil, malformed("JWS signature does not verify with the account's key")
	}
	q.payload, q.nonce = payload, h.Nonce
	return q, nil
}

// spend takes the request's nonce, then checks that the account's user
// may act: what an account may do changes (its user is disabled and
// enabled again), so that answer waits for the nonce.
func (s *Server) spend(r *http.Request, q *request) error {
	if err := s.nonces.use(q.nonce); err != nil {
		return err
	}
	if q.account != nil {
		// Only now, so that the status of an account is told only to
		// its key.
		if err := s.core.ACMEAccountActs(r.Context(), q.account); err != nil {
			return err
		}
		httplog.SetUser(r, q.account.Owner)
	}
	return nil
}

// accountByKID loads the account a kid names and its key.
func (s *Server) accountByKID(r *http.Request, kid string) (*storage.ACMEAccount, *jose.JSONWebKey, error) {
	id, ok := strings.CutPrefix(kid, s.url(pathAccount))
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, nil, newProblem(probAccountDoesNotExist, http.StatusBadRequest, "kid %.200q is not an account URL of this server", kid)
	}
	a, err := s.core.ACMEAccount(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(a.Key); err != nil {
		return nil, nil, internal(fmt.Errorf("account %s key: %w", id, err))
	}
	return &a, &k, nil
}

// checkKey accepts the account keys certmaker accepts in CSRs: RSA of at
// least 2048 bits, ECDSA P-256 or P-384, Ed25519.
func checkKey(k *jose.JSONWebKey) error {
	if !k.Valid() || !k.IsPublic() {
		return newProblem(probBadPublicKey, http.StatusBadRequest, "jwk is not a valid public key")
	}
	if _, err := ca.KeyTypeOf(k.Key); err != nil {
		return newProblem(probBadPublicKey, http.StatusBadRequest, "account key: %v", err)
	}
	return nil
}

// thumbprint is the RFC 7638 thumbprint of a JWK (ca.Thumbprint).
func thumbprint(k *jose.JSONWebKey) (string, error) {
	tp, err := ca.Thumbprint(k.Key)
	if err != nil {
		return "", newProblem(probBadPublicKey, http.StatusBadRequest, "key has no thumbprint: %v", err)
	}
	return tp, nil
}
