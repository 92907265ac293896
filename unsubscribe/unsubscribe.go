// Package unsubscribe makes and checks the tokens in one-click unsubscribe links. A token
// names one recipient of one campaign and carries an HMAC over both, so that nobody can make
// a valid link for someone else's address, and a link says nothing readable about the person.
//
// A *Signer is immutable and safe for concurrent use.
package unsubscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// macLen is how many bytes of the HMAC a token keeps: 128 bits cannot be guessed, and the
// link stays short enough for mail clients that wrap long lines.
const macLen = 16

// ErrInvalid is returned for a token that was not made by this signer's key, or was altered.
var ErrInvalid = errors.New("unsubscribe: invalid token")

// Signer makes and checks tokens with a key derived from the data directory's secret.
type Signer struct {
	key []byte
}

// NewSigner derives the token key from secret. Deriving a key of its own keeps tokens
// unrelated to the suppression list's hashes, which use the same secret.
func NewSigner(secret []byte) *Signer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("leadmailer unsubscribe token v1"))
	return &Signer{key: m.Sum(nil)}
}

// Token returns the token for a recipient: lead leadID of campaign campaignID. A test
// message that goes to no lead uses leadID 0.
func (s *Signer) Token(campaignID, leadID int64) string {
	buf := make([]byte, 0, 2*binary.MaxVarintLen64+macLen)
	buf = binary.AppendUvarint(buf, uint64(campaignID))
	buf = binary.AppendUvarint(buf, uint64(leadID))
	buf = append(buf, s.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Parse checks a token and returns the campaign and lead it names.
func (s *Signer) Parse(token string) (campaignID, leadID int64, err error) {
	buf, err := base64.RawURLEncoding.DecodeString(token)
	// Decoding skips line breaks and ignores the unused bits of the last letter; only the
	// one spelling Token makes is accepted, so that a link cannot be varied and still count.
	if err != nil || len(buf) <= macLen || base64.RawURLEncoding.EncodeToString(buf) != token {
		return 0, 0, ErrInvalid
	}
	payload, mac := buf[:len(buf)-macLen], buf[len(buf)-macLen:]
	if !hmac.Equal(mac, s.mac(payload)) {
		return 0, 0, ErrInvalid
	}
	c, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0, 0, ErrInvalid
	}
	l, m := binary.Uvarint(payload[n:])
	if m <= 0 || n+m != len(payload) {
		return 0, 0, ErrInvalid
	}
	return int64(c), int64(l), nil
}

// URL returns the unsubscribe link for a recipient under publicURL, the base address in the
// configuration's public_url.
func (s *Signer) URL(publicURL string, campaignID, leadID int64) string {
	return strings.TrimRight(publicURL, "/") + "/u/" + s.Token(campaignID, leadID)
}

func (s *Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}
