package inventory

import "time"

// WarningKind says what ends soon.
type WarningKind string

// The warnings an operator gets about the CA itself.
const (
	// RootExpires: the active root ends within the warning days; every
	// certificate ends with it, and clients must trust a new root first.
	RootExpires WarningKind = "root_expires"
	// IntermediateExpires: the active intermediate ends within the
	// warning days, before its root (with its root, RootExpires says it).
	IntermediateExpires WarningKind = "intermediate_expires"
	// RootCRLMissing: an offline root has no CRL; only its key can sign one.
	RootCRLMissing WarningKind = "root_crl_missing"
	// RootCRLExpires: an offline root's CRL ends within RootCRLWindow, or
	// has ended (DaysLeft <= 0); only its key can sign the next one.
	RootCRLExpires WarningKind = "root_crl_expires"
)

// RootCRLWindow is how long before an offline root's CRL ends the operator
// is warned: someone must bring the key out to sign the next one.
const RootCRLWindow = 30 * 24 * time.Hour

// Warning is one thing about the CA to act on before At.
type Warning struct {
	Kind        WarningKind `json:"kind"`
	Fingerprint string      `json:"fingerprint"` // of the root or intermediate
	At          time.Time   `json:"at,omitzero"` // when it ends (ended); zero for a missing CRL
	DaysLeft    int         `json:"days_left"`
	Ended       bool        `json:"ended,omitempty"` // At has passed
}

// Warnings is the one rule for what ends soon, which the server's log,
// `certmaker status` and the dashboard all show: the active root and
// intermediate within warnDays (0: never), and an offline root's CRL
// within RootCRLWindow.
func Warnings(s Summary, now time.Time, warnDays int) []Warning {
	var out []Warning
	window := time.Duration(warnDays) * 24 * time.Hour
	ends := func(k WarningKind, r Root, at time.Time) {
		out = append(out, Warning{Kind: k, Fingerprint: r.Fingerprint, At: at, DaysLeft: int(at.Sub(now).Hours() / 24), Ended: !at.After(now)})
	}
	root, ok := s.ActiveRoot()
	if !ok {
		return nil
	}
	if warnDays > 0 && root.NotAfter.Sub(now) < window {
		ends(RootExpires, root, root.NotAfter)
	}
	if in, ok := s.ActiveIntermediate(); ok && warnDays > 0 && in.NotAfter.Sub(now) < window && in.NotAfter.Before(root.NotAfter) {
		ends(IntermediateExpires, in, in.NotAfter)
	}
	switch {
	case root.OneTier || root.KeyOnline:
		// The server signs the next CRL itself.
	case root.CRLNextUpdate.IsZero():
		out = append(out, Warning{Kind: RootCRLMissing, Fingerprint: root.Fingerprint})
	case root.CRLNextUpdate.Sub(now) < RootCRLWindow:
		ends(RootCRLExpires, root, root.CRLNextUpdate)
	}
	return out
}
