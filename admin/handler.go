package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
	"certmaker/inventory"
)

// NewServer serves op on the admin socket. It has no write timeout: a
// backup streams the whole file. Each request knows its peer's uid, which
// names the operator in the audit trail.
func NewServer(op Operator) *http.Server {
	return &http.Server{Handler: Handler(op), ReadHeaderTimeout: 10 * time.Second, ConnContext: connContext}
}

type peerKey struct{}

// connContext records the uid of the process at the other end of a
// socket connection, as the kernel reports it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if uid, ok, err := peerUID(c); err == nil && ok {
		return context.WithValue(ctx, peerKey{}, uid)
	}
	return ctx
}

// peerOf is the uid connContext recorded, if any.
func peerOf(ctx context.Context) (uint32, bool) {
	uid, ok := ctx.Value(peerKey{}).(uint32)
	return uid, ok
}

// Handler serves op over HTTP; the server mounts it on its unix socket.
func Handler(op Operator) http.Handler {
	h := &handler{op: op}
	r := httprouter.New()
	r.GET("/users", h.users)
	r.POST("/users", h.addUser)
	r.POST("/users/:name/disable", h.setDisabled(true))
	r.POST("/users/:name/enable", h.setDisabled(false))
	r.POST("/users/:name/token", h.resetToken)
	r.GET("/users/:name/policy", h.userPolicy)
	r.POST("/users/:name/policy", h.setPolicy)
	r.POST("/users/:name/acme-eab", h.acmeEAB)
	r.GET("/acme-eab", h.acmeEABs)
	r.POST("/acme-eab/:kid/revoke", h.revokeACMEEAB)
	r.GET("/acme-accounts", h.acmeAccounts)
	r.POST("/acme-accounts/:id/deactivate", h.deactivateACMEAccount)
	r.POST("/roots/rotate", h.rotateRoot)
	r.POST("/intermediates/rotate", h.rotateIntermediate)
	r.POST("/intermediates/revoke/:fp", h.revokeIntermediate)
	r.POST("/roots/export-key", h.exportRootKey)
	r.POST("/roots/offline", h.takeRootOffline)
	r.POST("/roots/crl", h.signRootCRL)
	r.POST("/certificates", h.issue)
	r.POST("/roots/renew-soon/:fp", h.renewSoon)
	r.POST("/certificates/:id/revoke", h.revoke)
	r.GET("/backup", h.backup)
	r.GET("/key-file", h.keyFile)
	r.POST("/rekey", h.rekey)
	r.GET("/certificates", h.certificates)
	r.GET("/certificates/:id", h.certificate)
	r.GET("/roots", h.roots)
	r.GET("/status", h.status)
	return r
}

type handler struct{ op Operator }

type addUserRequest struct {
	Name   string        `json:"name"`
	Admin  bool          `json:"admin"`
	Policy *PolicyChange `json:"policy,omitempty"`
}

type revokeRequest struct {
	Reason string `json:"reason"`
}

type tokenResponse struct {
	Token string `json:"token"`
}

type fingerprintResponse struct {
	Fingerprint string `json:"fingerprint"`
}

// rootKeyRequest carries an offline root's PKCS#8 key for one operation;
// the socket is owner-only, and the key is never logged or stored.
type rootKeyRequest struct {
	RootKey []byte `json:"root_key,omitempty"`
}

func (h *handler) users(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	users, err := h.op.Users(r.Context())
	reply(w, users, err)
}

func (h *handler) addUser(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req addUserRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPolicyBody)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	var pc PolicyChange
	if req.Policy != nil {
		pc = *req.Policy
	}
	token, err := h.op.AddUserWithPolicy(r.Context(), req.Name, req.Admin, pc)
	reply(w, tokenResponse{token}, err)
}

func (h *handler) setDisabled(disabled bool) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		err := h.op.SetDisabled(r.Context(), p.ByName("name"), disabled)
		reply(w, struct{}{}, err)
	}
}

func (h *handler) resetToken(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	token, err := h.op.ResetToken(r.Context(), p.ByName("name"))
	reply(w, tokenResponse{token}, err)
}

func (h *handler) rotateRoot(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	fp, err := h.op.RotateRoot(r.Context())
	reply(w, fingerprintResponse{fp}, err)
}

type rootKeyResponse struct {
	Fingerprint string `json:"fingerprint"`
	RootKey     []byte `json:"root_key"`
}

type nextUpdateResponse struct {
	NextUpdate time.Time `json:"next_update"`
}

func (h *handler) exportRootKey(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	fp, key, err := h.op.ExportRootKey(r.Context())
	reply(w, rootKeyResponse{Fingerprint: fp, RootKey: key}, err)
}

func (h *handler) takeRootOffline(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req fingerprintResponse
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	next, err := h.op.TakeRootOffline(r.Context(), req.Fingerprint)
	reply(w, nextUpdateResponse{next}, err)
}

func (h *handler) signRootCRL(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req rootKeyRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	next, err := h.op.SignRootCRL(r.Context(), req.RootKey)
	reply(w, nextUpdateResponse{next}, err)
}

type keyFileResponse struct {
	KeyFile string `json:"key_file"`
}

func (h *handler) keyFile(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	path, err := h.op.KeyFile(r.Context())
	reply(w, keyFileResponse{path}, err)
}

func (h *handler) rekey(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	path, err := h.op.Rekey(r.Context())
	reply(w, keyFileResponse{path}, err)
}

func (h *handler) rotateIntermediate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req rootKeyRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	fp, err := h.op.RotateIntermediate(r.Context(), req.RootKey)
	reply(w, fingerprintResponse{fp}, err)
}

// revokeIntermediateRequest is a revocation's reason and, with the root
// offline, its key.
type revokeIntermediateRequest struct {
	Reason  string `json:"reason"`
	RootKey []byte `json:"root_key,omitempty"`
}

func (h *handler) revokeIntermediate(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	var req revokeIntermediateRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	fp, err := h.op.RevokeIntermediate(r.Context(), p.ByName("fp"), req.Reason, req.RootKey)
	reply(w, fingerprintResponse{fp}, err)
}

type renewSoonRequest struct {
	Within time.Duration `json:"within"`
}

type renewSoonResponse struct {
	Fingerprint string    `json:"fingerprint"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
}

func (h *handler) renewSoon(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	var req renewSoonRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	fp, win, err := h.op.RenewSoon(r.Context(), p.ByName("fp"), req.Within)
	reply(w, renewSoonResponse{Fingerprint: fp, Start: win.Start, End: win.End}, err)
}

// statuses is the admin protocol's one table from the core's error kinds
// to statuses; every kind has its entry (kinds_test.go walks them), though
// an operator is never unauthenticated or refused by the owner rule. The
// answer carries the kind itself too, so that the client returns errors
// that errors.Is recognizes just like local ones.
var statuses = map[core.Kind]int{
	core.Internal:              http.StatusInternalServerError,
	core.Invalid:               http.StatusBadRequest,
	core.Unauthenticated:       http.StatusUnauthorized,
	core.Disabled:              http.StatusForbidden,
	core.Forbidden:             http.StatusForbidden,
	core.NotFound:              http.StatusNotFound,
	core.Exists:                http.StatusConflict,
	core.Revoked:               http.StatusGone,
	core.Expired:               http.StatusGone,
	core.Full:                  http.StatusServiceUnavailable,
	core.Unavailable:           http.StatusServiceUnavailable,
	core.Canceled:              499,
	core.BadReason:             http.StatusBadRequest,
	core.ChallengeFailed:       http.StatusExpectationFailed,
	core.ChallengeDNS:          http.StatusExpectationFailed,
	core.ChallengeConnection:   http.StatusExpectationFailed,
	core.ChallengeIncorrect:    http.StatusExpectationFailed,
	core.BadCSR:                http.StatusBadRequest,
	core.NotReady:              http.StatusConflict,
	core.RejectedIdentifier:    http.StatusBadRequest,
	core.UnsupportedIdentifier: http.StatusBadRequest,
	core.AccountInactive:       http.StatusForbidden,
	core.NoAccount:             http.StatusNotFound,
	core.BindingRequired:       http.StatusBadRequest,
	core.BadContact:            http.StatusBadRequest,
	core.UnsupportedContact:    http.StatusBadRequest,
	core.TooMany:               http.StatusTooManyRequests,
	core.AlreadyReplaced:       http.StatusConflict,
	core.PolicyDenied:          http.StatusForbidden,
}

type errorResponse struct {
	Error string    `json:"error"`
	Kind  core.Kind `json:"kind,omitempty"`
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		replyError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func replyError(w http.ResponseWriter, err error) {
	kind := core.KindOf(err)
	status, ok := statuses[kind]
	if !ok {
		kind, status = core.Internal, http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorResponse{Error: err.Error(), Kind: kind})
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	var req revokeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	reply(w, struct{}{}, h.op.Revoke(r.Context(), p.ByName("id"), req.Reason))
}

func (h *handler) backup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/octet-stream")
	// A failure after the first byte cannot change the status: abort the
	// connection, and the command's check of the copy refuses it.
	if _, err := h.op.Backup(r.Context(), w); err != nil {
		panic(http.ErrAbortHandler)
	}
}

func (h *handler) certificates(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q, err := inventory.QueryFromURL(r.URL.Query())
	if err != nil {
		replyError(w, err)
		return
	}
	page, err := h.op.Certificates(r.Context(), q)
	reply(w, page, err)
}

type certificateResponse struct {
	inventory.Certificate
	PEM string `json:"pem"`
}

func (h *handler) certificate(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	d, pemBytes, err := h.op.Certificate(r.Context(), p.ByName("id"))
	reply(w, certificateResponse{d, string(pemBytes)}, err)
}

type rootsResponse struct {
	PEM string `json:"pem"`
}

func (h *handler) roots(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	pemBytes, err := h.op.RootsPEM(r.Context(), r.URL.Query().Get("all") == "true")
	reply(w, rootsResponse{string(pemBytes)}, err)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	sum, err := h.op.Status(r.Context())
	reply(w, sum, err)
}
