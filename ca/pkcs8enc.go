package ca

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// An offline root's key is kept in a standard file: PKCS#8
// EncryptedPrivateKeyInfo (RFC 5958) under PBES2 (RFC 8018), with PBKDF2
// over HMAC-SHA256 and AES-256-CBC, in an "ENCRYPTED PRIVATE KEY" PEM
// block, the form `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes and reads.
// Reading also takes HMAC-SHA1 and AES-128-CBC, which other tools write.

// ErrPassphrase means a passphrase does not open an encrypted key.
var ErrPassphrase = errors.New("the passphrase does not open the key")

// pbkdf2Iterations follows OWASP's advice for PBKDF2-HMAC-SHA256 (2023):
// a quarter of a second here, paid once per command that needs the root.
const pbkdf2Iterations = 600_000

var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type algorithm struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm algorithm
	Data      []byte
}

type pbes2Params struct {
	KeyDerivationFunc algorithm
	EncryptionScheme  algorithm
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int       `asn1:"optional"`
	PRF        algorithm `asn1:"optional"`
}

// EncryptKeyPEM encrypts a PKCS#8 DER key with passphrase.
func EncryptKeyPEM(pkcs8, passphrase []byte) ([]byte, error) {
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	key, err := pbkdf2.Key(sha256.New, string(passphrase), salt, pbkdf2Iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(pkcs8)%aes.BlockSize
	data := append(bytes.Clone(pkcs8), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)

	null := asn1.RawValue{Tag: asn1.TagNull}
	kdf, err := asn1.Marshal(pbkdf2Params{Salt: salt, Iterations: pbkdf2Iterations, KeyLength: 32,
		PRF: algorithm{Algorithm: oidHMACWithSHA256, Parameters: null}})
	if err != nil {
		return nil, err
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: algorithm{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		EncryptionScheme:  algorithm{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm: algorithm{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		Data:      data,
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

// DecryptKeyPEM opens an "ENCRYPTED PRIVATE KEY" PEM with passphrase and
// returns the PKCS#8 DER; ErrPassphrase when the passphrase is not its.
func DecryptKeyPEM(b, passphrase []byte) ([]byte, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("not an encrypted private key (PEM \"ENCRYPTED PRIVATE KEY\")")
	}
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(blk.Bytes, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("decoding the encrypted key: %v", err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("the key is encrypted with %v, not PBES2", info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("decoding PBES2 parameters: %w", err)
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("key derivation %v is not PBKDF2", params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("decoding PBKDF2 parameters: %w", err)
	}
	// A file can ask for any work: bound it, so a crafted one cannot hang.
	if kdf.Iterations < 1 || kdf.Iterations > 10_000_000 {
		return nil, fmt.Errorf("PBKDF2 iteration count %d is out of range", kdf.Iterations)
	}
	var prf func() hash.Hash
	switch {
	case kdf.PRF.Algorithm == nil, kdf.PRF.Algorithm.Equal(oidHMACWithSHA1):
		prf = sha1.New
	case kdf.PRF.Algorithm.Equal(oidHMACWithSHA256):
		prf = sha256.New
	default:
		return nil, fmt.Errorf("PBKDF2 PRF %v is not supported", kdf.PRF.Algorithm)
	}
	var keyLen int
	switch {
	case params.EncryptionScheme.Algorithm.Equal(oidAES256CBC):
		keyLen = 32
	case params.EncryptionScheme.Algorithm.Equal(oidAES128CBC):
		keyLen = 16
	default:
		return nil, fmt.Errorf("cipher %v is not supported (want AES-CBC)", params.EncryptionScheme.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, errors.New("the cipher's IV is not 16 bytes")
	}
	if len(info.Data) == 0 || len(info.Data)%aes.BlockSize != 0 {
		return nil, errors.New("the encrypted key is not whole blocks")
	}
	key, err := pbkdf2.Key(prf, string(passphrase), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("deriving the key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	data := bytes.Clone(info.Data)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(data, data)
	pad := int(data[len(data)-1])
	if pad < 1 || pad > aes.BlockSize || subtle.ConstantTimeCompare(data[len(data)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) != 1 {
		return nil, ErrPassphrase
	}
	der := data[:len(data)-pad]
	// A wrong passphrase can leave valid-looking padding by chance; the
	// key must parse too.
	if _, err := ParseKey(der); err != nil {
		return nil, ErrPassphrase
	}
	return der, nil
}
