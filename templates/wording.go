package templates

import (
	"strings"

	"github.com/leadmailer/leadmailer"
)

// Language is the language of a message's notices, as an ISO 639-1 code.
type Language string

// The notice languages.
const (
	English Language = "en"
	Finnish Language = "fi"
	Swedish Language = "sv"
)

// LanguageFor returns the notice language for a lead in country (ISO 3166-1 alpha-2):
// Finnish for Finland, Swedish for Sweden, English for everyone else.
func LanguageFor(country string) Language {
	switch strings.ToUpper(strings.TrimSpace(country)) {
	case "FI":
		return Finnish
	case "SE":
		return Swedish
	}
	return English
}

// Wording is the text of the notices the layout appends to every message, in one language.
// An empty string takes the default, so a caller overrides only what it wants to change; a
// notice part can therefore never be blanked out.
type Wording struct {
	// SourceHeading heads the public-source notice. The renderer checks that it is in every
	// message to a lead with public-source data, and in no other.
	SourceHeading string
	// SourceIntro says that the sources listed are publicly accessible and that some of the
	// lead's details come from them.
	SourceIntro string
	// Labels of the lines under each source's title.
	RetrievedLabel, DataLabel, LicenceLabel string
	// DateLayout formats the retrieval date (a time.Format layout, in UTC).
	DateLayout string
	// FieldNames names each lead field as the notice lists it, indexed by leadmailer.Field.
	FieldNames [leadmailer.NumFields]string

	// ObjectionHeading and Objection make the right-to-object block; UnsubscribeLink is the
	// text of its one-click unsubscribe link.
	ObjectionHeading, Objection, UnsubscribeLink string

	// SenderLabel introduces the sender's name and postal address; PrivacyPolicyLink is the
	// text of the link to the privacy policy.
	SenderLabel, PrivacyPolicyLink string
}

// Wordings holds the Wording of each notice language.
type Wordings struct {
	English, Finnish, Swedish Wording
}

// For returns the wording of lang, English for an unknown language.
func (w *Wordings) For(lang Language) *Wording {
	switch lang {
	case Finnish:
		return &w.Finnish
	case Swedish:
		return &w.Swedish
	}
	return &w.English
}

// DefaultWordings returns leadmailer's own wording of the notices.
func DefaultWordings() Wordings {
	return Wordings{
		English: Wording{
			SourceHeading:  "Where we got your details",
			SourceIntro:    "Some of the details we hold about you come from the publicly accessible sources listed below.",
			RetrievedLabel: "Retrieved",
			DataLabel:      "Details",
			LicenceLabel:   "Licence",
			DateLayout:     "2 January 2006",
			FieldNames: [leadmailer.NumFields]string{
				"email address", "name", "company name", "country", "business ID", "job title",
				"website", "phone number", "city",
			},
			ObjectionHeading:  "Your right to object",
			Objection:         "You can object to direct marketing at any time, free of charge. Use the link below and we will stop sending you marketing messages.",
			UnsubscribeLink:   "Unsubscribe with one click",
			SenderLabel:       "Sender",
			PrivacyPolicyLink: "Privacy policy",
		},
		Finnish: Wording{
			SourceHeading:  "Osoitelähde",
			SourceIntro:    "Osa sinua koskevista tiedoistamme on peräisin alla mainituista julkisesti saatavilla olevista lähteistä.",
			RetrievedLabel: "Haettu",
			DataLabel:      "Tiedot",
			LicenceLabel:   "Lisenssi",
			DateLayout:     "2.1.2006",
			FieldNames: [leadmailer.NumFields]string{
				"sähköpostiosoite", "nimi", "yrityksen nimi", "maa", "Y-tunnus", "tehtävänimike",
				"verkkosivusto", "puhelinnumero", "paikkakunta",
			},
			ObjectionHeading:  "Oikeutesi kieltää suoramarkkinointi",
			Objection:         "Voit milloin tahansa maksutta kieltää sinuun kohdistuvan suoramarkkinoinnin. Kun käytät alla olevaa linkkiä, emme enää lähetä sinulle markkinointiviestejä.",
			UnsubscribeLink:   "Kiellä suoramarkkinointi yhdellä napsautuksella",
			SenderLabel:       "Lähettäjä",
			PrivacyPolicyLink: "Tietosuojaseloste",
		},
		Swedish: Wording{
			SourceHeading:  "Adresskälla",
			SourceIntro:    "En del av de uppgifter vi har om dig kommer från de offentligt tillgängliga källor som anges nedan.",
			RetrievedLabel: "Hämtade",
			DataLabel:      "Uppgifter",
			LicenceLabel:   "Licens",
			DateLayout:     "2006-01-02",
			FieldNames: [leadmailer.NumFields]string{
				"e-postadress", "namn", "företagsnamn", "land", "organisationsnummer", "befattning",
				"webbplats", "telefonnummer", "ort",
			},
			ObjectionHeading:  "Din rätt att invända",
			Objection:         "Du kan när som helst och utan kostnad invända mot direktmarknadsföring. Använd länken nedan så slutar vi skicka marknadsföring till dig.",
			UnsubscribeLink:   "Avregistrera dig med ett klick",
			SenderLabel:       "Avsändare",
			PrivacyPolicyLink: "Integritetspolicy",
		},
	}
}

// withDefaults returns w with every empty string taken from def and every string on one
// line with single spaces: the renderer looks for these strings in the converted text of
// each message, where white space is collapsed.
func (w Wording) withDefaults(def Wording) Wording {
	for _, p := range []struct {
		got *string
		def string
	}{
		{&w.SourceHeading, def.SourceHeading},
		{&w.SourceIntro, def.SourceIntro},
		{&w.RetrievedLabel, def.RetrievedLabel},
		{&w.DataLabel, def.DataLabel},
		{&w.LicenceLabel, def.LicenceLabel},
		{&w.DateLayout, def.DateLayout},
		{&w.ObjectionHeading, def.ObjectionHeading},
		{&w.Objection, def.Objection},
		{&w.UnsubscribeLink, def.UnsubscribeLink},
		{&w.SenderLabel, def.SenderLabel},
		{&w.PrivacyPolicyLink, def.PrivacyPolicyLink},
	} {
		*p.got = cleanLine(*p.got)
		if *p.got == "" {
			*p.got = p.def
		}
	}
	for i := range w.FieldNames {
		w.FieldNames[i] = cleanLine(w.FieldNames[i])
		if w.FieldNames[i] == "" {
			w.FieldNames[i] = def.FieldNames[i]
		}
	}
	return w
}

func (w Wordings) withDefaults() Wordings {
	def := DefaultWordings()
	for _, lang := range []Language{English, Finnish, Swedish} {
		*w.For(lang) = w.For(lang).withDefaults(*def.For(lang))
	}
	return w
}

// fieldList names fields in w's language, in their fixed order, separated by commas.
func (w *Wording) fieldList(set leadmailer.FieldSet) string {
	var b strings.Builder
	for _, f := range set.Fields() {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w.FieldNames[f])
	}
	return b.String()
}
