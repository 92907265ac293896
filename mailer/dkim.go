package mailer

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"

	"github.com/leadmailer/leadmailer"
)

// ParseDKIMKey reads a PEM private key for DKIM signing: "RSA PRIVATE KEY" (PKCS #1, as
// openssl genrsa writes) or "PRIVATE KEY" (PKCS #8, RSA or Ed25519, as openssl genpkey
// writes). RSA keys must have at least 1024 bits; 2048 is the usual size.
func ParseDKIMKey(pemData []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "DKIM key: no PEM block found; the file should start with -----BEGIN PRIVATE KEY-----")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "DKIM key: a %q block is not a private key; use \"PRIVATE KEY\" or \"RSA PRIVATE KEY\"", block.Type)
	}
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "DKIM key: %v", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "DKIM key: RSA key of %d bits is too short; use 2048", k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, leadmailer.Errorf(leadmailer.EINVALID, "DKIM key: a %T key cannot sign DKIM; use RSA or Ed25519", key)
}
