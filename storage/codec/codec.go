package codec

import (
	"encoding/json"
	"fmt"

	"certmaker/storage"
)

// Version is written into every JSON record so that a later format
// can be told apart from this one without guessing.
const Version = 1

type envelope[T any] struct {
	V int `json:"v"`
	R T   `json:"r"`
}

// Encode writes a record: certificates in the compact binary format (the
// bulk of the file, and read on every OCSP answer), everything else as
// versioned JSON.
func Encode[T any](rec T) ([]byte, error) {
	switch c := any(rec).(type) {
	case *storage.Certificate:
		return EncodeCertificate(c), nil
	case storage.Certificate:
		return EncodeCertificate(&c), nil
	}
	b, err := json.Marshal(envelope[T]{V: Version, R: rec})
	if err != nil {
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	return b, nil
}

// Decode copies a record out of b; the result is safe to use after b is
// gone (a bbolt value, once its transaction ends). A record starting with
// '{' is JSON (every record before the binary format, and every
// non-certificate record); anything else starts with its binary format's
// version byte.
func Decode[T any](b []byte, rec *T) error {
	if len(b) > 0 && b[0] != '{' {
		if c, ok := any(rec).(*storage.Certificate); ok {
			return DecodeCertificate(b, c)
		}
		return fmt.Errorf("decoding record: binary format %d for a %T", b[0], rec)
	}
	var env envelope[*T]
	env.R = rec
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("decoding record: %w", err)
	}
	if env.V != Version {
		return fmt.Errorf("decoding record: version %d, want %d", env.V, Version)
	}
	return nil
}
