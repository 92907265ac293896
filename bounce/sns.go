package bounce

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// SNSMessage is an Amazon SNS HTTP(S) delivery: a notification (whose Message is the SES
// notification) or a subscription confirmation.
type SNSMessage struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL"`
}

// ParseSNS reads an SNS delivery without checking it; call SNSVerifier.Verify before
// trusting anything in it.
func ParseSNS(body []byte) (*SNSMessage, error) {
	var m SNSMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("bounce: SNS message: %w", err)
	}
	return &m, nil
}

// snsHost is the only kind of host SNS signing certificates and subscription links come
// from; a message naming any other is forged.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// SNSVerifier checks SNS signatures with the signing certificate the message names, fetched
// over HTTPS from an SNS host only and kept for later messages.
type SNSVerifier struct {
	// Client fetches certificates; nil means http.DefaultClient.
	Client *http.Client
	// AllowHost reports whether a certificate or subscription URL's host is SNS's; nil
	// means the amazonaws.com SNS hosts. Tests that serve their own certificate set it.
	AllowHost func(host string) bool
	// TopicARNs, when not empty, are the only topics whose messages are accepted, so that
	// another AWS account's topic cannot post to the endpoint.
	TopicARNs []string

	mu    sync.Mutex
	certs map[string]*x509.Certificate
}

// Verify checks m's signature and topic.
func (v *SNSVerifier) Verify(ctx context.Context, m *SNSMessage) error {
	if len(v.TopicARNs) > 0 && !contains(v.TopicARNs, m.TopicArn) {
		return fmt.Errorf("%w: topic %q is not configured", ErrSignature, m.TopicArn)
	}
	var fields []string
	switch m.Type {
	case "Notification":
		fields = []string{"Message", m.Message, "MessageId", m.MessageID}
		if m.Subject != "" {
			fields = append(fields, "Subject", m.Subject)
		}
		fields = append(fields, "Timestamp", m.Timestamp, "TopicArn", m.TopicArn, "Type", m.Type)
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		fields = []string{"Message", m.Message, "MessageId", m.MessageID, "SubscribeURL", m.SubscribeURL,
			"Timestamp", m.Timestamp, "Token", m.Token, "TopicArn", m.TopicArn, "Type", m.Type}
	default:
		return fmt.Errorf("%w: unknown SNS message type %q", ErrSignature, m.Type)
	}
	var signed strings.Builder
	for _, f := range fields {
		signed.WriteString(f)
		signed.WriteByte('\n')
	}
	var hash crypto.Hash
	var digest []byte
	switch m.SignatureVersion {
	case "1":
		sum := sha1.Sum([]byte(signed.String()))
		hash, digest = crypto.SHA1, sum[:]
	case "2":
		sum := sha256.Sum256([]byte(signed.String()))
		hash, digest = crypto.SHA256, sum[:]
	default:
		return fmt.Errorf("%w: unknown SNS signature version %q", ErrSignature, m.SignatureVersion)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return ErrSignature
	}
	cert, err := v.cert(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: signing certificate has no RSA key", ErrSignature)
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return ErrSignature
	}
	return nil
}

// CheckURL reports whether a SubscribeURL may be visited: https on an SNS host.
func (v *SNSVerifier) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !v.allowHost(u.Hostname()) {
		return fmt.Errorf("%w: %q is not an https URL of an SNS host", ErrSignature, raw)
	}
	return nil
}

func (v *SNSVerifier) allowHost(host string) bool {
	if v.AllowHost != nil {
		return v.AllowHost(host)
	}
	return snsHost.MatchString(host)
}

func (v *SNSVerifier) cert(ctx context.Context, raw string) (*x509.Certificate, error) {
	if err := v.CheckURL(raw); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(raw, ".pem") {
		return nil, fmt.Errorf("%w: signing certificate URL %q is not a .pem file", ErrSignature, raw)
	}
	v.mu.Lock()
	c := v.certs[raw]
	v.mu.Unlock()
	if c != nil {
		return c, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, err
	}
	client := v.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bounce: fetch SNS signing certificate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bounce: fetch SNS signing certificate %s: %s", raw, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("bounce: fetch SNS signing certificate: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("bounce: SNS signing certificate is not PEM")
	}
	c, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("bounce: SNS signing certificate: %w", err)
	}
	v.mu.Lock()
	if v.certs == nil || len(v.certs) > 100 {
		v.certs = map[string]*x509.Certificate{}
	}
	v.certs[raw] = c
	v.mu.Unlock()
	return c, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
