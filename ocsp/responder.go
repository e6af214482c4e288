package ocsp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Status of one certificate as the store knows it.
type Status struct {
	Issued            bool   // false: this CA never issued that serial (answer "unknown")
	IssuerFingerprint string // hex SHA-256 of the issuing root's DER (lowercase), when Issued
	Revoked           bool
	RevokedAt         time.Time
	Reason            int // RFC 5280 CRLReason code
}

// Source tells the status of a serial. It is called on every request (it is a
// cheap database read), which is how revocations show up at once.
type Source interface {
	Status(serial *big.Int) (Status, error)
}

// ErrTryLater, wrapped, is what a Source answers when it cannot tell a
// status now (its storage does not answer) and has logged that itself:
// the responder then serves the last answer it signed for the
// certificate, or tryLater, and reports no error (a line per request
// would flood the log).
var ErrTryLater = errors.New("ocsp: the status cannot be read now")

// Config is what a Responder is made of.
type Config struct {
	Source   Source
	Issuers  func() []Issuer  // current set of roots (may grow after a rotation); called per request, must be cheap; only read, so it may be shared
	Now      func() time.Time // nil: time.Now
	Validity time.Duration    // nextUpdate - thisUpdate; default 24h
	MaxCache int              // max cached responses; default 100000; when full, evict (simple, bounded)
	Logger   *slog.Logger     // where ServeHTTP reports internal errors; nil: not reported
	// Observe, if set, hears of every answer: its kind ("good", "revoked",
	// "unknown", "malformed", "unauthorized", "internal", "trylater") and
	// whether a cached signature served it. For metrics; it must be cheap.
	Observe func(kind string, cached bool)
	// MaxCacheBytes bounds the memory of cached responses, estimated;
	// default 64 MiB. Unknown answers have a cache of their own, of at
	// most 1024 responses and 1 MiB, so made-up serials evict nothing else.
	MaxCacheBytes int
	// MaxSigning is how many signatures are made at once; default half
	// of GOMAXPROCS, at least 1. Beyond it, requests wait briefly, then
	// get tryLater (see signers.go).
	MaxSigning int
}

// Defaults for Config's zero values.
const (
	DefaultValidity      = 24 * time.Hour
	DefaultMaxCache      = 100000
	DefaultMaxCacheBytes = 64 << 20
)

// Bounds of the cache of unknown answers (or the main cache's, if smaller):
// enough for a client that keeps asking about a certificate the store has
// no record of, small enough that a flood of made-up serials only churns it.
const (
	maxUnknownCache      = 1024
	maxUnknownCacheBytes = 1 << 20
)

// backdate is how far thisUpdate lies before the signing time: a client whose
// clock runs a little behind ours would otherwise see a response from the
// future and reject it (OpenSSL allows five minutes of skew, others less).
const backdate = time.Minute

// Responder answers OCSP requests; it is safe for concurrent use.
type Responder struct {
	source   Source
	issuers  func() []Issuer
	now      func() time.Time
	validity time.Duration
	logger   *slog.Logger
	observe  func(kind string, cached bool)
	keys     issuerKeys
	cache    *cache // good and revoked answers
	unknown  *cache // unknown answers
	signers  signers
}

// New checks cfg and makes a Responder.
func New(cfg Config) (*Responder, error) {
	if cfg.Source == nil {
		return nil, errors.New("ocsp: config has no source")
	}
	if cfg.Issuers == nil {
		return nil, errors.New("ocsp: config has no issuers")
	}
	if cfg.Validity < 0 {
		return nil, fmt.Errorf("ocsp: negative validity %v", cfg.Validity)
	}
	if cfg.MaxCache < 0 {
		return nil, fmt.Errorf("ocsp: negative cache size %d", cfg.MaxCache)
	}
	if cfg.MaxCacheBytes < 0 {
		return nil, fmt.Errorf("ocsp: negative cache bytes %d", cfg.MaxCacheBytes)
	}
	if cfg.MaxSigning < 0 {
		return nil, fmt.Errorf("ocsp: negative signing bound %d", cfg.MaxSigning)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Validity == 0 {
		cfg.Validity = DefaultValidity
	}
	if cfg.MaxCache == 0 {
		cfg.MaxCache = DefaultMaxCache
	}
	if cfg.MaxCacheBytes == 0 {
		cfg.MaxCacheBytes = DefaultMaxCacheBytes
	}
	if cfg.MaxSigning == 0 {
		cfg.MaxSigning = defaultSigners()
	}
	return &Responder{
		source:   cfg.Source,
		issuers:  cfg.Issuers,
		now:      cfg.Now,
		validity: cfg.Validity,
		logger:   cfg.Logger,
		observe:  cfg.Observe,
		cache:    newCache(cfg.MaxCache, cfg.MaxCacheBytes, cfg.Validity),
		unknown:  newCache(min(cfg.MaxCache, maxUnknownCache), min(cfg.MaxCacheBytes, maxUnknownCacheBytes), cfg.Validity),
		signers:  make(signers, cfg.MaxSigning),
	}, nil
}

// result is one answer with what the HTTP side needs to label it.
type result struct {
	der        []byte
	maxAge     time.Duration // until nextUpdate; 0 for error responses
	thisUpdate time.Time
	nextUpdate time.Time
	etag       string
	// cacheable: a signed status without a nonce, which HTTP caches may
	// keep until nextUpdate.
	cacheable bool
	// kind and cached are what Observe hears.
	kind   string
	cached bool
	// entry is the signed response this result comes from, whose HTTP
	// header values are made once; nil for error responses.
	entry *entry
}

// errorResult wraps an unsigned OCSP error response. Those live in
// x/crypto/ocsp package variables; Respond hands out copies only.
func errorResult(der []byte, kind string) result {
	return result{der: der, kind: kind}
}

// Respond answers one DER OCSP request: returns the DER response. For a
// malformed request, the DER of an OCSP malformedRequest response and nil
// error. If the issuer hashes match none of the Issuers: an "unauthorized"
// error response. maxAge is the time until nextUpdate, in whole seconds (0 for
// error responses). When every signer is busy: tryLater, with nil error,
// since a flood is not an internal failure worth a log line per request.
// When err is not nil, resp is still a response to send (internalError);
// err tells what went wrong, for the log. resp is the caller's to keep or
// change.
func (r *Responder) Respond(der []byte) (resp []byte, maxAge time.Duration, err error) {
	res, err := r.respond(der)
	// A copy, since cached responses are shared with later requests.
	return bytes.Clone(res.der), res.maxAge, err
}

func (r *Responder) respond(der []byte) (result, error) {
	res, err := r.answer(der)
	if r.observe != nil {
		r.observe(res.kind, res.cached)
	}
	return res, err
}

func (r *Responder) answer(der []byte) (result, error) {
	req, err := parseRequest(der)
	if err != nil {
		return errorResult(xocsp.MalformedRequestErrorResponse, "malformed"), nil
	}
	issuers := r.issuers()
	k := r.keys.match(issuers, req, "")
	if k == nil {
		return errorResult(xocsp.UnauthorizedErrorResponse, "unauthorized"), nil
	}
	st, err := r.source.Status(req.serial)
	if err != nil {
		// The status cannot be read now (a storage cluster without
		// quorum): the last answer signed for the certificate stays true
		// to what was known until its nextUpdate, as it does in every
		// client's and HTTP cache that holds it. Without the request's
		// nonce, if it had one: RFC 8954 lets a responder leave it out,
		// and clients (openssl) go on.
		now, key := r.now(), newCacheKey(k, req)
		e := r.cache.last(key, now)
		if e == nil {
			e = r.unknown.last(key, now)
		}
		if e != nil {
			res := e.result(now)
			res.kind, res.cached = e.answer.kind(), true
			return res, nil
		}
		if errors.Is(err, ErrTryLater) {
			return errorResult(xocsp.TryLaterErrorResponse, "trylater"), nil
		}
		return errorResult(xocsp.InternalErrorErrorResponse, "internal"), fmt.Errorf("reading status of serial %x: %w", req.serial, err)
	}
	if st.Issued && !strings.EqualFold(st.IssuerFingerprint, k.fingerprint) {
		// Roots may share name and key (one re-issued); the one that
		// issued the serial answers for it.
		if other := r.keys.match(issuers, req, st.IssuerFingerprint); other != nil {
			k = other
		}
	}
	if k.err != nil {
		return errorResult(xocsp.InternalErrorErrorResponse, "internal"), k.err
	}

	now := r.now()
	a := answerFor(st, k)
	if req.nonce != nil {
		// A nonce makes the response unique to this request: sign it
		// fresh and keep it out of the cache.
		e, err := r.signWithin(madeUpWait, k, req, a, now)
		switch {
		case err == nil:
			res := e.result(now)
			res.cacheable = false
			res.kind = a.kind()
			return res, nil
		case !errors.Is(err, errBusy):
			return errorResult(xocsp.InternalErrorErrorResponse, "internal"), err
		case a.status == xocsp.Unknown:
			return errorResult(xocsp.TryLaterErrorResponse, "trylater"), nil
		}
		// Too busy for a nonce: answer as if it had none. RFC 8954 lets
		// a responder leave the nonce out (OpenSSL warns and goes on),
		// and an answer about an issued certificate is likely cached.
		req.nonce = nil
	}
	// Unknown answers, which a client can ask for any serial, go to a
	// small cache of their own and wait less for a signer.
	c, wait := r.cache, knownWait
	if a.status == xocsp.Unknown {
		c, wait = r.unknown, madeUpWait
	}
	signed := false
	e, err := c.get(newCacheKey(k, req), a, now, func() (*entry, error) {
		signed = true
		return r.signWithin(wait, k, req, a, now)
	})
	if errors.Is(err, errBusy) {
		return errorResult(xocsp.TryLaterErrorResponse, "trylater"), nil
	}
	if err != nil {
		return errorResult(xocsp.InternalErrorErrorResponse, "internal"), err
	}
	res := e.result(now)
	res.kind, res.cached = a.kind(), !signed
	return res, nil
}

// signWithin is sign in one of the signers' slots, waiting at most wait
// for it; errBusy when none came free.
func (r *Responder) signWithin(wait time.Duration, k *issuerKey, req request, a answer, now time.Time) (*entry, error) {
	if !r.signers.acquire(wait) {
		return nil, errBusy
	}
	defer r.signers.release()
	return r.sign(k, req, a, now)
}

// sign makes the response saying a, valid from now on.
func (r *Responder) sign(k *issuerKey, req request, a answer, now time.Time) (*entry, error) {
	now = now.UTC().Truncate(time.Second)
	thisUpdate := now.Add(-backdate)
	// A revocation newer than the backdated thisUpdate moves it forward,
	// so the response never claims to be older than the event it reports.
	if revokedAt := time.Unix(a.revokedAt, 0); a.status == xocsp.Revoked &&
		revokedAt.After(thisUpdate) && !revokedAt.After(now) {
		thisUpdate = revokedAt.UTC()
	}
	t := template{
		req:        req,
		answer:     a,
		producedAt: now,
		thisUpdate: thisUpdate,
		nextUpdate: thisUpdate.Add(r.validity),
		nonce:      req.nonce,
	}
	der, err := k.sign(t)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &entry{
		answer:     a,
		der:        der,
		etag:       `"` + hex.EncodeToString(sum[:]) + `"`,
		thisUpdate: t.thisUpdate,
		nextUpdate: t.nextUpdate,
	}, nil
}

func (e *entry) result(now time.Time) result {
	maxAge := e.nextUpdate.Sub(now).Truncate(time.Second)
	if maxAge < 0 {
		maxAge = 0
	}
	return result{
		der:        e.der,
		maxAge:     maxAge,
		thisUpdate: e.thisUpdate,
		nextUpdate: e.nextUpdate,
		etag:       e.etag,
		cacheable:  true,
		entry:      e,
	}
}
