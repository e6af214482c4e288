package etcdstore

import (
	"bytes"
	"fmt"

	"certmaker/storage"
)

// again is PutACMECertificate for an order that has a certificate: if it
// is this very certificate (its serial and DER: a commit whose answer was
// lost, or whose name entries were left unfinished, stored again), its
// name entries are all written again after, as PutCertificate does, and
// the call succeeds; any other certificate is ErrExists. (Its sealed key
// differs: every seal has a nonce of its own.)
func (w *certWrite) again(t *tx, o *storage.ACMEOrder, rest *[]string) error {
	exists := fmt.Errorf("ACME order %s has a certificate: %w", o.ID, storage.ErrExists)
	if o.Serial.Cmp(w.c.Serial) != 0 {
		return exists
	}
	var stored storage.Certificate
	if err := getCertificate(t, w.c.Serial, &stored); err != nil {
		return err
	}
	if !bytes.Equal(stored.DER, w.c.DER) {
		return exists
	}
	*rest = w.names
	return nil
}
