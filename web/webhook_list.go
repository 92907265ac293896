package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// webhookDeliveriesShown is how many deliveries the page lists: the newest. Older ones are
// pruned after a month anyway.
const webhookDeliveriesShown = 200

// webhookList lists the recent webhook deliveries, newest first, with their state and the
// last answer, and a replay button on each. Deliveries hold lead numbers, not personal data,
// so reading them is not audited; a replay is.
func (s *Server) webhookList(w http.ResponseWriter, r *http.Request, rq *request) error {
	ds, err := s.db.FindWebhookDeliveries(r.Context(), webhookDeliveriesShown)
	if err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "webhook_list", "Webhook deliveries", struct {
		Deliveries []*store.WebhookDelivery
		Message    string
	}{ds, r.URL.Query().Get("done")})
	return nil
}

// webhookReplay queues a delivery again with the same event id: receivers dedupe by it, so
// a replay of a delivery that did arrive does no harm.
func (s *Server) webhookReplay(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "no webhook delivery %q", r.PathValue("id"))
	}
	d, err := s.db.FindWebhookDelivery(r.Context(), id)
	if err != nil {
		return err
	}
	target := fmt.Sprintf("webhook_delivery:%d", id)
	err = s.db.ReplayWebhookDelivery(r.Context(), id, &leadmailer.AuditEntry{Actor: "user:" + rq.user.Name,
		Action: leadmailer.AuditWebhookReplay, Target: target, Detail: d.EventID + " to " + d.Endpoint, IP: rq.ip})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/webhook-deliveries?done="+url.QueryEscape("Queued "+d.EventID+" again for "+d.Endpoint+"."), http.StatusSeeOther)
	return nil
}
