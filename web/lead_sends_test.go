package web

import (
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

// TestLeadPageShowsTheSubjectAsSent checks that "Mail sent to this lead" gives the subject
// the lead got, rendered with the lead's values, and not the campaign's template.
func TestLeadPageShowsTheSubjectAsSent(t *testing.T) {
	a, m := newCampaignApp(t, Options{})
	a.addUser("vera", leadmailer.RoleViewer)
	anna := seedPublicLead(t, a, "anna@registry.example", "Anna Smith", "Smith Trading Ltd", "GB")
	bob := seedPublicLead(t, a, "bob@registry.example", "Bob Jones", "", "GB")
	sendCampaign(t, a, m, &leadmailer.Campaign{Name: "Spring offer",
		Subject: `Keväällä: an offer for {{default "you" .Lead.Company}}`, HTML: "<p>Hello {{.Lead.Name}}</p>"})

	// The registry renames Anna's company after the send: her page still says what she got.
	if l := seedPublicLead(t, a, "anna@registry.example", "Anna Smith", "Smith Holdings Ltd", "GB"); l.Company != "Smith Holdings Ltd" {
		t.Fatalf("the re-import left the company %q", l.Company)
	}
	c := a.login("vera")
	for _, tt := range []struct {
		lead *leadmailer.Lead
		want string
	}{
		{anna, "<td>Keväällä: an offer for Smith Trading Ltd</td>"},
		{bob, "<td>Keväällä: an offer for you</td>"},
	} {
		body := c.get("/leads/" + itoa(tt.lead.ID)).body
		start := strings.Index(body, `<table id="sends">`)
		if start < 0 {
			t.Fatalf("%s: no mail listed:\n%s", tt.lead.Email, body)
		}
		sends, _, _ := strings.Cut(body[start:], "</table>")
		if !strings.Contains(sends, tt.want) {
			t.Errorf("%s: mail sent lacks %q:\n%s", tt.lead.Email, tt.want, sends)
		}
		if strings.Contains(sends, "{{") {
			t.Errorf("%s: mail sent shows the subject's template:\n%s", tt.lead.Email, sends)
		}
	}
}
