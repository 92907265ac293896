package web

import (
	"context"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// renderSentSubjects gives each of the lead's sends the subject the person got. The ledger
// keeps the subject of every message it sent; for a row not sent yet, or one sent before
// subjects were kept, the campaign's subject template (`Offer for {{default "you"
// .Lead.Company}}`) is rendered for the lead by the same builder a send uses, from the lead's
// values of today. A send whose subject cannot be rendered (the server runs without the
// sender's configuration, or the message would not be built now) keeps the template, which
// still names the campaign's wording.
func (s *Server) renderSentSubjects(ctx context.Context, lead *leadmailer.Lead, sends []store.LeadSend) {
	if s.opts.Mail == nil {
		return
	}
	for i := range sends {
		if sends[i].SubjectSent {
			continue
		}
		c, err := s.db.FindCampaign(ctx, sends[i].CampaignID)
		if err != nil {
			s.opts.Logger.Warn("lead page: render a sent subject", "campaign", sends[i].CampaignID, "err", err)
			continue
		}
		b, err := s.opts.Mail.Builder(ctx, c)
		if err != nil {
			s.opts.Logger.Warn("lead page: render a sent subject", "campaign", c.ID, "err", err)
			continue
		}
		m, err := b.Message(lead, s.opts.Now())
		if err != nil {
			continue // the campaign's own pages say why its message would not be built
		}
		sends[i].Subject = m.Subject
	}
}
