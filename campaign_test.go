package leadmailer_test

import (
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
)

func TestCampaignValidate(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	good := func() leadmailer.Campaign {
		return leadmailer.Campaign{Name: "Winter", Subject: "Hello {{.Lead.Name}}", HTML: "<p>Hi</p>"}
	}
	for _, tc := range []struct {
		name      string
		change    func(*leadmailer.Campaign)
		wantField string
	}{
		{"complete", func(c *leadmailer.Campaign) {}, ""},
		{"every kind", func(c *leadmailer.Campaign) {
			c.Kinds = []leadmailer.SourceKind{leadmailer.KindUpload, leadmailer.KindPublic, leadmailer.KindWebsite, leadmailer.KindAPI}
		}, ""},
		{"blank name", func(c *leadmailer.Campaign) { c.Name = " \t" }, "name"},
		{"no subject", func(c *leadmailer.Campaign) { c.Subject = "" }, "subject"},
		{"blank body", func(c *leadmailer.Campaign) { c.HTML = "\n" }, "html"},
		{"time and cron", func(c *leadmailer.Campaign) { c.SendAt, c.Cron = &at, "0 9 * * 1" }, "cron"},
		{"unknown kind", func(c *leadmailer.Campaign) { c.Kinds = []leadmailer.SourceKind{leadmailer.KindPublic, "rumour"} }, "kinds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			field, err := c.Validate()
			if field != tc.wantField {
				t.Errorf("field %q, want %q", field, tc.wantField)
			}
			switch {
			case tc.wantField == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantField != "" && leadmailer.ErrorCode(err) != leadmailer.EINVALID:
				t.Errorf("error %v, want an invalid one", err)
			}
		})
	}
}
