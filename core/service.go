package core

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/ocsp"
	"certmaker/storage"
)

// Config wires a Service.
type Config struct {
	Store     storage.Store
	Authority *ca.Authority
	// Checker proves control of names; nil means this service cannot
	// check any (challenges are off).
	Checker *challenge.Checker
	// Logger gets the audit trail and the service's own warnings.
	Logger *slog.Logger
	// Root is what new roots (the first one, rotations) look like.
	Root ca.RootConfig

	// ChallengeRequired makes every request prove its names first.
	ChallengeRequired bool
	// ChallengePort is where tokens are fetched by default; default 80.
	ChallengePort int
	// ChallengeExpiry is how long a pending request waits; default 24h.
	ChallengeExpiry time.Duration
	// MaxPending bounds one user's pending challenges; default 100.
	MaxPending int
	// KeyGenLimit bounds concurrent RSA key generations, which take a
	// core each for up to seconds; default 2.
	KeyGenLimit int
	// GenerateKey makes the keys the server holds; nil is
	// ca.GenerateKey. Tests wrap it to see how many run at once.
	GenerateKey func(ca.KeyType) (crypto.Signer, error)
	// Registry takes the service's metrics; nil makes one.
	Registry *prometheus.Registry
	// ExpiryWarningDays is how long before the active root or
	// intermediate ends operators are warned (inventory.Warnings); 0 never.
	ExpiryWarningDays int
	// ACME is how ACME accounts and orders behave; orders and their
	// authorizations expire after ChallengeExpiry.
	ACME ACMEConfig
	// DefaultPolicy is the policy of users created from now on
	// ([policy.default]); the zero policy leaves them the CA's limits.
	DefaultPolicy storage.Policy
}

// Service is the core every door calls.
type Service struct {
	store    storage.Store
	ca       *ca.Authority
	checker  *challenge.Checker
	log      *slog.Logger
	auditLog *slog.Logger
	rootCfg  ca.RootConfig

	challengeRequired bool
	challengePort     int
	challengeExpiry   time.Duration
	warnDays          int

	acme          ACMEConfig
	defaultPolicy storage.Policy

	rsaSlots chan struct{}
	// limits bound what ACME clients make (acmelimit.go).
	limits *acmeLimits
	// rotating makes a rotation's store write and its switch of the
	// running authority one step: two rotations at once (socket and
	// dashboard) must not leave the server issuing from the root the
	// store does not call active.
	rotating sync.Mutex

	// maxPending bounds one user's pending challenges; a claim holds
	// each user's count and write of a new one together (acmeclaim.go).
	maxPending  int
	generateKey func(ca.KeyType) (crypto.Signer, error)

	crls    *ca.CRLs
	held    heldReads // reads memory answers when the store is slow to (heldreads.go)
	ocsp    *ocsp.Responder
	metrics *metrics

	storageFull atomic.Bool // an episode of full storage has been logged
	storageDown atomic.Bool // an episode of an unreachable storage cluster has been logged
}

// New checks cfg and builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Authority == nil {
		return nil, errors.New("core: store and authority are required")
	}
	if cfg.ChallengeRequired && cfg.Checker == nil {
		return nil, errors.New("core: challenges required but no checker")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyGenLimit <= 0 {
		cfg.KeyGenLimit = 2
	}
	if cfg.GenerateKey == nil {
		cfg.GenerateKey = ca.GenerateKey
	}
	if cfg.ChallengePort == 0 {
		cfg.ChallengePort = 80
	}
	if cfg.ChallengeExpiry == 0 {
		cfg.ChallengeExpiry = 24 * time.Hour
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if err := cfg.ACME.check(); err != nil {
		return nil, err
	}
	s := &Service{
		store:             cfg.Store,
		ca:                cfg.Authority,
		checker:           cfg.Checker,
		log:               cfg.Logger,
		auditLog:          cfg.Logger.With(slog.String("log", "audit")),
		rootCfg:           cfg.Root,
		challengeRequired: cfg.ChallengeRequired,
		challengePort:     cfg.ChallengePort,
		challengeExpiry:   cfg.ChallengeExpiry,
		maxPending:        cfg.MaxPending,
		warnDays:          cfg.ExpiryWarningDays,
		acme:              cfg.ACME,
		rsaSlots:          make(chan struct{}, cfg.KeyGenLimit),
		generateKey:       cfg.GenerateKey,
		limits:            &acmeLimits{},
	}
	src := revocationSource{store: cfg.Store, now: cfg.Authority.Now, issuer: cfg.Authority.Issuer}
	s.crls = ca.NewCRLs(cfg.Authority, src)
	s.metrics = newMetrics(s, cfg.Registry)
	responder, err := ocsp.New(ocsp.Config{Source: src, Issuers: s.ocspIssuers, Now: s.ca.Now, Logger: cfg.Logger, Observe: s.metrics.observeOCSP})
	if err != nil {
		return nil, err
	}
	s.ocsp = responder
	if s.defaultPolicy, err = s.normalizePolicy(cfg.DefaultPolicy); err != nil {
		return nil, fmt.Errorf("policy.default: %w", err)
	}
	return s, nil
}

// Now is the service's clock (the authority's).
func (s *Service) Now() time.Time { return s.ca.Now() }

// PublicURL is where clients reach this CA.
func (s *Service) PublicURL() string { return s.ca.PublicURL() }

// Authority is the signing authority, for what doors show of it (roots,
// validity bounds).
func (s *Service) Authority() *ca.Authority { return s.ca }

// ChallengeRequired reports whether requests must prove their names first.
func (s *Service) ChallengeRequired() bool { return s.challengeRequired }

// ChallengePort is the port tokens are fetched from by default.
func (s *Service) ChallengePort() int { return s.challengePort }

// Registry holds the service's metrics; doors add theirs.
func (s *Service) Registry() *prometheus.Registry { return s.metrics.reg }

// OCSP is the responder over this service's revocations and roots.
func (s *Service) OCSP() *ocsp.Responder { return s.ocsp }
