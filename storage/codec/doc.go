// Package codec is the encoding of certmaker's records in storage, the
// same for every backend: certificates (the bulk of the data, and read on
// every OCSP answer) in a compact versioned binary form, every other
// record as JSON in a versioned envelope. Decoding copies: the result is
// safe to keep after the bytes it came from are gone (a bbolt value is
// valid only inside its transaction).
package codec
