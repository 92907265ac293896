package campaign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// messageIDHash is the keyed hash in a campaign message's Message-ID: it makes the ID
// unguessable, and lets ParseMessageID tell a real one from a forged one.
func messageIDHash(key []byte, campaignID, leadID int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d.%d", campaignID, leadID)
	return hex.EncodeToString(m.Sum(nil)[:5])
}

// ParseMessageID returns the campaign and lead that a Message-ID made by Builder.MessageID
// (without angle brackets) names. ok is false for any other ID, and for one whose hash does
// not verify under key: a bounce that quotes a forged Message-ID names nobody.
func ParseMessageID(key []byte, id string) (campaignID, leadID int64, ok bool) {
	local, _, found := strings.Cut(id, "@")
	if !found {
		return 0, 0, false
	}
	parts := strings.Split(local, ".")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "c") || !strings.HasPrefix(parts[1], "l") {
		return 0, 0, false
	}
	c, err1 := strconv.ParseInt(parts[0][1:], 10, 64)
	l, err2 := strconv.ParseInt(parts[1][1:], 10, 64)
	if err1 != nil || err2 != nil || c <= 0 || l <= 0 {
		return 0, 0, false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(messageIDHash(key, c, l))) {
		return 0, 0, false
	}
	return c, l, true
}
