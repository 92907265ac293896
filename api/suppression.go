package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// The suppression list holds keyed hashes, never addresses, domains or business IDs: these
// endpoints answer about the entry the caller names and never list the stored ones, so they
// never echo anything that is not the caller's own input.

// suppressionInput is the body of POST /api/v1/suppressions: exactly one of address, domain
// and business_id, and why.
type suppressionInput struct {
	Address    string `json:"address"`
	Domain     string `json:"domain"`
	BusinessID string `json:"business_id"`
	Reason     string `json:"reason"`
}

// suppressionAnswer is one suppression record, named by its hash.
type suppressionAnswer struct {
	Kind      string    `json:"kind"`
	Hash      string    `json:"hash"`
	Origin    string    `json:"origin"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// LeadsMadeInactive is how many leads the new entry made inactive; absent when the
	// entry was there already or is being removed.
	LeadsMadeInactive *int64 `json:"leads_made_inactive,omitempty"`
}

func answerOf(s *store.Suppression) suppressionAnswer {
	return suppressionAnswer{Kind: s.Kind, Hash: s.Hash, Origin: s.Origin, Reason: s.Reason, CreatedAt: s.CreatedAt}
}

// entryOf returns the one entry named by address, domain and businessID, named by the
// parameters or fields of those names.
func entryOf(address, domain, businessID string) (store.SuppressionEntry, error) {
	var e store.SuppressionEntry
	n := 0
	for _, c := range []struct{ kind, v string }{{store.SuppressAddress, address}, {store.SuppressDomain, domain}, {store.SuppressBusinessID, businessID}} {
		if strings.TrimSpace(c.v) != "" {
			e.Kind, e.Value = c.kind, c.v
			n++
		}
	}
	if n != 1 {
		return e, fieldErrorf("address", "give exactly one of address, domain and business_id")
	}
	return e, nil
}

// entryError names the field of an entry the store refused.
func entryError(e store.SuppressionEntry, err error) error {
	if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
		return fieldErrorf(e.Kind, "%s", err.Error())
	}
	return err
}

// entryTarget names an entry in the audit trail by its kind and the start of its hash, as
// "leadmailer suppress" does.
func entryTarget(kind, hash string) string { return kind + " " + hash[:16] }

// suppressionAdd puts an address, a domain or a business ID on the suppression list, as
// "leadmailer suppress" does: the leads it covers are made inactive, and no import adds or
// updates them again. Adding what is there already keeps the first record (200, not 201).
func (s *Server) suppressionAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var in suppressionInput
	if err := decodeJSON(bytes.NewReader(body), &in, ""); err != nil {
		return err
	}
	e, err := entryOf(in.Address, in.Domain, in.BusinessID)
	if err != nil {
		return err
	}
	e.Origin, e.Reason = store.OriginAdmin, strings.TrimSpace(in.Reason)
	if e.Reason == "" {
		return fieldErrorf("reason", "give the reason, such as \"asked by phone not to be mailed\"")
	}
	hash, err := s.db.EntryHash(e)
	if err != nil {
		return entryError(e, err)
	}
	return s.idempotent(w, r, c, requestHash(r, body), func() (int, []byte, error) {
		status := http.StatusCreated
		var made *int64
		if _, err := s.db.FindSuppression(r.Context(), hash); err == nil {
			status = http.StatusOK
		} else if leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
			return 0, nil, err
		} else {
			n, err := s.db.Suppress(r.Context(), e)
			if err != nil {
				return 0, nil, entryError(e, err)
			}
			made = &n
			if err := s.audit(r, c, leadmailer.AuditSuppressionAdd, entryTarget(e.Kind, hash), e.Reason); err != nil {
				return 0, nil, err
			}
		}
		rec, err := s.db.FindSuppression(r.Context(), hash)
		if err != nil {
			return 0, nil, err
		}
		ans := answerOf(rec)
		ans.LeadsMadeInactive = made
		b, err := json.Marshal(ans)
		return status, append(b, '\n'), err
	})
}

// suppressionCheck says whether the suppression list covers an address: by itself, by its
// domain or a parent domain, or by business_id when given. It answers true or false, all a
// sender needs before mailing. The check is recorded by the address's hash: whether someone
// may be mailed is personal data.
func (s *Server) suppressionCheck(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	address := strings.TrimSpace(q.Get("address"))
	if address == "" {
		return fieldErrorf("address", "give the address to check in ?address=")
	}
	norm, err := leadmailer.NormalizeEmail(address)
	if err != nil {
		return fieldErrorf("address", "%s", err.Error())
	}
	if err := s.audit(r, c, leadmailer.AuditSuppressionCheck, entryTarget(store.SuppressAddress, s.db.SuppressionHash(norm)), ""); err != nil {
		return err
	}
	found, err := s.db.CheckSuppression(r.Context(), norm, q.Get("business_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Suppressed bool `json:"suppressed"`
	}{len(found) > 0})
	return nil
}

// suppressionRemove takes an administrator's entry off the list. An objection or an
// erasure's entry is refused with a conflict: see store.RemoveSuppression.
func (s *Server) suppressionRemove(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	e, err := entryOf(q.Get("address"), q.Get("domain"), q.Get("business_id"))
	if err != nil {
		return err
	}
	removed, err := s.db.RemoveSuppression(r.Context(), e)
	if err != nil {
		return entryError(e, err)
	}
	if err := s.audit(r, c, leadmailer.AuditSuppressionRemove, entryTarget(e.Kind, removed.Hash), strings.TrimSpace(q.Get("reason"))); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answerOf(removed))
	return nil
}
