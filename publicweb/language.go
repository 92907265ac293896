package publicweb

import (
	"net/http"
	"strconv"
	"strings"
)

// texts are the unsubscribe pages' words in the languages marketing mail is written in.
type texts struct {
	Lang                              string
	SenderLabel                       string
	ConfirmTitle, ConfirmText, Button string
	DoneTitle, DoneText               string
	InvalidTitle, InvalidText         string
	RetryTitle, RetryText             string
}

var pageTexts = map[string]*texts{
	"en": {
		Lang:         "en",
		SenderLabel:  "Sender",
		ConfirmTitle: "Unsubscribe from marketing",
		ConfirmText:  "Press the button to receive no more marketing messages from us.",
		Button:       "Unsubscribe",
		DoneTitle:    "You are unsubscribed",
		DoneText:     "You will receive no more marketing messages from us.",
		InvalidTitle: "Link not valid",
		InvalidText:  "This unsubscribe link is not valid. Please use the link exactly as it appears in the message.",
		RetryTitle:   "Please try again",
		RetryText:    "Your request could not be saved just now. Please try again in a minute.",
	},
	"fi": {
		Lang:         "fi",
		SenderLabel:  "Lähettäjä",
		ConfirmTitle: "Markkinointiviestien peruminen",
		ConfirmText:  "Paina painiketta, niin emme lähetä sinulle enää markkinointiviestejä.",
		Button:       "Peru tilaus",
		DoneTitle:    "Tilaus on peruttu",
		DoneText:     "Emme lähetä sinulle enää markkinointiviestejä.",
		InvalidTitle: "Linkki ei kelpaa",
		InvalidText:  "Tämä peruutuslinkki ei kelpaa. Käytä linkkiä täsmälleen sellaisena kuin se on viestissä.",
		RetryTitle:   "Yritä uudelleen",
		RetryText:    "Pyyntöäsi ei voitu tallentaa juuri nyt. Yritä uudelleen hetken kuluttua.",
	},
	"sv": {
		Lang:         "sv",
		SenderLabel:  "Avsändare",
		ConfirmTitle: "Avsluta marknadsföringsutskick",
		ConfirmText:  "Tryck på knappen så skickar vi inga fler marknadsföringsmeddelanden till dig.",
		Button:       "Avsluta prenumerationen",
		DoneTitle:    "Prenumerationen är avslutad",
		DoneText:     "Du får inga fler marknadsföringsmeddelanden från oss.",
		InvalidTitle: "Länken är ogiltig",
		InvalidText:  "Den här länken är ogiltig. Använd länken exakt som den står i meddelandet.",
		RetryTitle:   "Försök igen",
		RetryText:    "Din begäran kunde inte sparas just nu. Försök igen om en stund.",
	},
}

// pickTexts chooses the page language from the browser's Accept-Language header: the
// supported language with the highest weight, English when none is supported.
func pickTexts(r *http.Request) *texts {
	best, bestQ := pageTexts["en"], 0.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if t, ok := pageTexts[lang]; ok && q > bestQ {
			best, bestQ = t, q
		}
	}
	return best
}
