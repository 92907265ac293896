// Package feedback acts on what the mail ecosystem reports after a relay accepted a message:
// bounces and spam complaints. Reports arrive three ways, and all go through one Processor:
// mail to the bounce domain's return paths, received by the SMTP listener (Server) or piped
// into "leadmailer bounces ingest" (Ingest); and the HTTP webhooks of the sending providers
// (Webhooks). Package bounce reads the reports; the store records them against the send
// ledger and applies the policy.
//
// A report changes something only when it can be tied to a message leadmailer sent: by the
// signed per-recipient return path it was mailed to, by a campaign Message-ID whose hash
// verifies, or, for a webhook whose signature verified, by the recipient's address. Anything
// else is ignored with a log line, so that a forged bounce marks nobody.
package feedback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/store"
)

// ErrForged is returned for a report mailed to a return path whose token does not verify.
var ErrForged = errors.New("feedback: return path token does not verify")

// Processor applies reports to the store. It is safe for concurrent use.
type Processor struct {
	Store *store.DB
	// ReturnPaths checks per-recipient return paths; nil when no bounce domain is set.
	ReturnPaths *bounce.Signer
	// MessageID returns the campaign and lead a campaign Message-ID names, and false for
	// any other ID or one whose hash does not verify; nil: Message-IDs are not used.
	MessageID func(id string) (campaignID, leadID int64, ok bool)
	Policy    store.BouncePolicy
	Log       *slog.Logger
}

// Origin says how a report arrived.
type Origin struct {
	// Via names the way: "smtp", "ingest", "webhook:ses"…
	Via string
	// To is the address the report was mailed to (the SMTP recipient, or the folder
	// message's Delivered-To), which holds the return path token; empty for a webhook.
	To string
	// Verified says the report's sender was authenticated (a webhook signature), so that a
	// report naming only a recipient's address may be tied to that lead's last message.
	Verified bool
}

// Result says what handling one report did.
type Result struct {
	// Recorded counts the recipients recorded; Duplicates those recorded before.
	Recorded, Duplicates int
	// Ignored says why nothing was recorded, when nothing was.
	Ignored string
	// Paused lists the reasons campaigns were paused by this report.
	Paused []string
	// Refused is why the report was refused (ErrForged), when it was.
	Refused error
}

// target is one ledger row a report is about.
type target struct {
	campaignID, leadID int64
	rcpt               bounce.Recipient
}

// Handle records one report. An error means the report could not be recorded and should be
// offered again (a database fault), or is ErrForged; a report that names nothing leadmailer
// sent is not an error but a Result with Ignored set.
func (p *Processor) Handle(ctx context.Context, rep *bounce.Report, o Origin) (*Result, error) {
	res, err := p.HandleAll(ctx, []Delivery{{rep, o}})
	if err != nil {
		return nil, err
	}
	if res[0].Refused != nil {
		return nil, res[0].Refused
	}
	return res[0], nil
}

// Delivery is one report and how it arrived.
type Delivery struct {
	Report *bounce.Report
	Origin Origin
}

// HandleAll records many reports in one transaction, which is what makes a folder of
// thousands fast. A report with a forged token has its Result's Refused set; an error
// means none was recorded (a database fault), and all may be offered again.
func (p *Processor) HandleAll(ctx context.Context, ds []Delivery) ([]*Result, error) {
	results := make([]*Result, len(ds))
	var events []store.BounceEvent
	var owner []int // events[i] is about ds[owner[i]]
	for i, d := range ds {
		rep, o := d.Report, d.Origin
		kind := storeKind(rep.Kind)
		if kind == "" {
			results[i] = p.ignore(rep, o, fmt.Sprintf("not a bounce or complaint (%s)", rep.Kind))
			continue
		}
		targets, err := p.targets(ctx, rep, o)
		if errors.Is(err, ErrForged) {
			p.log().Warn("bounce refused: its return path token does not verify", "via", o.Via, "to", o.To, "report", rep.ID)
			results[i] = &Result{Refused: err}
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(targets) == 0 {
			results[i] = p.ignore(rep, o, "it names no message leadmailer sent")
			continue
		}
		results[i] = &Result{}
		reportID := rep.ID
		if reportID == "" {
			// A report without an ID cannot be recognised when it comes again; count it
			// once per delivery.
			b := make([]byte, 8)
			rand.Read(b)
			reportID = "noid:" + hex.EncodeToString(b)
		}
		for _, t := range targets {
			e := store.BounceEvent{
				// The key names the lead by number: it must not keep the address after erasure.
				Key:        reportID + "/" + strconv.FormatInt(t.campaignID, 10) + "." + strconv.FormatInt(t.leadID, 10),
				CampaignID: t.campaignID, LeadID: t.leadID, Kind: kind,
				Status: t.rcpt.Status, Diagnostic: t.rcpt.Diagnostic,
				Reporter: rep.Reporter, Via: o.Via, Format: rep.Format,
			}
			if kind == store.BounceComplaint && rep.FeedbackType != "" {
				e.Status = rep.FeedbackType
			}
			events = append(events, e)
			owner = append(owner, i)
		}
	}
	if len(events) == 0 {
		return results, nil
	}
	outs, err := p.Store.RecordBounces(ctx, events, p.Policy)
	if err != nil {
		return nil, err
	}
	for j, out := range outs {
		res, e := results[owner[j]], events[j]
		switch out.Action {
		case store.BounceNotSent:
			p.log().Info("bounce ignored: the campaign sent that lead nothing", "via", e.Via, "campaign", e.CampaignID, "lead", e.LeadID)
		case store.BounceDuplicate:
			res.Duplicates++
		default:
			res.Recorded++
		}
		if out.Paused != "" {
			res.Paused = append(res.Paused, out.Paused)
			p.log().Warn("campaign paused by bounces", "campaign", e.CampaignID, "reason", out.Paused)
		}
	}
	for _, res := range results {
		if res.Recorded == 0 && res.Duplicates == 0 && res.Ignored == "" && res.Refused == nil {
			res.Ignored = "it names no message leadmailer sent"
		}
	}
	return results, nil
}

// targets finds the ledger rows a report is about.
func (p *Processor) targets(ctx context.Context, rep *bounce.Report, o Origin) ([]target, error) {
	first := bounce.Recipient{}
	if len(rep.Recipients) > 0 {
		first = rep.Recipients[0]
	}
	// The return path the report was mailed to, then the one it quotes.
	for _, addr := range []string{o.To, rep.OriginalReturnPath} {
		if p.ReturnPaths == nil || !p.isReturnPath(addr) {
			continue
		}
		c, lead, err := p.ReturnPaths.Parse(addr)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrForged, addr)
		}
		if lead == 0 {
			return nil, nil // a test message names no lead
		}
		return []target{{c, lead, first}}, nil
	}
	if p.MessageID != nil && rep.OriginalMessageID != "" {
		if c, lead, ok := p.MessageID(rep.OriginalMessageID); ok {
			return []target{{c, lead, first}}, nil
		}
	}
	if !o.Verified {
		return nil, nil
	}
	// A provider's verified event names the recipient's address: the lead's last message is
	// the one it is about.
	rcpts := rep.Recipients
	if len(rcpts) == 0 && rep.OriginalTo != "" {
		rcpts = []bounce.Recipient{{Address: rep.OriginalTo}}
	}
	var out []target
	for _, r := range rcpts {
		l, err := p.Store.FindLeadByEmail(ctx, r.Address)
		if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND || leadmailer.ErrorCode(err) == leadmailer.EINVALID {
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := p.Store.LastSend(ctx, l.ID)
		if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, target{c, l.ID, r})
	}
	return out, nil
}

// isReturnPath reports whether addr is at the bounce domain with a "+" token: one of ours,
// so a token that does not verify is a forgery, not someone else's address.
func (p *Processor) isReturnPath(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && strings.EqualFold(addr[at+1:], p.ReturnPaths.Domain()) && strings.Contains(addr[:at], "+")
}

func (p *Processor) ignore(rep *bounce.Report, o Origin, why string) *Result {
	p.log().Info("report ignored: "+why, "via", o.Via, "kind", rep.Kind, "format", rep.Format, "report", rep.ID)
	return &Result{Ignored: why}
}

func (p *Processor) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func storeKind(k bounce.Kind) string {
	switch k {
	case bounce.Hard:
		return store.BounceHard
	case bounce.Soft:
		return store.BounceSoft
	case bounce.Complaint:
		return store.BounceComplaint
	}
	return ""
}
