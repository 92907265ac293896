package leadmailer

import "slices"

// Event types that leadmailer reports to outgoing webhooks. The names are part of the
// webhook contract: receivers switch on them, so a name, once published, never changes.
const (
	EventImportFinished    = "import.finished"    // an import run ended, whatever its status
	EventCampaignStarted   = "campaign.started"   // a campaign began (or resumed) sending
	EventCampaignPaused    = "campaign.paused"    // a campaign was paused, by a user or a limit
	EventCampaignFinished  = "campaign.finished"  // a campaign sent its last message
	EventCampaignCancelled = "campaign.cancelled" // a campaign was cancelled
	EventLeadUnsubscribed  = "lead.unsubscribed"  // a recipient objected through the unsubscribe link
	EventLeadBounced       = "lead.bounced"       // a hard or soft bounce was recorded
	EventLeadComplained    = "lead.complained"    // a recipient reported a message as spam
)

// EventTypes lists every event type, in the order the documentation gives them.
var EventTypes = []string{
	EventImportFinished,
	EventCampaignStarted, EventCampaignPaused, EventCampaignFinished, EventCampaignCancelled,
	EventLeadUnsubscribed, EventLeadBounced, EventLeadComplained,
}

// ValidEventType reports whether s is one of EventTypes.
func ValidEventType(s string) bool { return slices.Contains(EventTypes, s) }

// AuditWebhookReplay is an admin's replay of a webhook delivery.
const AuditWebhookReplay = "webhook.replay"
