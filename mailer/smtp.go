package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// smtpTransport sends over a pool of at most Concurrency SMTP connections. One go-mail
// Client holds the configuration (host, TLS policy, authentication) and dials each pooled
// connection as its own smtp.Client; a connection is kept for the next message after a
// successful one, with neither NOOP nor RSET in between (a completed transaction leaves the
// session ready for the next MAIL). After a refused message the connection is reset with
// RSET, and after a network error or a timeout it is closed. When the server offers
// PIPELINING, MAIL, RCPT and DATA go out in one write (see transactPipelined).
type smtpTransport struct {
	cfg      smtpConfig
	client   *mail.Client
	tlsConf  *tls.Config
	dialer   net.Dialer
	timeout  time.Duration // connecting
	timeouts Timeouts      // each step of the exchange
	dkim     *DKIM
	addrs    addrCache
	// sem holds a token per connection in use, at most Concurrency; idle holds the open
	// connections nobody uses, the most recently used last (reused first).
	sem       chan struct{}
	mu        sync.Mutex
	idle      []*smtpConn
	done      chan struct{}
	closeOnce sync.Once
}

// smtpConn is one pooled connection.
type smtpConn struct {
	c          *smtp.Client
	raw        net.Conn // the TCP connection under any TLS, for deadlines and cancellation
	pipelining bool     // the server offers PIPELINING (RFC 2920)
	smtputf8   bool     // the server offers SMTPUTF8 (RFC 6531)
}

// rawConnKey carries, through go-mail's dialing, where the dial function stores the
// connection it made.
type rawConnKey struct{}

func newSMTP(cfg smtpConfig, opts Options) (*smtpTransport, error) {
	opts.Timeouts.defaults()
	t := &smtpTransport{
		cfg:      cfg,
		timeout:  opts.Timeout,
		timeouts: opts.Timeouts,
		dkim:     opts.DKIM,
		sem:      make(chan struct{}, opts.Concurrency),
		done:     make(chan struct{}),
		dialer:   net.Dialer{Timeout: opts.Timeout},
	}
	if opts.TLSConfig != nil {
		t.tlsConf = opts.TLSConfig.Clone()
	} else {
		t.tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.tlsConf.ServerName = cfg.host
	mopts := []mail.Option{
		mail.WithPort(cfg.port),
		// go-mail's timeout bounds the dial and then everything up to a ready session:
		// greeting, EHLO, STARTTLS, AUTH. The dialer's own bounds the TCP connection.
		mail.WithTimeout(opts.Timeouts.Greeting),
		mail.WithTLSConfig(t.tlsConf),
		mail.WithDialContextFunc(t.dial),
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	switch {
	case cfg.implicitTLS:
		// t.dial makes the TLS connection; go-mail then sees a *tls.Conn and treats
		// the session as encrypted, and no STARTTLS is offered over it.
		mopts = append(mopts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case cfg.starttls == "required":
		mopts = append(mopts, mail.WithTLSPolicy(mail.TLSMandatory))
	case cfg.starttls == "none":
		mopts = append(mopts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		mopts = append(mopts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if opts.HelloName != "" {
		mopts = append(mopts, mail.WithHELO(opts.HelloName))
	}
	if cfg.user != "" {
		// go-mail's discovery picks the strongest mechanism the server offers and
		// never sends a password in the clear. A relay on this machine reached with
		// starttls=none gets PLAIN, which go-mail allows only to localhost.
		auth := mail.SMTPAuthAutoDiscover
		if cfg.starttls == "none" && isLoopback(cfg.host) {
			auth = mail.SMTPAuthPlain
		}
		mopts = append(mopts, mail.WithSMTPAuth(auth),
			mail.WithUsername(cfg.user), mail.WithPassword(cfg.pass))
	}
	c, err := mail.NewClient(cfg.host, mopts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP %s: %w", cfg, err)
	}
	t.client = c
	return t, nil
}

// dial is go-mail's dial function: it connects, does the TLS handshake for smtps://,
// and records the TCP connection for Send.
func (t *smtpTransport) dial(ctx context.Context, network, address string) (net.Conn, error) {
	raw, err := t.dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if slot, ok := ctx.Value(rawConnKey{}).(*net.Conn); ok {
		*slot = raw
	}
	if !t.cfg.implicitTLS {
		return raw, nil
	}
	tc := tls.Client(raw, t.tlsConf)
	hctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// isLoopback reports whether host names this machine, as go-mail's PLAIN checks it.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (t *smtpTransport) String() string { return t.cfg.String() }

// connect opens a new pooled connection: TCP, EHLO, TLS and AUTH as configured.
func (t *smtpTransport) connect(ctx context.Context) (*smtpConn, error) {
	var raw net.Conn
	c, err := t.client.DialToSMTPClientWithContext(context.WithValue(ctx, rawConnKey{}, &raw))
	if err != nil {
		if raw != nil {
			raw.Close()
		}
		return nil, err
	}
	cn := &smtpConn{c: c, raw: raw}
	cn.pipelining, _ = c.Extension("PIPELINING")
	cn.smtputf8, _ = c.Extension("SMTPUTF8")
	return cn, nil
}

// close ends a connection: QUIT when it is healthy, else just closing the socket.
func (cn *smtpConn) close(quit bool) {
	if quit {
		cn.raw.SetDeadline(time.Now().Add(time.Second))
		if cn.c.Quit() == nil {
			return
		}
	}
	cn.raw.Close()
}

// Send builds m and sends it over a pooled connection.
func (t *smtpTransport) Send(ctx context.Context, m *Message) (string, error) {
	buf := getBuf()
	defer putBuf(buf)
	b, env, err := appendMessage(*buf, m, t.dkim, &t.addrs)
	*buf = b
	if err != nil {
		return "", err
	}

	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", classify("connect", ctx.Err())
	case <-t.done:
		return "", errClosed()
	}
	select {
	case <-t.done:
		<-t.sem
		return "", errClosed()
	default:
	}
	var cn *smtpConn
	t.mu.Lock()
	if n := len(t.idle); n > 0 {
		cn = t.idle[n-1]
		t.idle = t.idle[:n-1]
	}
	t.mu.Unlock()
	keep := false
	defer func() {
		if cn != nil {
			if keep {
				t.mu.Lock()
				t.idle = append(t.idle, cn)
				t.mu.Unlock()
			} else {
				cn.close(false)
			}
		}
		<-t.sem
	}()

	// A reused connection may have been closed by the server while idle (an idle
	// timeout, a restart). That shows as a failure at MAIL without a reply, or with 421;
	// nothing of the message was sent yet, so it is safe to retry once on a new one.
	reused := cn != nil
	for {
		if cn == nil {
			if cn, err = t.connect(ctx); err != nil {
				return "", classify("connect", fmt.Errorf("%s: %w", t.cfg, err))
			}
		}
		reply, se, interrupted := t.attempt(ctx, cn, b, env)
		if se == nil {
			keep = !interrupted
			return reply, nil
		}
		if reused && !interrupted && se.Stage == "MAIL" && (se.Code == 0 || se.Code == 421) {
			cn.close(false)
			cn, reused = nil, false
			continue
		}
		// A refusal leaves the connection usable once the transaction is reset.
		keep = !interrupted && se.Code != 0 && se.Code != 421 && cn.c.Reset() == nil
		return "", se
	}
}

// attempt runs one transaction on cn, each step within its timeout, and reports whether
// ctx interrupted it.
func (t *smtpTransport) attempt(ctx context.Context, cn *smtpConn, b []byte, env envelope) (string, *SendError, bool) {
	st := &step{raw: cn.raw, to: &t.timeouts}
	st.limit, _ = ctx.Deadline()
	// Cancelling ctx interrupts a transaction in progress by expiring the deadline; the
	// connection is then in an unknown state and is closed.
	stop := context.AfterFunc(ctx, st.cancel)
	var reply, stage string
	var err error
	if cn.pipelining {
		reply, stage, err = transactPipelined(cn, st, b, env)
	} else {
		reply, stage, err = transact(cn.c, st, b, env)
	}
	interrupted := !stop()
	if err == nil {
		return reply, nil, interrupted
	}
	se := classify(stage, err)
	// The whole message went out and no reply came in time: the server may have accepted
	// it. A reply (even a refusal) or a closed connection says more, and is not this case.
	var ne net.Error
	se.Unknown = stage == stageDataEnd && errors.As(err, &ne) && ne.Timeout()
	if interrupted {
		se.Temporary = true
		se.Err = errors.Join(ctx.Err(), err)
	}
	return "", se, interrupted
}

// stageDataEnd is the stage of the reply to a message's final dot.
const stageDataEnd = "end of data"

// step sets the connection's deadline for each step of a transaction.
type step struct {
	raw       net.Conn
	to        *Timeouts
	limit     time.Time // the caller's deadline, or zero
	cancelled atomic.Bool
}

// expect gives the next step d to complete, or less when the caller's deadline comes first;
// after cancel, every deadline is in the past.
func (s *step) expect(d time.Duration) {
	deadline := time.Now().Add(d)
	if !s.limit.IsZero() && s.limit.Before(deadline) {
		deadline = s.limit
	}
	s.raw.SetDeadline(deadline)
	if s.cancelled.Load() {
		s.raw.SetDeadline(time.Unix(1, 0))
	}
}

func (s *step) cancel() {
	s.cancelled.Store(true)
	s.raw.SetDeadline(time.Unix(1, 0))
}

// transact runs one mail transaction a command at a time and returns the server's
// final reply, or the stage that failed and its error.
func transact(c *smtp.Client, st *step, msg []byte, env envelope) (reply, stage string, err error) {
	st.expect(st.to.Command)
	if err := c.Mail("<" + env.from + ">"); err != nil {
		return "", "MAIL", err
	}
	st.expect(st.to.Command)
	if err := c.Rcpt("<" + env.to + ">"); err != nil {
		return "", "RCPT", err
	}
	t := c.Text
	st.expect(st.to.Data)
	if err := t.PrintfLine("DATA"); err != nil {
		return "", "DATA", err
	}
	if _, _, err := t.ReadResponse(354); err != nil {
		return "", "DATA", err
	}
	return writeData(t, st, msg)
}

// blockSize is how much of a message is written within one Timeouts.Block.
const blockSize = 64 << 10

// writeData writes the message after a 354 reply to DATA, ends it with a line holding a
// dot, and reads the server's reply. A message from appendMessage has CRLF line ends and
// no line that starts with a dot (quoted-printable encodes one), so it goes out as it
// is; textproto's dot-stuffing writer, which looks at every byte, took 40% of the CPU of
// sending. Any other message goes through that writer.
func writeData(t *textproto.Conn, st *step, msg []byte) (reply, stage string, err error) {
	if len(msg) >= 2 && msg[0] != '.' && bytes.HasSuffix(msg, []byte("\r\n")) &&
		!bytes.Contains(msg, []byte("\n.")) && bytes.Count(msg, []byte("\n")) == bytes.Count(msg, []byte("\r\n")) {
		// msg's buffer is the transport's own: the terminator is appended to it so that
		// a message goes out in one write.
		out := append(msg, ".\r\n"...)
		for len(out) > 0 {
			n := min(len(out), blockSize)
			st.expect(st.to.Block)
			if _, err := t.W.Write(out[:n]); err != nil {
				return "", "write", err
			}
			out = out[n:]
		}
		if err := t.W.Flush(); err != nil {
			return "", "write", err
		}
	} else {
		w := t.DotWriter()
		for len(msg) > 0 {
			n := min(len(msg), blockSize)
			st.expect(st.to.Block)
			if _, err := w.Write(msg[:n]); err != nil {
				return "", "write", err
			}
			msg = msg[n:]
		}
		if err := w.Close(); err != nil {
			return "", "write", err
		}
	}
	st.expect(st.to.DataEnd)
	_, reply, err = t.ReadResponse(250)
	if err != nil {
		return "", stageDataEnd, err
	}
	return reply, "", nil
}

// transactPipelined runs one mail transaction with MAIL, RCPT and DATA sent in one write
// (RFC 2920): two round trips a message instead of four. It uses the textproto
// connection of go-mail's client directly; the client is not used by anyone else
// meanwhile.
func transactPipelined(cn *smtpConn, st *step, msg []byte, env envelope) (reply, stage string, err error) {
	t := cn.c.Text
	st.expect(st.to.Command)
	t.W.WriteString("MAIL FROM:<")
	t.W.WriteString(env.from)
	if cn.smtputf8 && !isASCIIPrintable(env.from+env.to) {
		t.W.WriteString("> SMTPUTF8\r\nRCPT TO:<")
	} else {
		t.W.WriteString(">\r\nRCPT TO:<")
	}
	t.W.WriteString(env.to)
	t.W.WriteString(">\r\nDATA\r\n")
	if err := t.W.Flush(); err != nil {
		return "", "MAIL", err
	}
	// Read the three replies. A refused MAIL or RCPT must be followed by a refused DATA;
	// should a server accept DATA all the same, an empty message ends it.
	failed, failErr := "", error(nil)
	for _, step := range []struct {
		stage   string
		code    int
		timeout time.Duration
	}{{"MAIL", 250, st.to.Command}, {"RCPT", 25, st.to.Command}, {"DATA", 354, st.to.Data}} {
		st.expect(step.timeout)
		_, _, err := t.ReadResponse(step.code)
		var tpe *textproto.Error
		switch {
		case err == nil:
			if step.stage == "DATA" && failErr != nil {
				st.expect(st.to.DataEnd)
				t.PrintfLine(".")
				t.ReadResponse(250)
				return "", failed, failErr
			}
		case errors.As(err, &tpe):
			if failErr == nil {
				failed, failErr = step.stage, err
			}
		case failErr != nil:
			return "", failed, failErr // e.g. 421 to MAIL, then the server hung up
		default:
			return "", step.stage, err // the connection failed
		}
	}
	if failErr != nil {
		return "", failed, failErr
	}
	return writeData(t, st, msg)
}

// ErrClosed is the cause of the temporary *SendError that Send returns after Close: the
// message was not sent and may be sent again through another transport.
var ErrClosed = errors.New("mailer: transport is closed")

// errClosed is Send's error after Close.
func errClosed() error { return &SendError{Temporary: true, Stage: "connect", Err: ErrClosed} }

// Close waits for the sends in progress to finish and closes the idle connections.
func (t *smtpTransport) Close() error {
	t.closeOnce.Do(func() {
		close(t.done)
		for range cap(t.sem) { // wait for the sends in progress
			t.sem <- struct{}{}
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, cn := range t.idle {
			cn.close(true)
		}
		t.idle = nil
	})
	return nil
}
