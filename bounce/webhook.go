package bounce

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The provider webhooks below turn each provider's documented JSON into the same Reports
// that Parse makes of a mailed bounce, so that one processing path handles all of them. Each
// Report carries the provider's own event ID in ID, so that a retried delivery of the same
// event is recognised and counted once.

// ErrSignature is returned for a webhook request whose signature does not verify.
var ErrSignature = errors.New("bounce: webhook signature does not verify")

// maxWebhookEvents bounds the events taken from one request; SendGrid batches up to a
// thousand or so, the others send one.
const maxWebhookEvents = 5000

// ParseSES reads an Amazon SES notification: the Message of an SNS notification, or an
// event-publishing record (eventType instead of notificationType).
func ParseSES(body []byte) ([]Report, error) {
	var n struct {
		NotificationType string `json:"notificationType"`
		EventType        string `json:"eventType"`
		Mail             struct {
			MessageID string `json:"messageId"`
			Source    string `json:"source"`
			Headers   []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"headers"`
			CommonHeaders struct {
				MessageID string `json:"messageId"`
			} `json:"commonHeaders"`
		} `json:"mail"`
		Bounce struct {
			BounceType        string `json:"bounceType"`
			FeedbackID        string `json:"feedbackId"`
			BouncedRecipients []struct {
				EmailAddress   string `json:"emailAddress"`
				Action         string `json:"action"`
				Status         string `json:"status"`
				DiagnosticCode string `json:"diagnosticCode"`
			} `json:"bouncedRecipients"`
		} `json:"bounce"`
		Complaint struct {
			FeedbackID            string  `json:"feedbackId"`
			ComplaintFeedbackType string  `json:"complaintFeedbackType"`
			ComplaintSubType      *string `json:"complaintSubType"`
			ComplainedRecipients  []struct {
				EmailAddress string `json:"emailAddress"`
			} `json:"complainedRecipients"`
		} `json:"complaint"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("bounce: SES notification: %w", err)
	}
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	rep := Report{Format: "ses", Reporter: "ses", OriginalReturnPath: strings.ToLower(n.Mail.Source)}
	// SES gives the message its own Message-ID; ours is in the headers when the identity
	// includes them in notifications.
	for _, h := range n.Mail.Headers {
		if strings.EqualFold(h.Name, "Message-ID") {
			rep.OriginalMessageID = strings.Trim(strings.TrimSpace(h.Value), "<>")
		}
	}
	switch kind {
	case "Bounce":
		rep.ID = "ses:" + n.Bounce.FeedbackID
		for _, r := range n.Bounce.BouncedRecipients {
			rc := Recipient{
				Address:    fieldAddress(r.EmailAddress),
				Action:     strings.ToLower(r.Action),
				Status:     firstStatus(r.Status),
				Diagnostic: oneLine(r.DiagnosticCode),
			}
			// Without action and status, SES's bounce type is the evidence: Permanent is a
			// hard bounce, Transient and Undetermined are not.
			if rc.Action == "" {
				rc.Action = "failed"
			}
			if rc.Status == "" {
				rc.Status = firstStatus(rc.Diagnostic)
			}
			if n.Bounce.BounceType == "Permanent" && rc.Status == "" {
				rc.Status = "5.0.0"
			} else if n.Bounce.BounceType != "Permanent" && (rc.Status == "" || rc.Status[0] == '5') {
				rc.Status, rc.Action = "4.0.0", "delayed"
			}
			rep.Recipients = append(rep.Recipients, rc)
		}
		rep.Kind = kindOf(validRecipients(rep.Recipients))
	case "Complaint":
		rep.ID = "ses:" + n.Complaint.FeedbackID
		rep.FeedbackType = n.Complaint.ComplaintFeedbackType
		if rep.FeedbackType == "" {
			rep.FeedbackType = "abuse"
		}
		for _, r := range n.Complaint.ComplainedRecipients {
			rep.OriginalTo = fieldAddress(r.EmailAddress)
		}
		rep.Kind = Complaint
		if rep.FeedbackType == "not-spam" {
			rep.Kind = Other
		}
	default:
		rep.Kind = Other
	}
	return []Report{rep}, nil
}

// ParseSendGrid reads a SendGrid Event Webhook request: a JSON array of events, of which
// bounce, blocked, dropped (for a bounced or invalid address), deferred and spamreport matter.
func ParseSendGrid(body []byte) ([]Report, error) {
	var events []struct {
		Email     string `json:"email"`
		Event     string `json:"event"`
		Type      string `json:"type"`
		Status    string `json:"status"`
		Reason    string `json:"reason"`
		Response  string `json:"response"`
		EventID   string `json:"sg_event_id"`
		SMTPID    string `json:"smtp-id"`
		MessageID string `json:"sg_message_id"`
	}
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, fmt.Errorf("bounce: SendGrid events: %w", err)
	}
	if len(events) > maxWebhookEvents {
		return nil, fmt.Errorf("bounce: SendGrid request has %d events; at most %d are read", len(events), maxWebhookEvents)
	}
	var reps []Report
	for _, e := range events {
		rep := Report{Format: "sendgrid", Reporter: "sendgrid", ID: "sendgrid:" + e.EventID, Kind: Other,
			OriginalMessageID: strings.Trim(e.SMTPID, "<> ")}
		addr := fieldAddress(e.Email)
		switch e.Event {
		case "bounce", "blocked":
			status := firstStatus(e.Status)
			if status == "" {
				status = firstStatus(e.Reason)
			}
			action := "failed"
			// SendGrid's "blocked" (type blocked) is a refusal of the message, not of the
			// address, often temporary; only a bounce with a 5.x.x says the address is bad.
			if e.Event == "blocked" || e.Type == "blocked" || !strings.HasPrefix(status, "5.") {
				action = "delayed"
				if status == "" || status[0] == '5' {
					status = "4.0.0"
				}
			}
			rep.Recipients = []Recipient{{Address: addr, Action: action, Status: status, Diagnostic: oneLine(e.Reason)}}
		case "dropped":
			// Dropped because SendGrid already knows the address bounced: a hard bounce.
			if strings.Contains(strings.ToLower(e.Reason), "bounced address") || strings.Contains(strings.ToLower(e.Reason), "invalid") {
				rep.Recipients = []Recipient{{Address: addr, Action: "failed", Status: "5.1.1", Diagnostic: oneLine(e.Reason)}}
			}
		case "deferred":
			rep.Recipients = []Recipient{{Address: addr, Action: "delayed", Status: orDefault(firstStatus(e.Response), "4.0.0"), Diagnostic: oneLine(e.Response)}}
		case "spamreport":
			rep.Kind, rep.FeedbackType, rep.OriginalTo = Complaint, "abuse", addr
		}
		if rep.Kind == Other {
			rep.Recipients = validRecipients(rep.Recipients)
			rep.Kind = kindOf(rep.Recipients)
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// VerifySendGrid checks the Signed Event Webhook signature: ECDSA over the timestamp header
// followed by the raw body, with the verification key shown in SendGrid's mail settings
// (base64 DER).
func VerifySendGrid(publicKey, signature, timestamp string, body []byte, now time.Time) error {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(publicKey))
	if err != nil {
		return fmt.Errorf("bounce: SendGrid verification key is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("bounce: SendGrid verification key: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return errors.New("bounce: SendGrid verification key is not an ECDSA key")
	}
	if err := fresh(timestamp, now); err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrSignature
	}
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	if !ecdsa.VerifyASN1(ec, h.Sum(nil), sig) {
		return ErrSignature
	}
	return nil
}

// ParsePostmark reads a Postmark bounce or spam complaint webhook.
func ParsePostmark(body []byte) ([]Report, error) {
	var e struct {
		RecordType string `json:"RecordType"`
		ID         int64  `json:"ID"`
		Type       string `json:"Type"`
		MessageID  string `json:"MessageID"`
		Email      string `json:"Email"`
		Details    string `json:"Details"`
		Descr      string `json:"Description"`
		Content    string `json:"Content"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("bounce: Postmark webhook: %w", err)
	}
	rep := Report{Format: "postmark", Reporter: "postmark", ID: "postmark:" + strconv.FormatInt(e.ID, 10), Kind: Other}
	addr := fieldAddress(e.Email)
	switch {
	case e.RecordType == "SpamComplaint" || e.Type == "SpamComplaint":
		rep.Kind, rep.FeedbackType, rep.OriginalTo = Complaint, "abuse", addr
	case e.RecordType == "Bounce":
		var rc Recipient
		switch e.Type {
		case "HardBounce", "BadEmailAddress", "DnsError", "ManuallyDeactivated":
			rc = Recipient{Address: addr, Action: "failed", Status: orDefault(firstStatus(e.Details), "5.0.0")}
		case "SoftBounce", "Transient", "Blocked", "DMARCPolicy":
			rc = Recipient{Address: addr, Action: "delayed", Status: "4.0.0"}
			if s := firstStatus(e.Details); strings.HasPrefix(s, "4.") {
				rc.Status = s
			}
		case "AutoResponder":
			rep.Kind = AutoReply
			return []Report{rep}, nil
		default:
			return []Report{rep}, nil
		}
		rc.Diagnostic = oneLine(e.Details)
		if rc.Diagnostic == "" {
			rc.Diagnostic = oneLine(e.Descr)
		}
		rep.Recipients = validRecipients([]Recipient{rc})
		rep.Kind = kindOf(rep.Recipients)
		// Postmark includes the bounce message itself; our Message-ID is in its headers.
		if m := inlineMessageID.FindStringSubmatch(e.Content); m != nil {
			rep.OriginalMessageID = m[1]
		}
	}
	return []Report{rep}, nil
}

// ParseMailgun reads a Mailgun webhook and checks its signature: HMAC-SHA256, with the
// webhook signing key, over the timestamp and token in the body. The token is returned in
// the Report's ID, so that a replayed request is recognised.
func ParseMailgun(body []byte, signingKey string, now time.Time) ([]Report, error) {
	var w struct {
		Signature struct {
			Timestamp string `json:"timestamp"`
			Token     string `json:"token"`
			Signature string `json:"signature"`
		} `json:"signature"`
		Event struct {
			ID        string `json:"id"`
			Event     string `json:"event"`
			Severity  string `json:"severity"`
			Recipient string `json:"recipient"`
			Reason    string `json:"reason"`
			Envelope  struct {
				Sender string `json:"sender"`
			} `json:"envelope"`
			DeliveryStatus struct {
				Code         int    `json:"code"`
				EnhancedCode string `json:"enhanced-code"`
				Message      string `json:"message"`
				Description  string `json:"description"`
			} `json:"delivery-status"`
			Message struct {
				Headers struct {
					MessageID string `json:"message-id"`
				} `json:"headers"`
			} `json:"message"`
		} `json:"event-data"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("bounce: Mailgun webhook: %w", err)
	}
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write([]byte(w.Signature.Timestamp + w.Signature.Token))
	want := m.Sum(nil)
	got, err := hex.DecodeString(w.Signature.Signature)
	if err != nil || !hmac.Equal(got, want) {
		return nil, ErrSignature
	}
	if err := fresh(w.Signature.Timestamp, now); err != nil {
		return nil, err
	}
	e := w.Event
	rep := Report{Format: "mailgun", Reporter: "mailgun", ID: "mailgun:" + e.ID, Kind: Other,
		OriginalMessageID:  strings.Trim(e.Message.Headers.MessageID, "<> "),
		OriginalReturnPath: strings.ToLower(e.Envelope.Sender)}
	addr := fieldAddress(e.Recipient)
	switch e.Event {
	case "failed":
		diag := oneLine(strings.TrimSpace(e.DeliveryStatus.Message + " " + e.DeliveryStatus.Description))
		status := firstStatus(e.DeliveryStatus.EnhancedCode)
		if status == "" {
			status = firstStatus(diag)
		}
		if status == "" && e.DeliveryStatus.Code >= 400 {
			status = strconv.Itoa(e.DeliveryStatus.Code/100) + ".0.0"
		}
		rc := Recipient{Address: addr, Action: "failed", Status: orDefault(status, "5.0.0"), Diagnostic: diag}
		if e.Severity != "permanent" {
			rc.Action = "delayed"
			if rc.Status[0] != '4' {
				rc.Status = "4.0.0"
			}
		}
		rep.Recipients = validRecipients([]Recipient{rc})
		rep.Kind = kindOf(rep.Recipients)
	case "complained":
		rep.Kind, rep.FeedbackType, rep.OriginalTo = Complaint, "abuse", addr
	}
	return []Report{rep}, nil
}

// webhookMaxAge is how old a signed timestamp may be: a captured request replayed later is
// refused even where the signature, as Mailgun's, does not cover the body.
const webhookMaxAge = 15 * time.Minute

func fresh(timestamp string, now time.Time) error {
	sec, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrSignature
	}
	t := time.Unix(sec, 0)
	if now.Sub(t) > webhookMaxAge || t.Sub(now) > webhookMaxAge {
		return fmt.Errorf("%w: timestamp %s is more than %s from now", ErrSignature, t.UTC().Format(time.RFC3339), webhookMaxAge)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
