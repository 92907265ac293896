package leadmailer

import (
	"regexp"
	"strings"
	"time"
)

// CampaignState is where a campaign is in its life.
type CampaignState string

// Campaign states. A campaign is created as a draft, or scheduled when it has a time or a
// cron expression; running while a process sends it; paused by a user, by Ctrl-C or by too
// many consecutive errors; finished when every recipient has an outcome; cancelled by a user;
// missed when its time passed while nothing ran and it is too late to start.
const (
	CampaignDraft     CampaignState = "draft"
	CampaignScheduled CampaignState = "scheduled"
	CampaignRunning   CampaignState = "running"
	CampaignPaused    CampaignState = "paused"
	CampaignFinished  CampaignState = "finished"
	CampaignCancelled CampaignState = "cancelled"
	CampaignMissed    CampaignState = "missed"
)

// Campaign is one marketing mailing: its templates, its audience filters, and when it runs.
type Campaign struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text,omitempty"`
	// BodyLanguage is the language the subject and body are written in, a tag such as
	// "en" or "fi", for the messages' Content-Language and <html lang>; empty means each
	// lead's notice language (Finnish for FI, Swedish for SE, English otherwise).
	BodyLanguage string `json:"body_language,omitempty"`

	// The audience: active leads matching every non-empty filter. Countries are ISO codes;
	// Sources and Kinds select leads with at least one observation from such an import run.
	Countries []string     `json:"countries,omitempty"`
	Sources   []string     `json:"sources,omitempty"`
	Kinds     []SourceKind `json:"kinds,omitempty"`

	// SendAt starts the campaign once at that time; Cron starts it at every occurrence of the
	// expression, each time for the audience members who have not yet received it.
	SendAt *time.Time `json:"send_at,omitempty"`
	Cron   string     `json:"cron,omitempty"`

	State CampaignState `json:"state"`
	// Reason says why a campaign is paused or missed.
	Reason    string     `json:"reason,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	// LastRunAt is when the latest occurrence started (cron campaigns) or the campaign
	// started (others).
	LastRunAt  *time.Time `json:"last_run_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Validate checks what every way of creating a campaign (the CLI, the web form, the API)
// requires of its fields, before its templates are compiled. It returns the field at fault,
// by its JSON name, and an EINVALID error saying what to do.
func (c *Campaign) Validate() (field string, err error) {
	switch {
	case strings.TrimSpace(c.Name) == "":
		return "name", Errorf(EINVALID, "Give the campaign a name.")
	case strings.TrimSpace(c.Subject) == "":
		return "subject", Errorf(EINVALID, "Give the campaign a subject.")
	case strings.TrimSpace(c.HTML) == "":
		return "html", Errorf(EINVALID, "Write the HTML body.")
	case c.SendAt != nil && c.Cron != "":
		return "cron", Errorf(EINVALID, "Give a time to start at or a cron expression, not both.")
	}
	for _, k := range c.Kinds {
		if !k.Valid() {
			return "kinds", Errorf(EINVALID, "Kind %s is not public, upload, website or api.", k)
		}
	}
	return "", nil
}

// RecipientStatus is where one recipient of a campaign is in the send ledger.
type RecipientStatus string

// Recipient statuses. A row moves queued -> sending -> sent | failed | skipped; a temporary
// failure moves it back to queued until its attempts run out.
const (
	RecipientQueued  RecipientStatus = "queued"
	RecipientSending RecipientStatus = "sending"
	RecipientSent    RecipientStatus = "sent"
	RecipientFailed  RecipientStatus = "failed"
	RecipientSkipped RecipientStatus = "skipped"
)

// Filters over sent rows by what was reported after delivery; not statuses a row is in.
const (
	RecipientBounced    RecipientStatus = "bounced"    // a hard bounce came back
	RecipientComplained RecipientStatus = "complained" // the recipient reported it as spam
)

// Reasons a recipient is skipped. The audience's exclusions are recorded when the campaign
// starts; the others when the lead is checked again just before its message.
const (
	SkipInactive      = "inactive"
	SkipNoConsent     = "no consent"
	SkipUndeliverable = "undeliverable"
	SkipSuppressed    = "suppressed"
	SkipErased        = "erased"
	SkipCancelled     = "campaign cancelled"
	SkipRender        = "render error"
)

// Recipient is one row of a campaign's send ledger.
type Recipient struct {
	ID         int64           `json:"id"`
	CampaignID int64           `json:"campaign_id"`
	LeadID     int64           `json:"lead_id"`
	Email      string          `json:"email,omitempty"` // empty when the lead was erased
	Status     RecipientStatus `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	Attempts   int             `json:"attempts"`
	LastReply  string          `json:"last_reply,omitempty"`
	MessageID  string          `json:"message_id,omitempty"`
	QueuedAt   time.Time       `json:"queued_at"`
	SendingAt  *time.Time      `json:"sending_at,omitempty"`
	DoneAt     *time.Time      `json:"done_at,omitempty"`
	// Bounce is what was reported after the relay accepted the message: "" (nothing),
	// "hard", "soft" or "complaint", with the report's status and diagnostic.
	Bounce           string `json:"bounce,omitempty"`
	BounceStatus     string `json:"bounce_status,omitempty"`
	BounceDiagnostic string `json:"bounce_diagnostic,omitempty"`
}

// CampaignReport counts a campaign's ledger rows by status, and the skipped ones by reason.
type CampaignReport struct {
	Total   int64            `json:"total"`
	Queued  int64            `json:"queued"`
	Sending int64            `json:"sending"`
	Sent    int64            `json:"sent"`
	Failed  int64            `json:"failed"`
	Skipped int64            `json:"skipped"`
	Reasons map[string]int64 `json:"skipped_by_reason,omitempty"`

	// What was reported after the relay accepted the messages. Delivered is Sent less the
	// hard bounces; the rates are of Sent.
	Delivered     int64   `json:"delivered"`
	BouncedHard   int64   `json:"bounced_hard"`
	BouncedSoft   int64   `json:"bounced_soft"`
	Complained    int64   `json:"complained"`
	BounceRate    float64 `json:"bounce_rate"`
	ComplaintRate float64 `json:"complaint_rate"`

	// PossiblyDelivered counts the rows, whatever their status now, once sent in full with
	// no answer in time to their end: the server may have accepted them, so a retry may
	// have delivered them twice.
	PossiblyDelivered int64 `json:"possibly_delivered"`
}

// campaignTransitions lists the states a campaign may move to from each state.
var campaignTransitions = map[CampaignState][]CampaignState{
	CampaignDraft:     {CampaignScheduled, CampaignRunning, CampaignCancelled},
	CampaignScheduled: {CampaignRunning, CampaignPaused, CampaignCancelled, CampaignMissed},
	CampaignRunning:   {CampaignPaused, CampaignFinished, CampaignCancelled, CampaignScheduled},
	CampaignPaused:    {CampaignRunning, CampaignScheduled, CampaignCancelled},
	CampaignFinished:  {},
	CampaignCancelled: {},
	CampaignMissed:    {CampaignRunning, CampaignCancelled},
}

// CanTransition reports whether a campaign in state from may move to state to.
func CanTransition(from, to CampaignState) bool {
	for _, s := range campaignTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// languageTagRE matches a language tag as mail and HTML use it: a primary language of two
// or three letters and optional subtags ("fi", "en-GB", "sr-Latn").
var languageTagRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// ValidLanguageTag reports whether s is a language tag such as "en", "fi" or "en-GB", as a
// campaign's BodyLanguage must be when set.
func ValidLanguageTag(s string) bool { return languageTagRE.MatchString(s) }
