package publicweb

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Errors of ConfirmSigner.Parse.
var (
	// ErrInvalidToken is a token this signer's key did not make, or an altered one.
	ErrInvalidToken = errors.New("consent confirmation: invalid token")
	// ErrExpiredToken is a genuine token whose time is over.
	ErrExpiredToken = errors.New("consent confirmation: expired token")
)

// confirmMACLen is how many bytes of the HMAC a token keeps, as in unsubscribe tokens: 128
// bits cannot be guessed, and the link stays short.
const confirmMACLen = 16

// ConfirmSigner makes and checks the tokens in the links that confirm a marketing consent
// asked for on the website. A token names one consent request and when the link expires,
// with an HMAC over both, so that nobody can confirm a consent for someone else's address.
//
// A *ConfirmSigner is immutable and safe for concurrent use.
type ConfirmSigner struct {
	key []byte
}

// NewConfirmSigner derives the token key from secret, the data directory's secret key. A key
// of its own keeps these tokens unrelated to unsubscribe tokens and suppression hashes, which
// use the same secret: an unsubscribe token can never pass as a confirmation.
func NewConfirmSigner(secret []byte) *ConfirmSigner {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("leadmailer consent confirmation token v1"))
	return &ConfirmSigner{key: m.Sum(nil)}
}

// Token returns the token confirming consent request requestID, valid until expires.
func (s *ConfirmSigner) Token(requestID int64, expires time.Time) string {
	buf := make([]byte, 0, 2*binary.MaxVarintLen64+confirmMACLen)
	buf = binary.AppendUvarint(buf, uint64(requestID))
	buf = binary.AppendUvarint(buf, uint64(expires.Unix()))
	buf = append(buf, s.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Parse checks a token and returns the consent request it names. A genuine token past its
// time is ErrExpiredToken; anything else wrong is ErrInvalidToken.
func (s *ConfirmSigner) Parse(token string, now time.Time) (int64, error) {
	buf, err := base64.RawURLEncoding.DecodeString(token)
	// Decoding skips line breaks and ignores the unused bits of the last letter; only the
	// one spelling Token makes is accepted, so that a link cannot be varied and still count.
	if err != nil || len(buf) <= confirmMACLen || base64.RawURLEncoding.EncodeToString(buf) != token {
		return 0, ErrInvalidToken
	}
	payload, mac := buf[:len(buf)-confirmMACLen], buf[len(buf)-confirmMACLen:]
	if !hmac.Equal(mac, s.mac(payload)) {
		return 0, ErrInvalidToken
	}
	id, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0, ErrInvalidToken
	}
	exp, m := binary.Uvarint(payload[n:])
	if m <= 0 || n+m != len(payload) {
		return 0, ErrInvalidToken
	}
	if now.Unix() > int64(exp) {
		return 0, ErrExpiredToken
	}
	return int64(id), nil
}

func (s *ConfirmSigner) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)[:confirmMACLen]
}
