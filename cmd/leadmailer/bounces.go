package main

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/config"
)

// deriveKey derives a key for one purpose from the data directory's secret key, so that
// no two uses share a key.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// messageIDKey keys the hash in campaign Message-IDs.
func messageIDKey(secret []byte) []byte { return deriveKey(secret, "leadmailer message-id v1") }

// returnPathSigner makes the per-recipient envelope senders of [bounces] domain, or is nil
// when no bounce domain is configured.
func returnPathSigner(cfg *config.Config, secret []byte) *bounce.Signer {
	if cfg.Bounces.Domain == "" {
		return nil
	}
	return bounce.NewSigner(deriveKey(secret, "leadmailer return path v1"), cfg.Bounces.Local, cfg.Bounces.Domain)
}
