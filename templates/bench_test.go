package templates

import "testing"

// BenchmarkRender renders one message (HTML and text parts, notices verified) for a Finnish
// lead with a public source, from a campaign without a text body.
func BenchmarkRender(b *testing.B) {
	c, err := Compile(finnishCampaign, testSender, Wordings{})
	if err != nil {
		b.Fatal(err)
	}
	r := hostileRecipient()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Render(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile parses and checks a campaign, rendering it for the six sample leads.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(finnishCampaign, testSender, Wordings{}); err != nil {
			b.Fatal(err)
		}
	}
}
