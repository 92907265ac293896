package publicweb

import (
	"fmt"
	"html/template"
	"net/http"
)

// unsubscribePage is both the confirmation page (GET) and the answer to the objection (POST).
// A GET changes nothing: mail scanners follow links, and only the button (or a mail client's
// RFC 8058 one-click POST) records the objection.
var unsubscribePage = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem}</style></head>
<body><h1>{{.Title}}</h1>
{{with .Sender}}<p class="sender">{{$.SenderLabel}}: <strong>{{.}}</strong></p>{{end}}
<p>{{.Text}}</p>
{{if .Button}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{.Button}}</button></form>{{end}}
</body></html>
`))

type pageData struct {
	Lang, Title, Text, Button string
	// Sender names the company whose marketing the person leaves, as the mail's footer
	// does: "us" on its own does not tell someone with several subscriptions who that is.
	Sender, SenderLabel string
}

func (h *Handlers) unsubscribe(w http.ResponseWriter, r *http.Request) {
	publicHeaders(w)
	w.Header().Set("Vary", "Accept-Language")
	tx := pickTexts(r)
	campaignID, leadID, err := h.signer.Parse(r.PathValue("token"))
	if err != nil {
		// The same answer for every bad token, so that nothing is learnt from guessing.
		h.page(w, http.StatusNotFound, pageData{Lang: tx.Lang, Title: tx.InvalidTitle, Text: tx.InvalidText})
		return
	}
	if r.Method != http.MethodPost {
		h.page(w, http.StatusOK, pageData{Lang: tx.Lang, Title: tx.ConfirmTitle, Text: tx.ConfirmText, Button: tx.Button})
		return
	}
	if err := h.store.ObjectLead(r.Context(), campaignID, leadID); err != nil {
		h.log.Error("record objection", "campaign", campaignID, "lead", leadID, "err", err)
		h.page(w, http.StatusInternalServerError, pageData{Lang: tx.Lang, Title: tx.RetryTitle, Text: tx.RetryText})
		return
	}
	h.log.Info("objection recorded", "campaign", campaignID, "lead", leadID)
	h.audit(r.Context(), AuditObjection, fmt.Sprintf("lead %d", leadID), fmt.Sprintf("campaign %d", campaignID), h.clientIP(r))
	h.page(w, http.StatusOK, pageData{Lang: tx.Lang, Title: tx.DoneTitle, Text: tx.DoneText})
}

func (h *Handlers) page(w http.ResponseWriter, status int, d pageData) {
	d.Sender = h.company
	d.SenderLabel = pageTexts[d.Lang].SenderLabel
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := unsubscribePage.Execute(w, d); err != nil {
		h.log.Warn("write page", "err", err)
	}
}

// publicHeaders keeps the pages out of caches and frames, and keeps the token in the address
// from leaking to other sites through the Referer header.
func publicHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
}
