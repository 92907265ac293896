package web

import "fmt"

// Audit actions of the campaign, source and privacy pages. The audit trail's other actions
// are in the root package.
const (
	auditCampaignCreate     = "campaign.create"
	auditCampaignPreview    = "campaign.preview"
	auditCampaignTest       = "campaign.test"
	auditCampaignSchedule   = "campaign.schedule"
	auditCampaignSend       = "campaign.send"
	auditCampaignPause      = "campaign.pause"
	auditCampaignResume     = "campaign.resume"
	auditCampaignCancel     = "campaign.cancel"
	auditCampaignRecipients = "campaign.recipients"
	auditSourceRun          = "source.run"
	auditLeadExport         = "lead.export"
	auditLeadErase          = "lead.erase"
)

func campaignTarget(id int64) string { return fmt.Sprintf("campaign %d", id) }

// leadTarget names a lead in the audit trail by its ID, never its address: the trail is
// append-only, and an address in it would outlive the lead's erasure.
func leadTarget(id int64) string   { return fmt.Sprintf("lead %d", id) }
func campaignPath(id int64) string { return fmt.Sprintf("/campaigns/%d", id) }
