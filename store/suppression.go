package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Suppression kinds: what a suppression record stands for.
const (
	SuppressAddress    = "address"     // one e-mail address
	SuppressDomain     = "domain"      // every address at a domain and its subdomains
	SuppressBusinessID = "business_id" // every lead of one organisation, by its business ID
)

// Suppression origins: why a record was added.
const (
	OriginAdmin     = "admin"     // an administrator's entry
	OriginObjection = "objection" // the person used an unsubscribe link
	OriginErasure   = "erasure"   // the person's data was erased on request
)

// Suppression is one entry of the suppression list. It holds no address, domain or business
// ID, only their keyed hash.
type Suppression struct {
	Hash       string    `json:"hash"`
	Kind       string    `json:"kind"`
	Origin     string    `json:"origin"`
	Reason     string    `json:"reason,omitempty"`
	CampaignID int64     `json:"campaign_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// SuppressionHash is the keyed hash under which a normalised address is suppressed. A keyed
// hash (not a plain one) means a stolen suppression list cannot be checked against a list of
// guessed addresses without also stealing the key.
func (db *DB) SuppressionHash(normalizedEmail string) string {
	m := hmac.New(sha256.New, db.suppressionKey)
	m.Write([]byte(normalizedEmail))
	return hex.EncodeToString(m.Sum(nil))
}

// domainHash is the hash of a domain suppression. The leading "@" keeps it apart from every
// address, which has something before its "@".
func (db *DB) domainHash(domain string) string { return db.SuppressionHash("@" + domain) }

// businessIDHash is the hash of a business-ID suppression; the prefix keeps it apart from
// addresses and domains.
func (db *DB) businessIDHash(id string) string {
	return db.SuppressionHash("business_id:" + NormalizeBusinessID(id))
}

// NormalizeBusinessID returns the form under which a business ID is suppressed and matched:
// upper case, without spaces, so that "fi 1234567-8" and "FI1234567-8" are one organisation.
func NormalizeBusinessID(id string) string {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || 'a' <= c && c <= 'z' {
			return strings.ToUpper(strings.Join(strings.Fields(id), ""))
		}
	}
	return id // already normal, as most IDs from registries are
}

// NormalizeDomain checks and returns the form of a domain as suppressed: lower case, without a
// leading "@".
func NormalizeDomain(domain string) (string, error) {
	d := strings.TrimPrefix(strings.TrimSpace(domain), "@")
	norm, err := leadmailer.NormalizeEmail("x@" + d)
	if err != nil {
		return "", leadmailer.Errorf(leadmailer.EINVALID, "domain %q is not a valid domain name, such as example.com", d)
	}
	return norm[2:], nil
}

// domainsOf lists the domain of a normalised address and its parent domains down to the
// registrable-looking two-label one: x@a.b.example.com gives a.b.example.com, b.example.com,
// example.com.
func domainsOf(email string) []string {
	d := email[strings.LastIndexByte(email, '@')+1:]
	var ds []string
	for {
		ds = append(ds, d)
		i := strings.IndexByte(d, '.')
		if i < 0 || !strings.Contains(d[i+1:], ".") {
			return ds
		}
		d = d[i+1:]
	}
}

// SuppressionEntry is what an administrator, an objection or an erasure asks to suppress.
type SuppressionEntry struct {
	Kind       string // SuppressAddress, SuppressDomain or SuppressBusinessID
	Value      string // the address, domain or business ID
	Origin     string // OriginAdmin when empty
	Reason     string
	CampaignID int64
}

// Suppress adds an entry to the suppression list and makes inactive the existing leads it
// covers, so that none of them is mailed again or re-added by an import. Suppressing the
// same thing twice keeps the first record. It returns how many leads it made inactive.
func (db *DB) Suppress(ctx context.Context, e SuppressionEntry) (int64, error) {
	if e.Origin == "" {
		e.Origin = OriginAdmin
	}
	hash, match, args, err := db.entryMatch(e)
	if err != nil {
		return 0, err
	}
	var moved int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		moved, err = db.suppress(ctx, tx, e, hash, match, args)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("suppress %s: %w", e.Kind, err)
	}
	return moved, nil
}

// suppress is Suppress within tx, for an entry entryMatch has checked.
func (db *DB) suppress(ctx context.Context, tx *sql.Tx, e SuppressionEntry, hash, match string, args []any) (int64, error) {
	now := formatTime(db.now())
	var campaign any
	if e.CampaignID != 0 {
		campaign = e.CampaignID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, kind, origin, reason, campaign_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
		hash, e.Kind, e.Origin, e.Reason, campaign, now); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE leads SET state = 'inactive', inactive_since = ?, updated_at = ?
		WHERE state = 'active' AND `+match, append([]any{now, now}, args...)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EntryHash returns the hash under which an entry is, or would be, on the suppression list:
// what names it in the audit trail and in "suppress list", in place of the address.
func (db *DB) EntryHash(e SuppressionEntry) (string, error) {
	hash, _, _, err := db.entryMatch(e)
	return hash, err
}

// entryMatch checks an entry and returns its hash, and the condition (with its arguments)
// that selects the leads it covers.
func (db *DB) entryMatch(e SuppressionEntry) (hash, match string, args []any, err error) {
	switch e.Kind {
	case SuppressAddress:
		norm, err := leadmailer.NormalizeEmail(e.Value)
		if err != nil {
			return "", "", nil, err
		}
		return db.SuppressionHash(norm), `email = ?`, []any{norm}, nil
	case SuppressDomain:
		d, err := NormalizeDomain(e.Value)
		if err != nil {
			return "", "", nil, err
		}
		return db.domainHash(d), `(email LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\')`,
			[]any{"%@" + escapeLike(d), "%@%." + escapeLike(d)}, nil
	case SuppressBusinessID:
		id := NormalizeBusinessID(e.Value)
		if id == "" {
			return "", "", nil, leadmailer.Errorf(leadmailer.EINVALID, "the business ID is empty")
		}
		return db.businessIDHash(id), `replace(upper(business_id), ' ', '') = ?`, []any{id}, nil
	}
	return "", "", nil, leadmailer.Errorf(leadmailer.EINVALID, "suppression kind %q is not address, domain or business_id", e.Kind)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SuppressAddress adds an address to the suppression list: no import will add or update a
// lead with it again. Suppressing an address twice keeps the first record.
func (db *DB) SuppressAddress(ctx context.Context, email, reason string) error {
	_, err := db.Suppress(ctx, SuppressionEntry{Kind: SuppressAddress, Value: email, Reason: reason})
	return err
}

// ObjectLead records a recipient's objection to direct marketing, made through the one-click
// link of a campaign: the lead's address is suppressed for good and the lead made inactive.
// A repeated objection keeps the first record.
//
// When the lead no longer exists, an erased lead's address is already suppressed; a lead
// deleted by retention is not, and its objection is recorded under the recipient hash the
// send ledger keeps (see recipientHash).
func (db *DB) ObjectLead(ctx context.Context, campaignID, leadID int64) error {
	var email string
	err := db.sql.QueryRowContext(ctx, `SELECT email FROM leads WHERE id = ?`, leadID).Scan(&email)
	// One event per lead: a repeated objection, like the suppression, keeps the first.
	event := webhookEvent{ID: fmt.Sprintf("lead-%d-unsubscribed", leadID), Type: leadmailer.EventLeadUnsubscribed,
		LeadID: leadID, Data: leadEventData{Lead: leadID, Campaign: campaignID}}
	if errors.Is(err, sql.ErrNoRows) {
		hash, err := db.recipientHash(ctx, campaignID, leadID)
		if err != nil || hash == "" {
			return err
		}
		return db.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, kind, origin, reason, campaign_id, created_at)
				VALUES (?, 'address', 'objection', 'objected to direct marketing', ?, ?) ON CONFLICT (hash) DO NOTHING`,
				hash, campaignID, formatTime(db.now()))
			if err != nil {
				return err
			}
			return db.enqueueEvent(ctx, tx.ExecContext, event)
		})
	}
	if err != nil {
		return fmt.Errorf("objection of lead %d: %w", leadID, err)
	}
	e := SuppressionEntry{Kind: SuppressAddress, Value: email, Origin: OriginObjection,
		Reason: "objected to direct marketing", CampaignID: campaignID}
	hash, match, args, err := db.entryMatch(e)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.suppress(ctx, tx, e, hash, match, args); err != nil {
			return err
		}
		return db.enqueueEvent(ctx, tx.ExecContext, event)
	})
	if err != nil {
		return fmt.Errorf("objection of lead %d: %w", leadID, err)
	}
	return nil
}

// recipientHash returns the suppression hash of the address that campaign campaignID sent
// lead leadID's message to, which the send ledger keeps after retention deleted the lead, or
// "" when unknown: no message went out, or the lead was erased on request (its address is
// suppressed already).
func (db *DB) recipientHash(ctx context.Context, campaignID, leadID int64) (string, error) {
	var hash string
	err := db.sql.QueryRowContext(ctx, `SELECT recipient_hash FROM campaign_recipients
		WHERE campaign_id = ? AND lead_id = ?`, campaignID, leadID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("objection of lead %d: %w", leadID, err)
	}
	return hash, nil
}

// coveringHashes appends to dst the hashes of every suppression entry that covers a
// normalised address: its own, its domain's and each parent domain's, and businessID's when
// that is not empty. CheckSuppression, the send-time check (FindPending) and the audience
// check all decide through here, so they cannot disagree. h is reused across calls, as a
// send checks every recipient.
func coveringHashes(h *orgCheck, dst []string, norm, businessID string) []string {
	dst = append(dst, string(h.hash("", norm)))
	for _, d := range domainsOf(norm) {
		dst = append(dst, string(h.hash("@", d)))
	}
	if id := NormalizeBusinessID(businessID); id != "" {
		dst = append(dst, string(h.hash("business_id:", id)))
	}
	return dst
}

// CheckSuppression returns the suppression records that cover an address: its own, its
// domain's, and businessID's when that is not empty. None means it may be imported and mailed.
func (db *DB) CheckSuppression(ctx context.Context, email, businessID string) ([]Suppression, error) {
	norm, err := leadmailer.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var hashes []any
	for _, h := range coveringHashes(newOrgCheck(db.suppressionKey), nil, norm, businessID) {
		hashes = append(hashes, h)
	}
	var found []Suppression
	err = db.findSuppressions(ctx, `WHERE hash IN (?`+strings.Repeat(", ?", len(hashes)-1)+`)`, hashes, func(s *Suppression) error {
		found = append(found, *s)
		return nil
	})
	return found, err
}

// IsSuppressed reports whether an address is on the suppression list, by itself or by its
// domain.
func (db *DB) IsSuppressed(ctx context.Context, email string) (bool, error) {
	found, err := db.CheckSuppression(ctx, email, "")
	return len(found) > 0, err
}

// FindSuppressions calls fn for every suppression record, oldest first. fn must not use the
// database.
func (db *DB) FindSuppressions(ctx context.Context, fn func(*Suppression) error) error {
	return db.findSuppressions(ctx, "", nil, fn)
}

func (db *DB) findSuppressions(ctx context.Context, where string, args []any, fn func(*Suppression) error) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT hash, kind, origin, reason, coalesce(campaign_id, 0), created_at
		FROM suppressions `+where+` ORDER BY created_at, hash`, args...)
	if err != nil {
		return fmt.Errorf("find suppressions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Suppression
		var created string
		if err := rows.Scan(&s.Hash, &s.Kind, &s.Origin, &s.Reason, &s.CampaignID, &created); err != nil {
			return fmt.Errorf("find suppressions: %w", err)
		}
		if s.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// rowSuppressed reports whether an import row is covered by the suppression list: by its
// address, its domain or its business ID. Domain and business-ID checks cost a hash each, so
// they run only once such a suppression exists; each domain is checked once per run.
func (w *ImportWriter) rowSuppressed(r *leadmailer.ImportRow) bool {
	if _, ok := w.suppressed[r.EmailHash]; ok {
		return true
	}
	if !w.orgSuppressed {
		return false
	}
	if w.org == nil {
		w.org = newOrgCheck(w.db.suppressionKey)
	}
	email := r.Values[leadmailer.FieldEmail]
	domain := email[strings.LastIndexByte(email, '@')+1:]
	hit, ok := w.org.domains[domain]
	if !ok {
		for _, d := range domainsOf(email) {
			if _, found := w.suppressed[string(w.org.hash("@", d))]; found {
				hit = true
				break
			}
		}
		w.org.domains[domain] = hit
	}
	if hit {
		return true
	}
	if id := r.Values[leadmailer.FieldBusinessID]; id != "" {
		_, found := w.suppressed[string(w.org.hash("business_id:", NormalizeBusinessID(id)))]
		return found
	}
	return false
}

// orgCheck is an import run's state for domain and business-ID checks: the answer per domain,
// and one reused HMAC, as a run may hash a business ID for each of a million rows.
type orgCheck struct {
	domains  map[string]bool
	mac      hash.Hash
	sum, hex []byte
}

func newOrgCheck(key []byte) *orgCheck {
	return &orgCheck{domains: map[string]bool{}, mac: hmac.New(sha256.New, key)}
}

// hash returns the hex keyed hash of prefix+s, as SuppressionHash does, in a buffer that the
// next call reuses.
func (o *orgCheck) hash(prefix, s string) []byte {
	o.mac.Reset()
	o.hex = append(append(o.hex[:0], prefix...), s...)
	o.mac.Write(o.hex)
	o.sum = o.mac.Sum(o.sum[:0])
	o.hex = hex.AppendEncode(o.hex[:0], o.sum)
	return o.hex
}

// inTx runs fn in a transaction.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
