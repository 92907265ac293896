package leadmailer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// AuditEntry is one line of the audit trail: who did what to which thing, when and from where.
// Entries are append-only and hash-chained: Hash covers PrevHash and the entry's own fields, so
// changing, removing or reordering any entry breaks the chain from that entry on.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // "user:NAME" for the web app, "os:NAME" for the CLI, "token:NAME" for the API
	Action string    `json:"action"` // e.g. "lead.view", "login.failed"; see the Audit* constants
	Target string    `json:"target"` // what was acted on: an e-mail address, "run 12", a user name
	Detail string    `json:"detail,omitempty"`
	IP     string    `json:"ip,omitempty"`

	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Audit actions. Every read of personal data, every change and every login leaves one.
const (
	AuditLogin        = "login"
	AuditLoginFailed  = "login.failed"
	AuditLogout       = "logout"
	AuditLeadView     = "lead.view"
	AuditLeadList     = "lead.list"
	AuditLeadSearch   = "lead.search"
	AuditUpload       = "import.upload"
	AuditImport       = "import.run"
	AuditRejectsGet   = "import.rejects"
	AuditUserCreate   = "user.create"
	AuditUserPassword = "user.password"
	AuditUserDisable  = "user.disable"
	AuditAuditView    = "audit.view"
	AuditAuditVerify  = "audit.verify"
)

// Audit actions of the privacy lifecycle, campaigns, sources and backups. An entry about one
// lead names it by ID ("lead 12"), and a suppression by its hash, never by address: the trail
// outlives an erasure and cannot be edited.
const (
	AuditLeadExport          = "lead.export"
	AuditLeadErase           = "lead.erase"
	AuditLeadEndRelationship = "lead.end_relationship"
	AuditLeadReactivate      = "lead.reactivate"
	AuditLeadDeliverable     = "lead.undeliverable_clear"
	AuditSuppressionAdd      = "suppression.add"
	AuditSuppressionRemove   = "suppression.remove"
	AuditSuppressionCheck    = "suppression.check"
	AuditRetentionRun        = "retention.run"
	AuditBackup              = "backup"
	AuditRestore             = "restore"
	AuditMigrateData         = "data.migrate" // a copy of the whole database into another
	AuditCampaignCreate      = "campaign.create"
	AuditCampaignPreview     = "campaign.preview"
	AuditCampaignTest        = "campaign.test"
	AuditCampaignSchedule    = "campaign.schedule"
	AuditCampaignSend        = "campaign.send"
	AuditCampaignResume      = "campaign.resume"
	AuditCampaignPause       = "campaign.pause"
	AuditCampaignCancel      = "campaign.cancel"
	AuditCampaignRecipients  = "campaign.recipients"
	AuditSourceRun           = "source.run"
	AuditLeadBounce          = "lead.bounce"    // a bounce was recorded; the detail says what it did
	AuditLeadComplaint       = "lead.complaint" // a spam complaint suppressed the address
)

// Audit actions of the JSON API's tokens. Calls made with a token are recorded with the
// actions above and the actor "token:NAME".
const (
	AuditTokenAdd    = "token.add"
	AuditTokenRevoke = "token.revoke"
	// AuditTokenRefused is a call with a revoked or expired token, or one whose role does
	// not allow the call.
	AuditTokenRefused = "token.refused"
	// AuditAPICall is a call whose endpoint records nothing of its own: a read of something
	// other than personal data, an answer replayed for an idempotency key, a call refused
	// for what it asked. Its target is the route, its detail the status and error code.
	AuditAPICall = "api.call"
)

const auditTimeFormat = "2006-01-02T15:04:05.000000Z"

// ComputeHash returns the entry's unkeyed chain hash given the previous entry's hash ("" for
// the first entry): SHA-256 over a JSON array of the previous hash and the entry's ID and
// fields, with the time in UTC at microsecond precision, in hex. JSON keeps the encoding
// unambiguous: no choice of field values can make two different entries encode alike.
//
// Anyone who can write the database can recompute such hashes after changing an entry: it
// is what entries recorded before the chain was keyed carry. Later entries carry
// ComputeKeyedHash.
func (e *AuditEntry) ComputeHash(prev string) string {
	sum := sha256.Sum256(e.canonical(prev))
	return hex.EncodeToString(sum[:])
}

// ComputeKeyedHash returns the entry's chain hash as ComputeHash does, but with HMAC-SHA256
// under key, which is kept outside the database: without it, a changed entry's hash cannot
// be recomputed.
func (e *AuditEntry) ComputeKeyedHash(key []byte, prev string) string {
	m := hmac.New(sha256.New, key)
	m.Write(e.canonical(prev))
	return hex.EncodeToString(m.Sum(nil))
}

func (e *AuditEntry) canonical(prev string) []byte {
	b, _ := json.Marshal([]string{
		prev, strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(auditTimeFormat),
		e.Actor, e.Action, e.Target, e.Detail, e.IP,
	})
	return b
}
