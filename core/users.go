package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"certmaker/storage"
)

// Authenticate resolves an API token to an enabled user: NotFound for a
// token no user has, Disabled for a disabled user (with the user, so the
// door can name them in its log). The user is read per call, so `user
// disable` takes effect on the next request. The token is only hashed.
func (s *Service) Authenticate(ctx context.Context, token string) (storage.User, error) {
	if token == "" {
		return storage.User{}, Errorf(Unauthenticated, "missing token")
	}
	u, err := s.store.UserByTokenHash(storage.HashToken(token))
	s.noteReach(ctx, err)
	if errors.Is(err, storage.ErrNotFound) {
		return u, Errorf(NotFound, "no user has this token")
	}
	if err != nil {
		return u, err
	}
	return u, enabled(u)
}

// ActiveUser is the user name as one that may act now: NotFound if there
// is none, Disabled if it is disabled. Doors that know a user by other
// means than a token (a session, an ACME account) ask this per request.
func (s *Service) ActiveUser(ctx context.Context, name string) (storage.User, error) {
	u, err := s.store.User(name)
	s.noteReach(ctx, err)
	if errors.Is(err, storage.ErrNotFound) {
		return u, Errorf(NotFound, "certmaker user %q does not exist", name)
	}
	if err != nil {
		return u, err
	}
	return u, enabled(u)
}

// enabled is the rule that a disabled user does nothing.
func enabled(u storage.User) error {
	if u.Disabled {
		return Errorf(Disabled, "certmaker user %q is disabled", u.Name)
	}
	return nil
}

// UserInfo is one row of the user list.
type UserInfo struct {
	Name         string    `json:"name"`
	Admin        bool      `json:"admin"`
	Disabled     bool      `json:"disabled"`
	Created      time.Time `json:"created"`
	Certificates int       `json:"certificates"`
	// Policy is what the user may ask for (core/policy.go).
	Policy storage.Policy `json:"policy"`
}

// NewToken returns a fresh API token: 256 bits from the CSPRNG, base64url.
func NewToken() (string, error) {
	_, token, err := newSecret(32)
	if err != nil {
		return "", fmt.Errorf("making token: %w", err)
	}
	return token, nil
}

// newSecret returns n bytes from the CSPRNG and their unpadded base64url
// text, the form operators paste into ACME clients and API calls.
//
// The text never begins with '-': certbot's argument parser takes
// `--eab-hmac-key -Xy...` for two options and refuses it, and about one
// random value in 32 would. Drawing again until the first character is
// another one keeps every value uniform over the rest and costs
// log2(64/63) ≈ 0.02 bits; the text stays the exact encoding of the bytes.
func newSecret(n int) ([]byte, string, error) {
	b := make([]byte, n)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, "", fmt.Errorf("reading random bytes: %w", err)
		}
		if s := base64.RawURLEncoding.EncodeToString(b); s[0] != '-' {
			return b, s, nil
		}
	}
}

// CheckUserName allows 1 to 64 letters, digits and . _ - @, starting with a
// letter or digit, so names are safe in tables, URLs and index keys.
func CheckUserName(name string) error {
	if name == "" || len(name) > 64 {
		return invalidf("user name must be 1 to 64 characters")
	}
	if strings.EqualFold(name, ServerOwner) {
		// The owner of the CA's own HTTPS certificates: a user by that
		// name would own them, and their keys.
		return invalidf("user name %q is reserved for the CA itself", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '@')) {
			return invalidf("user name %q: use letters, digits and . _ - @, starting with a letter or digit", name)
		}
	}
	return nil
}

// mayAdminister is the rule for managing users: the operator, or an admin
// user (the dashboard's admin pages).
func mayAdminister(a Actor) error {
	if a.operator() || a.Admin {
		return nil
	}
	return Errorf(Forbidden, "only an admin may manage users and roots")
}

// AddUser creates a user with the default policy for new users and
// returns its token, the only time it is shown.
func (s *Service) AddUser(ctx context.Context, a Actor, name string, admin bool) (string, error) {
	return s.AddUserWithPolicy(ctx, a, name, admin, PolicyChange{})
}

// AddUserWithPolicy creates a user whose policy is the default for new
// users ([policy.default]) changed as c says, in the same commit, and
// returns its token.
func (s *Service) AddUserWithPolicy(ctx context.Context, a Actor, name string, admin bool, c PolicyChange) (string, error) {
	token, p, err := s.addUser(ctx, a, name, admin, c)
	attrs := []slog.Attr{attrBool("admin", admin), slog.String("policy", PolicySummary(p))}
	if s.policyInfo(&storage.User{Policy: p}).SkipsRequiredChallenge {
		// A lower bar from the start, said as a policy change says it.
		attrs = append(attrs, slog.Bool("skips_required_challenge", true))
	}
	s.audit(ctx, a, "user.add", name, err, attrs...)
	return token, err
}

func (s *Service) addUser(ctx context.Context, a Actor, name string, admin bool, c PolicyChange) (string, storage.Policy, error) {
	if err := mayAdminister(a); err != nil {
		return "", storage.Policy{}, err
	}
	if err := CheckUserName(name); err != nil {
		return "", storage.Policy{}, err
	}
	p, err := s.normalizePolicy(c.apply(s.defaultPolicy.Clone()))
	if err != nil {
		return "", storage.Policy{}, err
	}
	token, err := NewToken()
	if err != nil {
		return "", p, err
	}
	u := storage.User{Name: name, Admin: admin, Created: s.ca.Now().UTC(), TokenHash: storage.HashToken(token), Policy: p}
	if err := s.noteWrite(ctx, s.store.CreateUser(u)); err != nil {
		return "", p, err
	}
	return token, p, nil
}

// Users lists users with their certificate counts.
func (s *Service) Users(_ context.Context, a Actor) ([]UserInfo, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	users, err := s.store.Users()
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, len(users))
	for i, u := range users {
		n, err := s.store.CountCertificates(u.Name)
		if err != nil {
			return nil, err
		}
		out[i] = UserInfo{Name: u.Name, Admin: u.Admin, Disabled: u.Disabled, Created: u.Created, Certificates: n, Policy: u.Policy}
	}
	return out, nil
}

// CountUsers says how many users there are (none: a new CA).
func (s *Service) CountUsers() (int, error) { return s.store.CountUsers() }

// SetDisabled disables or enables a user; users are read per request, so
// the change applies to the very next one, in every door.
func (s *Service) SetDisabled(ctx context.Context, a Actor, name string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	err := mayAdminister(a)
	if err == nil && disabled && !a.operator() && a.User == name {
		// An admin who disables themself is locked out with no one left
		// who may undo it, perhaps; the operator on the server always can.
		err = Errorf(Invalid, "you cannot disable yourself: another admin, or `certmaker user disable` on the server, can")
	}
	if err == nil {
		_, err = s.store.UpdateUser(name, func(u *storage.User) error {
			u.Disabled = disabled
			return nil
		})
		err = s.noteWrite(ctx, err)
	}
	s.audit(ctx, a, action, name, err)
	return err
}

// ResetToken gives a user a new token; the old one stops working in the
// same commit.
func (s *Service) ResetToken(ctx context.Context, a Actor, name string) (string, error) {
	token, err := s.resetToken(ctx, a, name)
	s.audit(ctx, a, "user.token", name, err)
	return token, err
}

func (s *Service) resetToken(ctx context.Context, a Actor, name string) (string, error) {
	if err := mayAdminister(a); err != nil {
		return "", err
	}
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	h := storage.HashToken(token)
	_, err = s.store.UpdateUser(name, func(u *storage.User) error {
		u.TokenHash = h
		return nil
	})
	if err := s.noteWrite(ctx, err); err != nil {
		return "", err
	}
	return token, nil
}
