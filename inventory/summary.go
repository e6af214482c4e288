package inventory

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"certmaker/storage"
)

// SummaryStore is what a health summary reads.
type SummaryStore interface {
	Roots() ([]storage.Root, string, error)
	CountUsers() (int, error)
	CountAllCertificates() (int, error)
	CountExpiring(from, to time.Time) (int, error)
}

// Root describes one root CA.
type Root struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
	Active      bool      `json:"active"`
	DaysLeft    int       `json:"days_left"`
	Constrained bool      `json:"name_constrained"`
	Created     time.Time `json:"created"`
}

// Summary is `certmaker status`.
type Summary struct {
	Roots         []Root `json:"roots"`
	Users         int    `json:"users"`
	Certificates  int    `json:"certificates"`
	Expiring7     int    `json:"expiring_7d"`
	Expiring30    int    `json:"expiring_30d"`
	DatabaseBytes int64  `json:"database_bytes"`
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

// Roots describes every stored root, oldest first.
func Roots(s SummaryStore, now time.Time) ([]Root, error) {
	recs, active, err := s.Roots()
	if err != nil {
		return nil, err
	}
	out := make([]Root, 0, len(recs))
	for _, r := range recs {
		cert, err := x509.ParseCertificate(r.CertDER)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", r.Fingerprint, err)
		}
		out = append(out, Root{
			Fingerprint: r.Fingerprint,
			Subject:     cert.Subject.String(),
			NotAfter:    cert.NotAfter,
			Active:      r.Fingerprint == active,
			DaysLeft:    int(cert.NotAfter.Sub(now).Hours() / 24),
			Constrained: cert.PermittedDNSDomainsCritical,
			Created:     r.Created,
		})
	}
	slices.SortFunc(out, func(a, b Root) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Summarize reads the health summary.
func Summarize(s SummaryStore, now time.Time) (Summary, error) {
	var sum Summary
	var err error
	if sum.Roots, err = Roots(s, now); err != nil {
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
