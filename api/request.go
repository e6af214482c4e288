package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"certmaker/ca"
)

// maxBody bounds every request body the API reads.
const maxBody = 64 << 10

// simpleRequest is the JSON body of /certificate/request. Unknown fields are
// ignored, as older clients send extra ones.
type simpleRequest struct {
	Domains        []string      `json:"domains"`
	IPs            []string      `json:"ips"`
	EmailAddresses []string      `json:"email_addresses"`
	Subject        subjectFields `json:"subject"`
	Days           int           `json:"days"`
	KeyType        string        `json:"key_type"`
}

type subjectFields struct {
	CommonName    string `json:"common_name"`
	Organization  string `json:"organization"`
	Country       string `json:"country"`
	Province      string `json:"province"`
	Locality      string `json:"locality"`
	StreetAddress string `json:"street_address"`
	PostalCode    string `json:"postal_code"`
}

// readBody reads at most maxBody bytes; more is errTooLarge.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
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
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&sr); err != nil {
		return nil, nil, "", badRequest("malformed JSON: %v", jsonError(err))
	}
	if dec.More() {
		return nil, nil, "", badRequest("malformed JSON: more than one value in the body")
	}
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
		return "field " + typeErr.Field + " must be " + typeErr.Type.String()
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	return err.Error()
}

func (sr *simpleRequest) toRequest() (*ca.Request, ca.KeyType, error) {
	kt, err := ca.ParseKeyType(sr.KeyType)
	if err != nil {
		return nil, "", err
	}
	req := &ca.Request{
		DNSNames: sr.Domains,
		Emails:   sr.EmailAddresses,
		Days:     sr.Days,
		Subject: ca.Subject{
			CommonName:    sr.Subject.CommonName,
			Organization:  sr.Subject.Organization,
			Country:       sr.Subject.Country,
			Province:      sr.Subject.Province,
			Locality:      sr.Subject.Locality,
			StreetAddress: sr.Subject.StreetAddress,
			PostalCode:    sr.Subject.PostalCode,
		},
	}
	for _, s := range sr.IPs {
		a, err := ca.NormalizeIP(s)
		if err != nil {
			return nil, "", err
		}
		req.IPs = append(req.IPs, a)
	}
	if err := req.Normalize(); err != nil {
		return nil, "", err
	}
	return req, kt, nil
}
