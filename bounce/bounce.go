// Package bounce reads what the mail ecosystem sends back after a relay accepted a message:
// delivery status notifications (RFC 3464), feedback reports of spam complaints (RFC 5965,
// ARF), and the older bounce texts that some servers still send instead. It also makes and
// checks the per-recipient return paths (VERP) that tie a bounce to one recipient of one
// campaign.
//
// The package only reads and classifies; what to do with a report (mark a recipient bounced,
// suppress an address) is the caller's. Parse reads a message as a stream and holds at most a
// few small parts in memory, whatever the message's size. Its functions are safe for
// concurrent use.
package bounce

import "strings"

// Kind is what a message turned out to be.
type Kind string

// The kinds of message Parse tells apart.
const (
	// Hard is a permanent failure (status 5.x.x, action failed): the address does not take mail.
	Hard Kind = "hard"
	// Soft is a temporary failure or a delay (status 4.x.x): the address may work later.
	Soft Kind = "soft"
	// Complaint is a feedback report: the recipient marked the message as spam.
	Complaint Kind = "complaint"
	// AutoReply is an out-of-office or other automatic answer; it says nothing about delivery.
	AutoReply Kind = "auto-reply"
	// Other is a message that is none of the above (a delivered/relayed notice, a person's
	// reply, spam sent to the bounce address); callers ignore it.
	Other Kind = "other"
)

// Report is what Parse found in one message.
type Report struct {
	Kind Kind
	// ID identifies the report itself, so that one delivered twice is counted once: the
	// provider's event ID for a webhook, the bounce's own Message-ID for a mailed one.
	ID string
	// Format says how the message was read: "dsn", "arf" or "text:<dialect>" for a bounce
	// recognised by its wording, such as "text:qmail".
	Format string
	// Recipients are the failed (or delayed) recipients the report names, in its order.
	Recipients []Recipient
	// FeedbackType is an ARF report's Feedback-Type, such as "abuse".
	FeedbackType string
	// OriginalMessageID is the Message-ID of the message the report is about, when the report
	// includes its headers (without angle brackets).
	OriginalMessageID string
	// OriginalTo is the To address of the message the report is about, when included.
	OriginalTo string
	// DeliveredTo is the address the report was delivered to, as the receiving mail server
	// recorded it (X-Original-To or Delivered-To): the return path, when a mail server hands
	// the message on without its envelope.
	DeliveredTo string
	// Reporter names who sent the report: the DSN's Reporting-MTA host, the provider of a
	// webhook, or else the domain of the bounce's From address. A burst of bounces from one
	// reporter is more likely a fault there than a list of bad addresses.
	Reporter string
	// OriginalReturnPath is the envelope sender of the message the report is about, as far as
	// the report gives it (Return-Path of the included headers, or ARF's Original-Mail-From).
	OriginalReturnPath string
}

// Recipient is one recipient of a delivery status notification.
type Recipient struct {
	// Address is the final recipient's address, lower-cased.
	Address string
	// Action is the DSN action: failed, delayed, delivered, relayed or expanded.
	Action string
	// Status is the enhanced status code, such as "5.1.1"; empty when the report gave none.
	Status string
	// Diagnostic is the remote server's reply, such as "smtp; 550 5.1.1 user unknown".
	Diagnostic string
}

// Permanent reports whether the recipient's failure is permanent: the action failed with a
// 5.x.x status, or with no status at all.
func (r Recipient) Permanent() bool {
	if r.Action != "failed" {
		return false
	}
	return r.Status == "" || strings.HasPrefix(r.Status, "5.")
}
