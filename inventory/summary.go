package inventory

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"certmaker/ca"
	"certmaker/storage"
)

// SummaryStore is what a health summary reads.
type SummaryStore interface {
	Roots() ([]storage.Root, string, error)
	CountUsers() (int, error)
	CountAllCertificates() (int, error)
	CountExpiring(from, to time.Time) (int, error)
}

// Root describes one root CA, or (in Summary.Intermediates) one
// intermediate.
type Root struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
	// Active: the root of the issuing intermediate, or the issuing
	// intermediate itself.
	Active      bool      `json:"active"`
	DaysLeft    int       `json:"days_left"`
	Constrained bool      `json:"name_constrained"`
	Created     time.Time `json:"created"`
	// KeyOnline says whether the key is in the store; a root's may be
	// kept offline.
	KeyOnline bool `json:"key_online"`
	// OneTier: a root that signs certificates itself (made before
	// certmaker had intermediates).
	OneTier bool `json:"one_tier,omitempty"`
	// CRLNextUpdate is when a two-tier root's CRL expires (zero: none
	// signed yet); with the key offline it must be re-signed before then.
	CRLNextUpdate time.Time `json:"crl_next_update,omitzero"`
	// Parent is an intermediate's root.
	Parent string `json:"root,omitempty"`
	// Revoked: an intermediate its root's CRL lists, since RevokedAt,
	// for Reason (RFC 5280 name).
	Revoked   bool      `json:"revoked,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
}

// Summary is `certmaker status`.
type Summary struct {
	Roots         []Root `json:"roots"`
	Intermediates []Root `json:"intermediates"`
	Users         int    `json:"users"`
	Certificates  int    `json:"certificates"`
	Expiring7     int    `json:"expiring_7d"`
	Expiring30    int    `json:"expiring_30d"`
	DatabaseBytes int64  `json:"database_bytes"`
	// Warnings are what ends soon (Warnings), as the core sees it.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Warning is the first warning of kind k about the CA, if any.
func (s Summary) Warning(k WarningKind) (Warning, bool) {
	for _, w := range s.Warnings {
		if w.Kind == k {
			return w, true
		}
	}
	return Warning{}, false
}

// ActiveRoot is the active root of the summary, if any.
func (s Summary) ActiveRoot() (Root, bool) {
	for _, r := range s.Roots {
		if r.Active {
			return r, true
		}
	}
	return Root{}, false
}

// ActiveIntermediate is the intermediate that signs, if any (none for a
// one-tier root).
func (s Summary) ActiveIntermediate() (Root, bool) {
	for _, r := range s.Intermediates {
		if r.Active {
			return r, true
		}
	}
	return Root{}, false
}

// Roots describes every stored root, oldest first.
func Roots(s SummaryStore, now time.Time) ([]Root, error) {
	roots, _, err := hierarchy(s, now)
	return roots, err
}

// Intermediates describes every stored intermediate, oldest first.
func Intermediates(s SummaryStore, now time.Time) ([]Root, error) {
	_, intermediates, err := hierarchy(s, now)
	return intermediates, err
}

// hierarchy describes every stored root and intermediate, oldest first.
func hierarchy(s SummaryStore, now time.Time) (roots, intermediates []Root, err error) {
	recs, active, err := s.Roots()
	if err != nil {
		return nil, nil, err
	}
	// The active root is the active issuer's parent, or the active issuer
	// itself when it is a one-tier root.
	activeRoot := active
	for _, r := range recs {
		if r.Fingerprint == active && r.Parent != "" {
			activeRoot = r.Parent
		}
	}
	for _, r := range recs {
		cert, err := x509.ParseCertificate(r.CertDER)
		if err != nil {
			return nil, nil, fmt.Errorf("CA %s: %w", r.Fingerprint, err)
		}
		d := Root{
			Fingerprint: r.Fingerprint,
			Subject:     cert.Subject.String(),
			NotAfter:    cert.NotAfter,
			DaysLeft:    int(cert.NotAfter.Sub(now).Hours() / 24),
			Constrained: cert.PermittedDNSDomainsCritical,
			Created:     r.Created,
			KeyOnline:   r.KeyPKCS8 != nil,
			Parent:      r.Parent,
		}
		if r.Parent != "" {
			d.Active = r.Fingerprint == active
			if r.Revoked {
				d.Revoked, d.RevokedAt, d.Reason = true, r.RevokedAt, ca.ReasonName(r.Reason)
			}
			intermediates = append(intermediates, d)
			continue
		}
		d.Active = r.Fingerprint == activeRoot
		d.OneTier = cert.MaxPathLen == 0 && cert.MaxPathLenZero
		if r.CRL != nil {
			if crl, err := x509.ParseRevocationList(r.CRL); err == nil {
				d.CRLNextUpdate = crl.NextUpdate
			}
		}
		roots = append(roots, d)
	}
	byCreated := func(a, b Root) int { return a.Created.Compare(b.Created) }
	slices.SortFunc(roots, byCreated)
	slices.SortFunc(intermediates, byCreated)
	return roots, intermediates, nil
}

// Summarize reads the health summary.
func Summarize(s SummaryStore, now time.Time) (Summary, error) {
	var sum Summary
	var err error
	if sum.Roots, sum.Intermediates, err = hierarchy(s, now); err != nil {
		return sum, err
	}
	if sum.Users, err = s.CountUsers(); err != nil {
		return sum, err
	}
	if sum.Certificates, err = s.CountAllCertificates(); err != nil {
		return sum, err
	}
	if sum.Expiring7, err = s.CountExpiring(now, now.Add(7*24*time.Hour)); err != nil {
		return sum, err
	}
	if sum.Expiring30, err = s.CountExpiring(now, now.Add(30*24*time.Hour)); err != nil {
		return sum, err
	}
	// Only a backend with a file to measure (storage.Sizer) has a size.
	if sz, ok := s.(storage.Sizer); ok {
		sum.DatabaseBytes, err = sz.Size()
	}
	return sum, err
}

// HumanBytes writes a byte count the way people read it: "40.0 KiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
