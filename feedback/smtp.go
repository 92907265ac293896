package feedback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/leadmailer/leadmailer/bounce"
)

// Server receives bounces and feedback reports by SMTP, behind the bounce domain's MX. It
// accepts mail only for the domain's return paths whose token verifies, and for the bare
// LOCAL@DOMAIN address that feedback loops are registered with; anything else is refused at
// RCPT, so that it is not an open inbox.
type Server struct {
	smtp *smtp.Server
}

// ServerOptions tune the listener. Zero values take the defaults noted.
type ServerOptions struct {
	// Local is the bare address's part before the @, such as "bounces".
	Local string
	// MaxBytes is the largest message accepted; default 10 MiB.
	MaxBytes int64
	// Timeout bounds each read and write of the session; default 1 minute.
	Timeout time.Duration
}

// NewServer returns a listener that hands every message to p. p.ReturnPaths must be set: it
// names the domain.
func NewServer(p *Processor, opts ServerOptions) (*Server, error) {
	if p.ReturnPaths == nil {
		return nil, errors.New("feedback: the bounce listener needs a bounce domain")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = bounce.DefaultLimits.MaxBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	s := smtp.NewServer(&backend{p: p, local: strings.ToLower(opts.Local), maxBytes: opts.MaxBytes})
	s.Domain = p.ReturnPaths.Domain()
	s.MaxMessageBytes = opts.MaxBytes
	s.MaxRecipients = 50
	s.ReadTimeout, s.WriteTimeout = opts.Timeout, opts.Timeout
	s.ErrorLog = smtpLogger{p}
	return &Server{smtp: s}, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.smtp.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for the sessions in progress, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

type smtpLogger struct{ p *Processor }

func (l smtpLogger) Printf(format string, v ...any) { l.p.log().Warn(fmt.Sprintf(format, v...)) }
func (l smtpLogger) Println(v ...any)               { l.p.log().Warn(fmt.Sprint(v...)) }

type backend struct {
	p        *Processor
	local    string
	maxBytes int64
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	b      *backend
	remote string
	rcpts  []string
}

func (s *session) Reset()        { s.rcpts = nil }
func (s *session) Logout() error { return nil }

// Mail accepts any sender: bounces come from the null sender <>, and feedback loops from
// their own addresses.
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	to = strings.ToLower(to)
	p := s.b.p
	at := strings.LastIndexByte(to, '@')
	if at <= 0 || !strings.EqualFold(to[at+1:], p.ReturnPaths.Domain()) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "not a bounce address of this domain"}
	}
	if to[:at] != s.b.local {
		if _, _, err := p.ReturnPaths.Parse(to); err != nil {
			p.log().Warn("bounce refused: its return path token does not verify", "via", "smtp", "to", to, "remote", s.remote)
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such bounce address"}
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	lim := bounce.DefaultLimits
	lim.MaxBytes = s.b.maxBytes
	rep, err := bounce.ParseWithLimits(r, lim)
	io.Copy(io.Discard, r)
	if errors.Is(err, bounce.ErrTooLarge) || errors.Is(err, smtp.ErrDataTooLarge) {
		return smtp.ErrDataTooLarge
	}
	if err != nil {
		// Refusing would make the reporting server bounce the bounce; a malformed report is
		// taken and dropped.
		s.b.p.log().Warn("bounce ignored: unreadable", "via", "smtp", "remote", s.remote, "err", err)
		return nil
	}
	for _, to := range s.rcpts {
		_, err := s.b.p.Handle(context.Background(), rep, Origin{Via: "smtp", To: to})
		if errors.Is(err, ErrForged) {
			continue
		}
		if err != nil {
			s.b.p.log().Error("bounce not recorded; the sender will retry", "via", "smtp", "err", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot record the report now, try again later"}
		}
	}
	return nil
}
