package campaign

import (
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/templates"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// Settings are what a campaign's messages need besides the campaign: who sends them, the
// notice wording, where links point and the keys that sign them.
type Settings struct {
	Sender   templates.Sender
	Wordings templates.Wordings
	// Describe names a public source in the notice (title and licence); nil: by its name.
	Describe  func(source string) templates.SourceInfo
	PublicURL string
	Signer    *unsubscribe.Signer
	// MessageIDKey keys the hash in Message-IDs, so that they cannot be guessed.
	MessageIDKey []byte
	// ReturnPaths, when set, gives each message its own envelope sender, which names the
	// campaign and recipient, so that a bounce can be tied to its ledger row.
	ReturnPaths *bounce.Signer
}

// Builder makes a campaign's messages: the templates are compiled once, and each message
// is one Render. It is safe for concurrent use.
type Builder struct {
	c        *leadmailer.Campaign
	s        Settings
	compiled *templates.Compiled
	domain   string

	mu   sync.RWMutex
	runs map[int64]*leadmailer.ImportRun
	// loadRuns reads every import run; called again when a lead names a run not yet known
	// (an import finished while the campaign was sending).
	loadRuns func() (map[int64]*leadmailer.ImportRun, error)
}

// NewBuilder compiles the campaign's templates. Template errors come back with their part,
// line and column (*templates.Error).
func NewBuilder(c *leadmailer.Campaign, s Settings, loadRuns func() (map[int64]*leadmailer.ImportRun, error)) (*Builder, error) {
	compiled, err := templates.Compile(templates.Campaign{Subject: c.Subject, HTML: c.HTML, Text: c.Text, Language: templates.Language(c.BodyLanguage)}, s.Sender, s.Wordings)
	if err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(s.Sender.From)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "sender.from %q is not an address: %v", s.Sender.From, err)
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	b := &Builder{c: c, s: s, compiled: compiled, domain: domain, loadRuns: loadRuns}
	// What every message shares is checked once: a sender the transport cannot write fails
	// here, rather than failing every lead one message at a time as an unbuildable message
	// (which the run records as the lead's problem, not the relay's).
	if err := b.checkShared(); err != nil {
		return nil, err
	}
	if b.runs, err = loadRuns(); err != nil {
		return nil, err
	}
	return b, nil
}

// checkShared builds a message with the campaign's sender, Message-ID domain, unsubscribe
// link and return path, to a placeholder recipient.
func (b *Builder) checkShared() error {
	m := &mailer.Message{From: b.s.Sender.From, ReplyTo: b.s.Sender.ReplyTo, To: "check@" + b.domain,
		Text: "check", MessageID: b.MessageID(0), Date: time.Unix(0, 0).UTC(),
		ListUnsubscribeURL: b.s.Signer.URL(b.s.PublicURL, b.c.ID, 0)}
	if b.s.ReturnPaths != nil {
		m.ReturnPath = b.s.ReturnPaths.Address(b.c.ID, 0)
	}
	if _, err := mailer.AppendMessage(nil, m, nil); err != nil {
		return fmt.Errorf("the campaign's messages cannot be built: %w", err)
	}
	return nil
}

// MessageID is the campaign's deterministic Message-ID for a lead (without angle brackets):
// the same on every attempt, so that a message re-sent after a crash is recognisably the
// same message.
func (b *Builder) MessageID(leadID int64) string {
	return fmt.Sprintf("c%d.l%d.%s@%s", b.c.ID, leadID, messageIDHash(b.s.MessageIDKey, b.c.ID, leadID), b.domain)
}

func (b *Builder) publicSources(l *leadmailer.Lead) ([]templates.PublicSource, error) {
	b.mu.RLock()
	runs := b.runs
	b.mu.RUnlock()
	for _, id := range l.FieldRuns {
		if _, ok := runs[id]; id != 0 && !ok {
			fresh, err := b.loadRuns()
			if err != nil {
				return nil, err
			}
			b.mu.Lock()
			b.runs, runs = fresh, fresh
			b.mu.Unlock()
			break
		}
	}
	return templates.PublicSourcesOf(l, runs, b.s.Describe)
}

// Message renders the campaign's message to lead l, dated now. An error means the message
// must not be sent.
func (b *Builder) Message(l *leadmailer.Lead, now time.Time) (*mailer.Message, error) {
	return b.message(l, l.ID, l.Email, now)
}

// TestMessage renders the message lead l would get, addressed to someone else: the
// unsubscribe link and Message-ID name no lead, so that using them changes nobody's record.
func (b *Builder) TestMessage(l *leadmailer.Lead, to string, now time.Time) (*mailer.Message, error) {
	m, err := b.message(l, 0, to, now)
	if err != nil {
		return nil, err
	}
	m.MessageID = fmt.Sprintf("test.%d.%s", now.UnixNano(), m.MessageID)
	m.ToName = ""
	return m, nil
}

func (b *Builder) message(l *leadmailer.Lead, recipientID int64, to string, now time.Time) (*mailer.Message, error) {
	sources, err := b.publicSources(l)
	if err != nil {
		return nil, err
	}
	unsub := b.s.Signer.URL(b.s.PublicURL, b.c.ID, recipientID)
	r, err := b.compiled.Render(templates.Recipient{Lead: l, PublicSources: sources, UnsubscribeURL: unsub})
	if err != nil {
		return nil, err
	}
	var returnPath string
	if b.s.ReturnPaths != nil {
		returnPath = b.s.ReturnPaths.Address(b.c.ID, recipientID)
	}
	return &mailer.Message{
		ReturnPath: returnPath,
		From:       b.s.Sender.From, ReplyTo: b.s.Sender.ReplyTo,
		To: to, ToName: l.Name,
		Subject: r.Subject, HTML: r.HTML, Text: r.Text,
		MessageID:          b.MessageID(recipientID),
		Date:               now,
		ListUnsubscribeURL: unsub,
		Language:           string(r.Language),
	}, nil
}
