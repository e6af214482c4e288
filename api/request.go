package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/internal/jsonkeys"
)

// maxBody bounds every request body the API reads.
const maxBody = 64 << 10

// simpleRequest is the JSON body of /certificate/request. Unknown fields are
// ignored, as older clients send extra ones: CertMaker-Bot sends its Go
// field names ("Domains", "StreetAddress") and its own settings
// ("CertFile", "PostCommands"), the 2022 Go SDK sends "emails". Keys match
// without regard to case (encoding/json); the fields tagged without
// underscores take the Go-named spellings, and jsonkeys.Check refuses a body
// that names one field twice in any spelling.
type simpleRequest struct {
	// The canonical fields, as the core defines them. Subject below
	// stands in for the embedded one, with its other spellings.
	core.SimpleRequest
	Subject subjectFields `json:"subject"`

	// Challenge is how the names are proven when challenges are
	// required: "http" (the default) or "dns" (core.ParseProof). It is
	// the request's, not the certificate's, so it is not stored in it.
	Challenge string `json:"challenge,omitempty"`

	// Other clients' spellings, merged into the fields above by merge.
	Emails           []string `json:"emails,omitempty"`
	EmailAddressesGo []string `json:"emailaddresses,omitempty"`
	KeyTypeGo        string   `json:"keytype,omitempty"`
}

type subjectFields struct {
	core.SimpleSubject

	// CertMaker-Bot's spellings, merged by merge.
	CommonNameGo    string `json:"commonname,omitempty"`
	StreetAddressGo string `json:"streetaddress,omitempty"`
	PostalCodeGo    string `json:"postalcode,omitempty"`
}

// merge folds the other clients' spellings into the canonical fields.
// jsonkeys.Check has made sure at most one spelling of each field was sent;
// "emails" is a different key from "email_addresses", and both are kept.
func (sr *simpleRequest) merge() {
	sr.EmailAddresses = append(sr.EmailAddresses, sr.EmailAddressesGo...)
	sr.EmailAddresses = append(sr.EmailAddresses, sr.Emails...)
	sr.KeyType += sr.KeyTypeGo
	s := &sr.Subject
	s.CommonName += s.CommonNameGo
	s.StreetAddress += s.StreetAddressGo
	s.PostalCode += s.PostalCodeGo
	sr.Emails, sr.EmailAddressesGo, sr.KeyTypeGo = nil, nil, ""
	s.CommonNameGo, s.StreetAddressGo, s.PostalCodeGo = "", "", ""
}

// readBody reads at most maxBody bytes; more is errTooLarge, whether the
// client announced the length or sent it chunked.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge // no need to read what we will refuse
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, badRequest("reading body: %v", err)
	}
	return b, nil
}

// decodeSimple parses and validates a simple request body into what the
// authority signs and the key type to generate.
func decodeSimple(body []byte) (*simpleRequest, *ca.Request, ca.KeyType, error) {
	var sr simpleRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&sr); err != nil {
		return nil, nil, "", badRequest("malformed JSON: %v", jsonError(err))
	}
	if dec.More() {
		return nil, nil, "", badRequest("malformed JSON: more than one value in the body")
	}
	// More says false before a stray "}" or "]", so look at the rest too.
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return nil, nil, "", badRequest("malformed JSON: data after the request object")
	}
	if err := jsonkeys.Check(body); err != nil {
		return nil, nil, "", badRequest("malformed JSON: %v", err)
	}
	sr.merge()
	req, kt, err := sr.toRequest()
	if err != nil {
		return nil, nil, "", err
	}
	return &sr, req, kt, nil
}

// jsonError says where decoding went wrong without echoing the body.
func jsonError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		what := "the body"
		if typeErr.Field != "" {
			what = "field " + typeErr.Field
		}
		// Value is "number 1e309", "string", "array"...; a number's digits
		// are the client's and may be long.
		return fmt.Sprintf("%s must be %s, not %.30s", what, jsonKind(typeErr.Type), typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("%v (at byte %d)", err, syntaxErr.Offset)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body ends in the middle of a value"
	}
	return err.Error()
}

// jsonKind names a Go type as the JSON a client should send, rather than
// as our internal type names.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "an "), "a ") + "s"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	}
	return "a " + t.Kind().String()
}

// toRequest validates the request as the core defines a simple request.
// The subject is the outer one, the embedded one's stand-in.
func (sr *simpleRequest) toRequest() (*ca.Request, ca.KeyType, error) {
	r := sr.SimpleRequest
	r.Subject = sr.Subject.SimpleSubject
	return r.Request()
}
