// Package smtptest runs a real SMTP server in the test process, on 127.0.0.1 and a free
// port, that records every message it accepts and can be told to refuse, drop or stall
// chosen messages. It is built on github.com/emersion/go-smtp.
//
//	srv := smtptest.New(t)                                   // closed when the test ends
//	srv.FailRecipient("gone@example.com", smtptest.UserUnknown)
//	srv.FailMessage(3, smtptest.Drop)                         // the 3rd DATA of the run
//	tr, _ := mailer.Open(srv.URL(), mailer.Options{})
//	...
//	srv.CountMessageID("c1.l7@example.com")                   // deliveries of one message
//	_, peak, _ := srv.Conns()                                 // most connections open at once
//
// With WithTLS the server offers STARTTLS with a self-signed certificate and URL asks for
// starttls=required; pass ClientTLSConfig() as mailer.Options.TLSConfig so the client
// trusts it. Stalled() tells a test when the server starts holding a message unanswered,
// and CloseConns drops every connection as a restarting relay would.
//
// Faults: FailMail's Fault answers MAIL FROM, WithGreeting's the connection; a recipient's
// Fault with a Code is answered to RCPT TO; its Drop and Stall, and
// every FailMessage fault, apply after the message data is read, in place of the reply to
// DATA. A dropped message has been received by the server and is recorded (with Dropped
// set): the client cannot know, which is the case a sender must survive.
//
// All methods are safe for concurrent use.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Fault says how the server answers a message instead of accepting it.
type Fault struct {
	Code     int    // reply code, e.g. 451 or 550; 0 with Drop or Stall
	Enhanced string // enhanced status code, e.g. "5.1.1"
	Text     string // reply text
	Drop     bool   // close the connection after reading the data, without a reply
	Stall    bool   // never answer: the client must time out
	Times    int    // FailRecipient only: apply to the first Times messages to the recipient; 0 means always
	// Delay holds the reply (to DATA, or the fault's own reply) this long first: a slow
	// relay. With no Code, the message is then accepted.
	Delay time.Duration
}

// Common faults.
var (
	TempFail    = Fault{Code: 451, Enhanced: "4.3.0", Text: "Temporary failure, try again later"}
	Reject      = Fault{Code: 554, Enhanced: "5.7.1", Text: "Message refused"}
	UserUnknown = Fault{Code: 550, Enhanced: "5.1.1", Text: "User unknown"}
	Drop        = Fault{Drop: true}
	Stall       = Fault{Stall: true}
)

// Message is one message the server received.
type Message struct {
	From      string   // envelope sender
	To        []string // envelope recipients
	Data      []byte   // the message as received, CRLF line ends, dot-stuffing removed
	MessageID string   // the Message-ID header without angle brackets
	TLS       bool     // whether the connection was encrypted
	Dropped   bool     // the connection was dropped instead of a reply
}

// Option configures New.
type Option func(*Server)

// WithTLS makes the server offer STARTTLS with a self-signed certificate for 127.0.0.1;
// ClientTLSConfig returns a client configuration that trusts it.
func WithTLS() Option { return func(s *Server) { s.tls = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps://).
func WithImplicitTLS() Option { return func(s *Server) { s.tls, s.implicit = true, true } }

// WithoutPipelining makes the server leave PIPELINING (RFC 2920) out of its EHLO reply,
// like some older relays, so that a client sends one command at a time.
func WithoutPipelining() Option { return func(s *Server) { s.noPipelining = true } }

// WithGreeting makes the server greet every connection with f instead of 220, like a
// relay that refuses this client ("554 5.7.1 access denied").
func WithGreeting(f Fault) Option { return func(s *Server) { s.greeting = &f } }

// WithAuth makes the server require AUTH PLAIN with user and pass before MAIL.
func WithAuth(user, pass string) Option { return func(s *Server) { s.user, s.pass = user, pass } }

// Server is a running test server.
type Server struct {
	Addr string // host:port to connect to

	tls, implicit bool
	noPipelining  bool
	user, pass    string
	greeting      *Fault
	clientTLS     *tls.Config
	srv           *smtp.Server
	release       chan struct{} // closed at shutdown: stalled sessions return
	stalled       chan struct{} // receives a value when a session starts to stall

	mu         sync.Mutex
	msgs       []Message
	byID       map[string]int
	byRcpt     map[string]int
	rcptFaults map[string]*Fault
	nthFaults  map[int]Fault
	mailFault  *Fault // answers every MAIL FROM
	allFault   *Fault // answers every RCPT TO without a fault of its own
	datas      int    // DATA commands seen
	open, peak int
	total      int
	conns      map[*countingConn]struct{}
}

// New starts a server and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		release:    make(chan struct{}),
		stalled:    make(chan struct{}, 1000),
		byID:       map[string]int{},
		byRcpt:     map[string]int{},
		rcptFaults: map[string]*Fault{},
		nthFaults:  map[int]Fault{},
		conns:      map[*countingConn]struct{}{},
	}
	for _, o := range opts {
		o(s)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.localhost"
	srv.EnableSMTPUTF8 = true
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.clientTLS = &tls.Config{RootCAs: pool}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	var l net.Listener = &countingListener{Listener: ln, s: s}
	if s.implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	s.Addr = ln.Addr().String()
	s.srv = srv
	go srv.Serve(l)
	t.Cleanup(func() {
		close(s.release)
		srv.Close()
	})
	return s
}

// URL returns the transport URL for this server: smtp://127.0.0.1:PORT, with
// ?starttls=none unless the server offers TLS, and with the user and password of WithAuth.
func (s *Server) URL() string {
	scheme, query := "smtp", "?starttls=none"
	if s.tls {
		query = "?starttls=required"
	}
	if s.implicit {
		scheme, query = "smtps", ""
	}
	auth := ""
	if s.user != "" {
		auth = s.user + ":" + s.pass + "@"
	}
	return scheme + "://" + auth + s.Addr + query
}

// ClientTLSConfig returns a TLS configuration that trusts the server's certificate, or
// nil for a server without TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// FailRecipient makes the server answer messages to addr with f.
func (s *Server) FailRecipient(addr string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptFaults[strings.ToLower(addr)] = &f
}

// FailMail makes the server answer every MAIL FROM with f, as a relay does that refuses
// the sender; the zero Fault accepts senders again.
func (s *Server) FailMail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailFault = nil
	if f != (Fault{}) {
		s.mailFault = &f
	}
}

// FailAllRecipients makes the server answer every recipient that has no fault of its own
// with f, as a broken relay does; the zero Fault accepts them again.
func (s *Server) FailAllRecipients(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allFault = nil
	if f != (Fault{}) {
		s.allFault = &f
	}
}

// FailMessage makes the server answer the nth DATA command (1-based, counted over all
// connections) with f.
func (s *Server) FailMessage(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nthFaults[n] = f
}

// Stalled returns a channel that receives a value each time the server starts stalling a
// message: the message data has been read and no reply will come.
func (s *Server) Stalled() <-chan struct{} { return s.stalled }

// Messages returns a copy of the messages received so far, in order of arrival.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages the server received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// CountMessageID returns how many times a message with this Message-ID (without angle
// brackets) was received.
func (s *Server) CountMessageID(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// CountRecipient returns how many messages were received for addr.
func (s *Server) CountRecipient(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byRcpt[strings.ToLower(addr)]
}

// Conns returns the number of connections open now, the most that were open at once, and
// how many were accepted in all.
func (s *Server) Conns() (open, peak, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.peak, s.total
}

// CloseConns closes every open connection without a word, as a relay does that restarts
// or drops idle clients. The server keeps accepting new connections.
func (s *Server) CloseConns() {
	s.mu.Lock()
	conns := make([]*countingConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// countingListener counts connections as they are accepted and closed.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.open++
	l.s.total++
	l.s.peak = max(l.s.peak, l.s.open)
	l.s.conns[cc] = struct{}{}
	l.s.mu.Unlock()
	return cc, nil
}

type countingConn struct {
	net.Conn
	s       *Server
	once    sync.Once
	greeted bool // the first write, the greeting, has gone out
}

// pipeliningLine is the EHLO reply line go-smtp always writes.
var pipeliningLine = []byte("250-PIPELINING\r\n")

// Write removes the PIPELINING line from the EHLO reply for WithoutPipelining; go-smtp
// writes each reply in one piece and offers no setting for it.
func (c *countingConn) Write(p []byte) (int, error) {
	if f := c.s.greeting; f != nil && !c.greeted {
		// go-smtp always greets with 220, in the connection's first write.
		c.greeted = true
		line := fmt.Sprintf("%d %s %s\r\n", f.Code, f.Enhanced, f.Text)
		if _, err := c.Conn.Write([]byte(line)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if c.s.noPipelining {
		if i := bytes.Index(p, pipeliningLine); i >= 0 {
			q := append(append([]byte(nil), p[:i]...), p[i+len(pipeliningLine):]...)
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

func (c *countingConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.open--
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// session is one SMTP connection's state.
type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
	fault  *Fault // from a recipient, applied after DATA
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

func (se *session) AuthMechanisms() []string {
	if se.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != se.s.user || pass != se.s.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed"}
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.user != "" && !se.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	se.s.mu.Lock()
	f := se.s.mailFault
	se.s.mu.Unlock()
	if f != nil {
		select {
		case <-time.After(f.Delay):
		case <-se.s.release:
		}
		if f.Code != 0 {
			return f.smtpError()
		}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	f := se.s.take(strings.ToLower(to))
	if f != nil && f.Code != 0 {
		return f.smtpError()
	}
	if f != nil {
		se.fault = f
	}
	se.to = append(se.to, to)
	return nil
}

// take returns a copy of the fault set for recipient rcpt if it still applies, and counts
// one use of it; nil otherwise.
func (s *Server) take(rcpt string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.rcptFaults[rcpt]
	if f == nil {
		f = s.allFault
	}
	if f == nil || f.Times < 0 {
		return nil
	}
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			f.Times = -1 // used up
		}
	}
	c := *f
	return &c
}

func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := se.s
	s.mu.Lock()
	s.datas++
	f := se.fault
	if nf, ok := s.nthFaults[s.datas]; ok {
		f = &nf
	}
	s.mu.Unlock()
	if f != nil && f.Stall {
		select {
		case s.stalled <- struct{}{}:
		default:
		}
		<-s.release
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Stalled"}
	}
	if f != nil && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-s.release:
		}
	}
	if f != nil && f.Code != 0 {
		return f.smtpError()
	}
	_, isTLS := se.conn.TLSConnectionState()
	m := Message{From: se.from, To: append([]string(nil), se.to...), Data: data, TLS: isTLS,
		Dropped: f != nil && f.Drop}
	if pm, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		m.MessageID = strings.Trim(pm.Header.Get("Message-Id"), "<> ")
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.byID[m.MessageID]++
	for _, to := range m.To {
		s.byRcpt[strings.ToLower(to)]++
	}
	s.mu.Unlock()
	if m.Dropped {
		se.conn.Conn().Close()
		return errors.New("smtptest: connection dropped")
	}
	return nil
}

func (se *session) Reset() {
	se.from, se.to, se.fault = "", nil, nil
}

func (se *session) Logout() error { return nil }

func (f *Fault) smtpError() error {
	var ec smtp.EnhancedCode
	if _, err := fmt.Sscanf(f.Enhanced, "%d.%d.%d", &ec[0], &ec[1], &ec[2]); err != nil {
		ec = smtp.NoEnhancedCode
	}
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: ec, Message: f.Text}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
