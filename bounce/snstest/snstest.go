// Package snstest stands in for Amazon SNS in tests of the SES webhook: an HTTPS server that
// serves a signing certificate and the subscription-confirmation link, and messages signed
// with the certificate's key as SNS signs them (signature version 2).
package snstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/bounce"
)

// Topic is the topic ARN the server's messages name.
const Topic = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"

// Server is a stand-in SNS, closed when the test ends.
type Server struct {
	*httptest.Server
	key       *rsa.PrivateKey
	confirmed atomic.Int32
}

// New starts a stand-in SNS.
func New(t testing.TB) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{key: key}
	signing := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") == "ConfirmSubscription" {
			s.confirmed.Add(1)
			return
		}
		w.Write(signing)
	}))
	t.Cleanup(s.Close)
	return s
}

// Confirmed is how many times the subscription-confirmation link was visited.
func (s *Server) Confirmed() int { return int(s.confirmed.Load()) }

// CAPEM is the HTTPS server's certificate in PEM, for a client that is to trust it.
func (s *Server) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// Message is an SNS delivery of type typ ("Notification" or "SubscriptionConfirmation")
// carrying message, signed with signature version 2.
func (s *Server) Message(t testing.TB, typ, message string) []byte {
	t.Helper()
	m := bounce.SNSMessage{Type: typ, MessageID: fmt.Sprint(time.Now().UnixNano()), TopicArn: Topic, Message: message,
		Timestamp: "2026-12-06T10:12:04.000Z", SignatureVersion: "2", SigningCertURL: s.URL + "/cert.pem"}
	signed := "Message\n" + m.Message + "\nMessageId\n" + m.MessageID + "\n"
	if typ == "SubscriptionConfirmation" {
		m.Token, m.SubscribeURL = "tok", s.URL+"/?Action=ConfirmSubscription&Token=tok"
		signed += "SubscribeURL\n" + m.SubscribeURL + "\nTimestamp\n" + m.Timestamp + "\nToken\n" + m.Token + "\n"
	} else {
		signed += "Timestamp\n" + m.Timestamp + "\n"
	}
	signed += "TopicArn\n" + m.TopicArn + "\nType\n" + m.Type + "\n"
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
