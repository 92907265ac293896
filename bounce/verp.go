package bounce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
)

// verpMACLen is how many bytes of the HMAC an address keeps. A forger must guess it online,
// one SMTP transaction per try, so 80 bits is out of reach, and the local part stays well under
// the 64 characters RFC 5321 allows.
const verpMACLen = 10

// verpEncoding is lower-case base32 without padding: some relays lower-case local parts, and
// base32 survives that where base64 would not.
var verpEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrInvalidAddress is returned for a return path that this signer did not make, or that was
// altered on the way.
var ErrInvalidAddress = errors.New("bounce: not a valid return path")

// Signer makes and checks per-recipient return paths (VERP): local+token@domain, where the
// token names a campaign and a lead and carries an HMAC over both. A bounce that comes back to
// such an address names its recipient exactly, whatever the bounce's own text says, and no one
// can make a valid address for a recipient without the key.
//
// A *Signer is immutable and safe for concurrent use.
type Signer struct {
	key    []byte
	local  string
	domain string
}

// NewSigner derives the address key from the data directory's secret. local is the part
// before the '+' (such as "bounces") and domain the bounce domain.
func NewSigner(secret []byte, local, domain string) *Signer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("leadmailer bounce address v1"))
	return &Signer{key: m.Sum(nil), local: local, domain: strings.ToLower(domain)}
}

// Domain returns the bounce domain the signer's addresses are in.
func (s *Signer) Domain() string { return s.domain }

// Address returns the return path for lead leadID of campaign campaignID. A test message,
// which goes to no lead, uses leadID 0.
func (s *Signer) Address(campaignID, leadID int64) string {
	buf := make([]byte, 0, 2*binary.MaxVarintLen64+verpMACLen)
	buf = binary.AppendUvarint(buf, uint64(campaignID))
	buf = binary.AppendUvarint(buf, uint64(leadID))
	buf = append(buf, s.mac(buf)...)
	return s.local + "+" + verpEncoding.EncodeToString(buf) + "@" + s.domain
}

// Parse checks a return path and returns the campaign and lead it names. The comparison of
// the local part before '+' and of the domain ignores case, as mail systems may change it.
func (s *Signer) Parse(address string) (campaignID, leadID int64, err error) {
	address = strings.Trim(strings.TrimSpace(address), "<>")
	at := strings.LastIndexByte(address, '@')
	if at < 0 || !strings.EqualFold(address[at+1:], s.domain) {
		return 0, 0, ErrInvalidAddress
	}
	local := address[:at]
	plus := strings.IndexByte(local, '+')
	if plus < 0 || !strings.EqualFold(local[:plus], s.local) {
		return 0, 0, ErrInvalidAddress
	}
	token := strings.ToLower(local[plus+1:])
	buf, err := verpEncoding.DecodeString(token)
	// Decoding ignores the unused bits of the last letter; only the one spelling Address
	// makes is accepted, so that a token cannot be varied and still count.
	if err != nil || len(buf) <= verpMACLen || verpEncoding.EncodeToString(buf) != token {
		return 0, 0, ErrInvalidAddress
	}
	payload, mac := buf[:len(buf)-verpMACLen], buf[len(buf)-verpMACLen:]
	if !hmac.Equal(mac, s.mac(payload)) {
		return 0, 0, ErrInvalidAddress
	}
	c, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0, 0, ErrInvalidAddress
	}
	l, m := binary.Uvarint(payload[n:])
	if m <= 0 || n+m != len(payload) {
		return 0, 0, ErrInvalidAddress
	}
	return int64(c), int64(l), nil
}

func (s *Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)[:verpMACLen]
}
