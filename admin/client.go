package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"certmaker/core"
	"certmaker/inventory"
)

// ErrNoServer means no server answers on the socket: run the operation
// on the file directly.
var ErrNoServer = errors.New("no server on the admin socket")

// Client sends operations to a running server over its unix socket.
type Client struct {
	http *http.Client
}

var _ Operator = (*Client)(nil)

// SocketPath is where a server on the database at dbPath listens.
func SocketPath(dbPath string) string { return dbPath + ".sock" }

// Dial returns a client if our own server answers on the socket,
// ErrNoServer if none does (no socket file, or a stale one left by a killed
// server), and ErrUntrusted if something answers that may not be ours: a
// socket of another user, one other users may reach, or a server process
// of another uid (ours, root's and the database owner's are ours: see
// trust). Every connection the client makes is checked so.
func Dial(ctx context.Context, socket string) (*Client, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	dial := func(ctx context.Context) (net.Conn, error) {
		conn, err := d.DialContext(ctx, "unix", socket)
		if err != nil {
			return nil, err
		}
		// Checked once something answers: a dead socket, whoever made
		// it, can tell us nothing, and the file falls back as before.
		t := clientTrust(socket)
		if err := checkSocketFile(socket, t); err != nil {
			conn.Close()
			return nil, err
		}
		if err := checkPeer(conn, socket, "server", t); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	conn, err := dial(ctx)
	if errors.Is(err, ErrUntrusted) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoServer, err)
	}
	conn.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}
	// Root generation with RSA-4096 can take seconds; nothing else is slow.
	return &Client{http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://admin"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("asking the server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorResponse
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e); err != nil || e.Error == "" {
			return fmt.Errorf("server answered %s", resp.Status)
		}
		return &remoteError{msg: e.Error, kind: e.Kind}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	return nil
}

// remoteError carries the server's message and the kind of its error:
// errors.Is(err, store.ErrNotFound) holds for a NotFound from the socket
// as it does for one from the file.
type remoteError struct {
	msg  string
	kind core.Kind
}

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) ErrorKind() core.Kind { return e.kind }
func (e *remoteError) Is(target error) bool { return core.SameKind(e, target) }

// AddUser implements Operator.
func (c *Client) AddUser(ctx context.Context, name string, admin bool) (string, error) {
	var out tokenResponse
	err := c.do(ctx, http.MethodPost, "/users", addUserRequest{Name: name, Admin: admin}, &out)
	return out.Token, err
}

// Users implements Operator.
func (c *Client) Users(ctx context.Context) ([]UserInfo, error) {
	var out []UserInfo
	err := c.do(ctx, http.MethodGet, "/users", nil, &out)
	return out, err
}

// SetDisabled implements Operator.
func (c *Client) SetDisabled(ctx context.Context, name string, disabled bool) error {
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	return c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(name)+"/"+verb, nil, nil)
}

// ResetToken implements Operator.
func (c *Client) ResetToken(ctx context.Context, name string) (string, error) {
	var out tokenResponse
	err := c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(name)+"/token", nil, &out)
	return out.Token, err
}

// RotateRoot implements Operator.
func (c *Client) RotateRoot(ctx context.Context) (string, error) {
	var out fingerprintResponse
	err := c.do(ctx, http.MethodPost, "/roots/rotate", nil, &out)
	return out.Fingerprint, err
}

// RotateIntermediate implements Operator.
func (c *Client) RotateIntermediate(ctx context.Context, rootKey []byte) (string, error) {
	var out fingerprintResponse
	err := c.do(ctx, http.MethodPost, "/intermediates/rotate", rootKeyRequest{RootKey: rootKey}, &out)
	return out.Fingerprint, err
}

// RevokeIntermediate implements Operator.
func (c *Client) RevokeIntermediate(ctx context.Context, fingerprint, reason string, rootKey []byte) (string, error) {
	var out fingerprintResponse
	err := c.do(ctx, http.MethodPost, "/intermediates/revoke/"+url.PathEscape(fingerprint),
		revokeIntermediateRequest{Reason: reason, RootKey: rootKey}, &out)
	return out.Fingerprint, err
}

// RenewSoon implements Operator.
func (c *Client) RenewSoon(ctx context.Context, fingerprint string, within time.Duration) (string, RenewalWindow, error) {
	var out renewSoonResponse
	err := c.do(ctx, http.MethodPost, "/roots/renew-soon/"+url.PathEscape(fingerprint), renewSoonRequest{Within: within}, &out)
	return out.Fingerprint, RenewalWindow{Start: out.Start, End: out.End}, err
}

// Revoke implements Operator.
func (c *Client) Revoke(ctx context.Context, id, reason string) error {
	return c.do(ctx, http.MethodPost, "/certificates/"+url.PathEscape(id)+"/revoke", revokeRequest{Reason: reason}, nil)
}

// ExportRootKey implements Operator.
func (c *Client) ExportRootKey(ctx context.Context) (string, []byte, error) {
	var out rootKeyResponse
	err := c.do(ctx, http.MethodPost, "/roots/export-key", nil, &out)
	return out.Fingerprint, out.RootKey, err
}

// TakeRootOffline implements Operator.
func (c *Client) TakeRootOffline(ctx context.Context, fingerprint string) (time.Time, error) {
	var out nextUpdateResponse
	err := c.do(ctx, http.MethodPost, "/roots/offline", fingerprintResponse{Fingerprint: fingerprint}, &out)
	return out.NextUpdate, err
}

// SignRootCRL implements Operator.
func (c *Client) SignRootCRL(ctx context.Context, rootKey []byte) (time.Time, error) {
	var out nextUpdateResponse
	err := c.do(ctx, http.MethodPost, "/roots/crl", rootKeyRequest{RootKey: rootKey}, &out)
	return out.NextUpdate, err
}

// Rekey implements Operator.
func (c *Client) Rekey(ctx context.Context) (string, error) {
	var out keyFileResponse
	err := c.do(ctx, http.MethodPost, "/rekey", nil, &out)
	return out.KeyFile, err
}

// KeyFile implements Operator. A server from before it was asked answers
// 404: "", so that a backup still refuses the key file it knows of.
func (c *Client) KeyFile(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://admin/key-file", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("asking the server: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return "", nil
	default:
		return "", fmt.Errorf("asking the server for its key file: %s", resp.Status)
	}
	var out keyFileResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return "", fmt.Errorf("asking the server for its key file: %w", err)
	}
	return out.KeyFile, nil
}

// Backup implements Operator: the server streams the copy over the socket.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://admin/backup", nil)
	if err != nil {
		return 0, err
	}
	// No overall timeout: a large database takes as long as it takes.
	client := *c.http
	client.Timeout = 0
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("asking the server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("server answered %s", resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("receiving backup: %w", err)
	}
	return n, nil
}

// Certificates implements Operator.
func (c *Client) Certificates(ctx context.Context, q inventory.Query) (inventory.Page, error) {
	var out inventory.Page
	err := c.do(ctx, http.MethodGet, "/certificates?"+q.URLValues().Encode(), nil, &out)
	return out, err
}

// Certificate implements Operator.
func (c *Client) Certificate(ctx context.Context, id string) (inventory.Certificate, []byte, error) {
	var out certificateResponse
	err := c.do(ctx, http.MethodGet, "/certificates/"+url.PathEscape(id), nil, &out)
	return out.Certificate, []byte(out.PEM), err
}

// RootsPEM implements Operator.
func (c *Client) RootsPEM(ctx context.Context, all bool) ([]byte, error) {
	var out rootsResponse
	err := c.do(ctx, http.MethodGet, "/roots?all="+strconv.FormatBool(all), nil, &out)
	return []byte(out.PEM), err
}

// Status implements Operator.
func (c *Client) Status(ctx context.Context) (inventory.Summary, error) {
	var out inventory.Summary
	err := c.do(ctx, http.MethodGet, "/status", nil, &out)
	return out, err
}
