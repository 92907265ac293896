package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the rendered output")

// testSender is the sender every test renders with; its address is written on three lines,
// as a config file would hold it.
var testSender = Sender{
	From:             "Focus Marketing <marketing@focus.example>",
	Company:          "Focus Marketing Oy",
	PostalAddress:    "Mannerheimintie 1 A\n00100 Helsinki\nFinland",
	PrivacyPolicyURL: "https://focus.example/privacy",
}

const testUnsubscribe = "https://focus.example/u?t=tok42"

// The campaigns of the golden files, one per language as marketing would write them: no
// text body, so the text part is derived from the HTML.
var (
	finnishCampaign = Campaign{
		Subject: `{{default "Hei" .Lead.FirstName}}, kierrätetyt kuormalavat nyt varastosta`,
		HTML: `<h1>Hei{{with .Lead.FirstName}} {{.}}{{end}}!</h1>
<p>Kierrätetyt kuormalavamme sopivat {{with .Lead.Company}}myös yritykselle {{.}}{{else}}teillekin{{end}} &ndash; ja ne ovat 30&nbsp;% edullisempia kuin uudet.</p>
<ul>
<li>Valmistettu Suomessa</li>
<li>Toimitus viikon sisällä</li>
</ul>
<p><a href="https://focus.example/lavat?lead={{.Lead.ID}}">Tutustu valikoimaan</a></p>
<p>Ystävällisin terveisin<br>{{.Sender.Company}}</p>
`,
	}
	swedishCampaign = Campaign{
		Subject: `{{default "Hej" .Lead.FirstName}}, återvunna lastpallar direkt från lager`,
		HTML: `<h1>Hej{{with .Lead.FirstName}} {{.}}{{end}}!</h1>
<p>Våra återvunna lastpallar passar {{with .Lead.Company}}även {{.}}{{else}}er också{{end}} &ndash; och de kostar 30&nbsp;% mindre än nya.</p>
<ul>
<li>Tillverkade i Finland</li>
<li>Leverans inom en vecka</li>
</ul>
<p><a href="https://focus.example/pallar?lead={{.Lead.ID}}">Se sortimentet</a></p>
<p>Med vänliga hälsningar<br>{{.Sender.Company}}</p>
`,
	}
	englishCampaign = Campaign{
		Subject: `{{default "Hello" .Lead.FirstName}}, recycled pallets in stock now`,
		HTML: `<h1>Hello {{default "there" .Lead.FirstName}},</h1>
<p>Our recycled pallets suit {{default "your company" .Lead.Company}} too &ndash; and cost 30&nbsp;% less than new ones.</p>
<ul>
<li>Made in Finland</li>
<li>Delivered within a week</li>
</ul>
<p><a href="https://focus.example/pallets?lead={{.Lead.ID}}">See the range</a></p>
<p>Kind regards,<br>{{.Sender.Company}}</p>
`,
	}
)

var (
	prhRetrieved   = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	bolagRetrieved = time.Date(2026, 2, 14, 6, 0, 0, 0, time.UTC)
	uploadStarted  = time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC)
)

// prh is a public source with a licence that asks for attribution.
var prh = PublicSource{
	Name:        "prh",
	Title:       "Yritys- ja yhteisötietojärjestelmä YTJ (PRH:n avoin data)",
	Licence:     "CC BY 4.0, Patentti- ja rekisterihallitus",
	RetrievedAt: prhRetrieved,
	Fields:      []leadmailer.Field{leadmailer.FieldCompany, leadmailer.FieldBusinessID, leadmailer.FieldCity},
}

// bolagsverket is a public source whose licence asks no attribution.
var bolagsverket = PublicSource{
	Name:        "bolagsverket",
	Title:       "Bolagsverkets näringslivsregister",
	RetrievedAt: bolagRetrieved,
	Fields:      []leadmailer.Field{leadmailer.FieldName, leadmailer.FieldCompany},
}

func lead(country, name, company string) *leadmailer.Lead {
	return &leadmailer.Lead{ID: 42, Email: "lead@customer.example", Name: name, Company: company, Country: country, State: leadmailer.LeadActive}
}

// mixedLead is a Finnish lead whose e-mail address and name came from a CSV upload (run 1)
// and whose company name came from the trade register (run 2).
func mixedLead(t *testing.T) Recipient {
	t.Helper()
	l := lead("FI", "Mikko Laine", "Laine Logistics Oy")
	l.FieldRuns[leadmailer.FieldEmail] = 1
	l.FieldRuns[leadmailer.FieldName] = 1
	l.FieldRuns[leadmailer.FieldCountry] = 1
	l.FieldRuns[leadmailer.FieldCompany] = 2
	runs := map[int64]*leadmailer.ImportRun{
		1: {ID: 1, Source: "trade-fair-2026", Kind: leadmailer.KindUpload, StartedAt: uploadStarted},
		2: {ID: 2, Source: "prh", Kind: leadmailer.KindPublic, StartedAt: prhRetrieved},
	}
	sources, err := PublicSourcesOf(l, runs, func(name string) SourceInfo {
		if name == "prh" {
			return SourceInfo{Title: prh.Title, Licence: prh.Licence}
		}
		return SourceInfo{}
	})
	if err != nil {
		t.Fatalf("PublicSourcesOf: %v", err)
	}
	return Recipient{Lead: l, PublicSources: sources}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name     string
		campaign Campaign
		r        func(t *testing.T) Recipient
		wantLang Language
		// want and notWant are lines the text part must and must not hold.
		want, notWant []string
	}{{
		name:     "fi_public",
		campaign: finnishCampaign,
		r: func(*testing.T) Recipient {
			return Recipient{Lead: lead("FI", "Anna Virtanen", "Puutavara Virtanen Oy"), PublicSources: []PublicSource{prh}}
		},
		wantLang: Finnish,
		want:     []string{"Osoitelähde", "* " + prh.Title, "  Haettu: 2.3.2026", "  Tiedot: yrityksen nimi, Y-tunnus, paikkakunta", "  Lisenssi: " + prh.Licence, "Oikeutesi kieltää suoramarkkinointi"},
	}, {
		name:     "fi_uploaded_only",
		campaign: finnishCampaign,
		r:        func(*testing.T) Recipient { return Recipient{Lead: lead("FI", "Liisa Korhonen", "")} },
		wantLang: Finnish,
		want:     []string{"Oikeutesi kieltää suoramarkkinointi", "Lähettäjä: Focus Marketing Oy, Mannerheimintie 1 A, 00100 Helsinki, Finland"},
		notWant:  []string{"Osoitelähde"},
	}, {
		name:     "fi_registry_company_uploaded_email",
		campaign: finnishCampaign,
		r:        mixedLead,
		wantLang: Finnish,
		want:     []string{"Osoitelähde", "* " + prh.Title, "  Haettu: 2.3.2026", "  Tiedot: yrityksen nimi"},
		notWant:  []string{"* trade-fair-2026"},
	}, {
		name:     "se_public_no_licence",
		campaign: swedishCampaign,
		r: func(*testing.T) Recipient {
			return Recipient{Lead: lead("SE", "Erik Lindqvist", "Lindqvist Trä AB"), PublicSources: []PublicSource{bolagsverket}}
		},
		wantLang: Swedish,
		want:     []string{"Adresskälla", "* " + bolagsverket.Title, "  Hämtade: 2026-02-14", "  Uppgifter: namn, företagsnamn", "Din rätt att invända"},
		notWant:  []string{"  Licens:"},
	}, {
		name:     "en_public_licence",
		campaign: englishCampaign,
		r: func(*testing.T) Recipient {
			return Recipient{Lead: lead("GB", "", "Harbour Supplies Ltd"), PublicSources: []PublicSource{prh}}
		},
		wantLang: English,
		want:     []string{"Hello there,", "Where we got your details", "  Retrieved: 2 March 2026", "  Licence: " + prh.Licence},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compile(tc.campaign, testSender, Wordings{})
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			r := tc.r(t)
			r.UnsubscribeURL = testUnsubscribe
			m, err := c.Render(r)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if m.Language != tc.wantLang {
				t.Errorf("Language = %q, want %q", m.Language, tc.wantLang)
			}
			lines := strings.Split(m.Text, "\n")
			for _, w := range tc.want {
				if !containsLine(lines, w) {
					t.Errorf("text part has no line %q", w)
				}
			}
			for _, w := range tc.notWant {
				if containsLine(lines, w) || strings.Contains(m.HTML, strings.TrimSpace(w)) {
					t.Errorf("message has %q, which it must not", w)
				}
			}
			checkGolden(t, tc.name+".subject.golden", m.Subject+"\n")
			checkGolden(t, tc.name+".html.golden", m.HTML)
			checkGolden(t, tc.name+".txt.golden", m.Text)
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates/ -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendering; got:\n%s\nwant:\n%s", path, got, want)
	}
}
