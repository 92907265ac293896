package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/leadmailer/leadmailer"
)

func TestDecodeHeaders(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"encoded subject", "Subject: =?utf-8?q?Kev=C3=A4=C3=A4ll=C3=A4_tarjous?=", "Subject: Keväällä tarjous"},
		{"folded encoded subject", "Subject: =?utf-8?q?Kev=C3=A4=C3=A4ll=C3=A4_tarjous_Virtanen_International_Tr?=\n =?utf-8?q?ading?=",
			"Subject: Keväällä tarjous Virtanen International Trading"},
		{"address with an encoded name", "From: =?utf-8?q?J=C3=BCrgen_Wei=C3=9F?= <jw@example.de>", "From: Jürgen Weiß <jw@example.de>"},
		{"base64", "Subject: =?UTF-8?b?S2V2w6TDpGxsw6Q=?=", "Subject: Keväällä"},
		{"plain fields keep their order", "To: anna@example.fi\nMIME-Version: 1.0", "To: anna@example.fi\nMIME-Version: 1.0"},
		{"folded plain field", "List-Unsubscribe: <https://leads.example/u/abc>,\n <mailto:u@example>", "List-Unsubscribe: <https://leads.example/u/abc>, <mailto:u@example>"},
		{"unknown charset shown as sent", "Subject: =?x-unknown?q?abc?=", "Subject: =?x-unknown?q?abc?="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeHeaders(tt.raw); got != tt.want {
				t.Errorf("decodeHeaders(%q)\n got %q\nwant %q", tt.raw, got, tt.want)
			}
		})
	}
}

// TestBrowserPreviewShowsWholeMessage opens a campaign's preview for a lead from a public
// database, on a desktop and on a phone: the frame must show the whole message, so that the
// notice of the source is read in full without scrolling inside it, and the headers must be
// readable, with the raw ones one click away.
func TestBrowserPreviewShowsWholeMessage(t *testing.T) {
	ctx, shot := browser(t)
	a, _ := newCampaignApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	anna := seedPublicLead(t, a, "anna@registry.example", "Anna Smith", "Smith Trading Ltd", "GB")
	c := &leadmailer.Campaign{Name: "Spring", Subject: `Keväällä tarjous {{default "you" .Lead.Company}}`, HTML: longCampaignHTML,
		State: leadmailer.CampaignDraft, CreatedBy: "user:mark"}
	if err := a.db.CreateCampaign(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "log in",
		chromedp.Navigate(a.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#name"), "mark"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("mark")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#count-total")))

	for _, width := range []int64{1280, phoneWidth} {
		do(t, ctx, "preview", chromedp.EmulateViewport(width, 844),
			chromedp.Navigate(a.ts.URL+"/campaigns/"+itoa(c.ID)+"/preview?lead="+anna.Email),
			chromedp.WaitVisible(chromedp.CSS(`#preview-frame[data-fitted="true"]`)))
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
			const f = document.getElementById("preview-frame"), d = f.contentDocument.documentElement;
			return {frame: f.clientHeight, message: d.scrollHeight, frameWidth: f.clientWidth, messageWidth: d.scrollWidth,
				notice: d.textContent.includes("Where we got your details")};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if shown["notice"] != true {
			t.Fatalf("at %dpx the previewed message has no notice of the source", width)
		}
		if shown["message"].(float64) > shown["frame"].(float64) || shown["messageWidth"].(float64) > shown["frameWidth"].(float64) {
			t.Errorf("at %dpx the frame shows %vx%vpx of a %vx%vpx message: the notice at its end is cut off",
				width, shown["frameWidth"], shown["frame"], shown["messageWidth"], shown["message"])
		}
		shot("preview-" + itoa(width))
	}

	if got := text(t, ctx, "#preview-headers"); !strings.Contains(got, "Subject: Keväällä tarjous Smith Trading Ltd") {
		t.Errorf("headers box shows:\n%s\nwant the subject decoded", got)
	}
	do(t, ctx, "open the raw headers", chromedp.Click(chromedp.CSS("#raw-headers summary")),
		chromedp.WaitVisible(chromedp.CSS("#preview-raw-headers")))
	if got := text(t, ctx, "#preview-raw-headers"); !strings.Contains(got, "Subject: =?") {
		t.Errorf("raw headers:\n%s\nwant the subject as sent, encoded", got)
	}
}
