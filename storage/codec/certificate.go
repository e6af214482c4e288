package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"certmaker/storage"
)

// CertificateV2 is the first byte of a binary certificate record. It can
// never be '{', which starts every JSON record, and a later layout takes
// the next number.
//
// Layout after that byte (uvarint lengths and counts, varint integers):
//
//	flags         1 byte: 1 revoked, 2 has key, 4 has revocation time
//	der           uvarint length, bytes
//	owner         uvarint length, bytes
//	root          uvarint length, bytes
//	key           uvarint length, bytes (only with flag 2)
//	key_type      uvarint length, bytes
//	names         uvarint count, each uvarint length, bytes
//	not_after     varint Unix seconds, uvarint nanoseconds (UTC)
//	created       varint Unix seconds, uvarint nanoseconds (UTC)
//	revoked_at    varint Unix seconds, uvarint nanoseconds (only with flag 4)
//	reason        varint
const CertificateV2 = 2

const (
	certRevoked byte = 1 << iota
	certHasKey
	certHasRevokedAt
)

func EncodeCertificate(c *storage.Certificate) []byte {
	n := 1 + 1 + 6*binary.MaxVarintLen64 + len(c.DER) + len(c.Owner) + len(c.Root) + len(c.KeyPKCS8) + len(c.KeyType) +
		len(c.Names)*binary.MaxVarintLen64 + 6*binary.MaxVarintLen64 + binary.MaxVarintLen64
	for _, name := range c.Names {
		n += len(name)
	}
	b := make([]byte, 0, n)
	var flags byte
	if c.Revoked {
		flags |= certRevoked
	}
	if c.KeyPKCS8 != nil {
		flags |= certHasKey
	}
	if !c.RevokedAt.IsZero() {
		flags |= certHasRevokedAt
	}
	b = append(b, CertificateV2, flags)
	b = appendBytes(b, c.DER)
	b = appendString(b, c.Owner)
	b = appendString(b, c.Root)
	if c.KeyPKCS8 != nil {
		b = appendBytes(b, c.KeyPKCS8)
	}
	b = appendString(b, c.KeyType)
	b = binary.AppendUvarint(b, uint64(len(c.Names)))
	for _, name := range c.Names {
		b = appendString(b, name)
	}
	b = appendTime(b, c.NotAfter)
	b = appendTime(b, c.Created)
	if flags&certHasRevokedAt != 0 {
		b = appendTime(b, c.RevokedAt)
	}
	return binary.AppendVarint(b, int64(c.Reason))
}

func appendBytes(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) []byte {
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

// ErrCorrupt reports a binary record that ends early or runs on.
var ErrCorrupt = errors.New("decoding record: truncated or corrupt binary certificate")

// certReader walks a binary certificate record. Every read is bounds
// checked: a damaged record is an error, never a panic.
type certReader struct {
	b   []byte
	err error
}

func (r *certReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *certReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

// next returns the next length-prefixed field, still in the caller's memory.
func (r *certReader) next() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrCorrupt
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *certReader) time() time.Time {
	sec, nsec := r.varint(), r.uvarint()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		r.err = ErrCorrupt
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// DecodeStatus fills st from a certificate record, binary or
// JSON. Of a binary record it copies only the root fingerprint, but walks
// every field, so that a record Certificate would refuse as damaged is
// refused here too, never half read.
func DecodeStatus(b []byte, st *storage.CertificateStatus) error {
	if len(b) == 0 || b[0] == '{' {
		var c storage.Certificate
		if err := Decode(b, &c); err != nil {
			return err
		}
		*st = storage.CertificateStatus{Root: c.Root, Revoked: c.Revoked, RevokedAt: c.RevokedAt, Reason: c.Reason}
		return nil
	}
	if b[0] != CertificateV2 {
		return fmt.Errorf("decoding record: binary certificate format %d, this certmaker reads %d: upgrade certmaker", b[0], CertificateV2)
	}
	if len(b) < 2 {
		return ErrCorrupt
	}
	flags := b[1]
	r := certReader{b: b[2:]}
	r.next() // der
	r.next() // owner
	root := r.next()
	if flags&certHasKey != 0 {
		r.next() // key
	}
	r.next() // key_type
	count := r.uvarint()
	if count > uint64(len(r.b)) {
		return ErrCorrupt
	}
	for range count {
		r.next() // a name
	}
	r.time() // not_after
	r.time() // created
	var revokedAt time.Time
	if flags&certHasRevokedAt != 0 {
		revokedAt = r.time()
	}
	reason := r.varint()
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return ErrCorrupt
	}
	*st = storage.CertificateStatus{
		Root:      string(root),
		Revoked:   flags&certRevoked != 0,
		RevokedAt: revokedAt,
		Reason:    int(reason),
	}
	return nil
}

// DecodeCertificate fills c from a binary record, copying everything out of
// b. c.Serial is left alone: it is the record's key, not part of the value.
func DecodeCertificate(b []byte, c *storage.Certificate) error {
	if b[0] != CertificateV2 {
		return fmt.Errorf("decoding record: binary certificate format %d, this certmaker reads %d: upgrade certmaker", b[0], CertificateV2)
	}
	if len(b) < 2 {
		return ErrCorrupt
	}
	flags := b[1]
	r := certReader{b: b[2:]}
	der := r.next()
	owner := r.next()
	root := r.next()
	var key []byte
	if flags&certHasKey != 0 {
		key = r.next()
	}
	keyType := r.next()
	count := r.uvarint()
	if count > uint64(len(r.b)) { // every name takes at least its length byte
		return ErrCorrupt
	}
	var nameBuf [8][]byte // most certificates have a few names
	names := nameBuf[:0]
	textLen := len(owner) + len(root) + len(keyType)
	for range count {
		name := r.next()
		names = append(names, name)
		textLen += len(name)
	}
	notAfter, created := r.time(), r.time()
	var revokedAt time.Time
	if flags&certHasRevokedAt != 0 {
		revokedAt = r.time()
	}
	reason := r.varint()
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return ErrCorrupt
	}
	// One allocation holds both byte fields; the capacities keep an append
	// to DER from running into the key. Another holds every string: they
	// are copied into one and sliced from it.
	buf := make([]byte, len(der)+len(key))
	copy(buf, der)
	copy(buf[len(der):], key)
	var text strings.Builder
	text.Grow(textLen)
	text.Write(owner)
	text.Write(root)
	text.Write(keyType)
	for _, name := range names {
		text.Write(name)
	}
	all := text.String()
	cut := func(n int) string {
		s := all[:n]
		all = all[n:]
		return s
	}
	*c = storage.Certificate{
		Serial:    c.Serial,
		DER:       buf[:len(der):len(der)],
		Owner:     cut(len(owner)),
		Root:      cut(len(root)),
		KeyType:   cut(len(keyType)),
		NotAfter:  notAfter,
		Created:   created,
		Revoked:   flags&certRevoked != 0,
		RevokedAt: revokedAt,
		Reason:    int(reason),
	}
	if count > 0 {
		c.Names = make([]string, len(names))
		for i, name := range names {
			c.Names[i] = cut(len(name))
		}
	}
	if len(der) == 0 {
		c.DER = nil // as JSON read it
	}
	if key != nil {
		c.KeyPKCS8 = buf[len(der):]
	}
	return nil
}
