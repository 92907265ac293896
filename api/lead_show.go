package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/leadmailer/leadmailer"
)

// leadDetail is the answer of GET /api/v1/leads/{id}: the lead, where each of its current
// values came from, and every observation of it as received.
type leadDetail struct {
	Lead         *leadmailer.Lead         `json:"lead"`
	Fields       []fieldOrigin            `json:"fields"`
	Observations []leadmailer.Observation `json:"observations"`
}

// fieldOrigin is one current value and the import row that supplied it.
type fieldOrigin struct {
	Field      string                `json:"field"`
	Value      string                `json:"value"`
	RunID      int64                 `json:"run_id"`
	Source     string                `json:"source"`
	Kind       leadmailer.SourceKind `json:"kind"`
	FileName   string                `json:"file_name,omitempty"`
	Row        int64                 `json:"row"`
	ObservedAt time.Time             `json:"observed_at"`
}

// findLead returns the lead named by the path's {id}.
func (s *Server) findLead(r *http.Request) (*leadmailer.Lead, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no lead %q", r.PathValue("id"))
	}
	return s.db.FindLeadByID(r.Context(), id)
}

func leadTarget(id int64) string { return "lead " + strconv.FormatInt(id, 10) }

// leadShow answers one lead with its provenance, recorded as a view of the lead.
func (s *Server) leadShow(w http.ResponseWriter, r *http.Request, c *call) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditLeadView, leadTarget(lead.ID), ""); err != nil {
		return err
	}
	obs, err := s.db.FindObservations(r.Context(), lead.ID)
	if err != nil {
		return err
	}
	d := leadDetail{Lead: lead, Fields: []fieldOrigin{}, Observations: obs}
	if d.Observations == nil {
		d.Observations = []leadmailer.Observation{}
	}
	for _, f := range leadmailer.AllFields() {
		if lead.Value(f) == "" {
			continue
		}
		fo := fieldOrigin{Field: f.String(), Value: lead.Value(f), RunID: lead.FieldRuns[f]}
		// The latest observation of the supplying run with this field is the row it came from.
		for i := range obs {
			if o := &obs[i]; o.RunID == lead.FieldRuns[f] && o.Supplied.Has(f) {
				fo.Source, fo.Kind, fo.FileName, fo.Row, fo.ObservedAt = o.Source, o.Kind, o.FileName, o.Row, o.ObservedAt
			}
		}
		d.Fields = append(d.Fields, fo)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
