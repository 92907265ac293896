package templates

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	updateCorpus = flag.Bool("update-corpus", false, "add newly generated bodies to testdata/browser_corpus.txt")
	fuzzCache    = flag.String("fuzz-cache", "", "with -update-corpus, also add the accepted inputs of this FuzzBodyCheck corpus directory (the fuzzer's cache)")
)

// chromiumPath is Debian's headless-capable Chromium.
const chromiumPath = "/usr/bin/chromium"

// browser starts one headless Chromium on a blank page, or skips the test when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests need Chromium at %s (Debian package chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return ctx
}

// noticeCheckJS loads each message of msgs into an iframe of a phone-to-desktop width
// (600 CSS pixels, the layout's own width) without scripts, and returns for each the
// problems a reader would meet with the layout's blocks: missing, not rendered, hidden,
// wider than the window, overlapped by any box or text of the body (painted over or under
// it), or covered by something else at their centre once scrolled to.
const noticeCheckJS = `(async (msgs, ids) => {
  const results = [];
  const frames = msgs.map((m) => {
    const f = document.createElement('iframe');
    f.setAttribute('sandbox', 'allow-same-origin');
    f.style.width = '600px';
    f.style.height = '800px';
    const loaded = new Promise((ok) => f.addEventListener('load', ok, {once: true}));
    f.srcdoc = m;
    document.body.appendChild(f);
    return {f, loaded};
  });
  for (const {f, loaded} of frames) {
    await loaded;
    const win = f.contentWindow, doc = f.contentDocument;
    const problems = [];
    // Every box and line of text in the body's cell, as painted: none may overlap a notice
    // block, whether or not it is on top where the hit test looks.
    const bodyRects = [];
    const cell = doc.getElementById('lm-body');
    if (!cell) { problems.push('lm-body: missing'); }
    const walker = cell ? doc.createTreeWalker(cell, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT) : null;
    const range = doc.createRange();
    for (let n = walker && walker.nextNode(); n; n = walker.nextNode()) {
      let rects;
      if (n.nodeType === Node.TEXT_NODE) { range.selectNodeContents(n); rects = range.getClientRects(); }
      else { rects = n.getClientRects(); }
      const what = n.nodeType === Node.TEXT_NODE ? 'text' : '<' + n.tagName.toLowerCase() + '>';
      for (const r of rects) { if (r.width > 0 && r.height > 0) bodyRects.push({r, what}); }
    }
    for (const id of ids) {
      const el = doc.getElementById(id);
      if (!el) continue;
      const nr = el.getBoundingClientRect();
      const over = bodyRects.find(({r}) => r.left < nr.right - 0.5 && r.right > nr.left + 0.5 && r.top < nr.bottom - 0.5 && r.bottom > nr.top + 0.5);
      if (over) { problems.push(id + ': overlapped by ' + over.what + ' of the body (' + over.r.top + '..' + over.r.bottom + ' over ' + nr.top + '..' + nr.bottom + ')'); }
    }
    for (const id of ids) {
      const all = doc.querySelectorAll('[id="' + id + '"]');
      if (all.length !== 1) { problems.push(id + ': ' + all.length + ' elements'); continue; }
      const el = all[0];
      if (el.getClientRects().length === 0) { problems.push(id + ': not rendered'); continue; }
      if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true})) {
        problems.push(id + ': invisible'); continue;
      }
      el.scrollIntoView({block: 'center', inline: 'nearest'});
      const r = el.getBoundingClientRect();
      if (r.width < 50 || r.height < 10) { problems.push(id + ': ' + r.width + 'x' + r.height); continue; }
      if (r.left < 0 || r.right > win.innerWidth + 0.5) {
        problems.push(id + ': outside the window width (' + r.left + '..' + r.right + ' of ' + win.innerWidth + ')'); continue;
      }
      const x = (r.left + r.right) / 2, y = (r.top + Math.min(r.bottom, win.innerHeight)) / 2;
      const hit = doc.elementFromPoint(x, y);
      if (!hit || !el.contains(hit)) {
        problems.push(id + ': covered at its centre by <' + (hit ? hit.tagName.toLowerCase() : 'nothing') + '>'); continue;
      }
      const cs = win.getComputedStyle(el);
      if (parseFloat(cs.fontSize) < 12) { problems.push(id + ': font-size ' + cs.fontSize); }
    }
    results.push(problems);
    f.remove();
  }
  return results;
})`

// browserCheck renders each message in the browser and returns each one's problems.
func browserCheck(t *testing.T, ctx context.Context, msgs []string) [][]string {
	t.Helper()
	ids := []string{"lm-source-notice", "lm-objection", "lm-sender"}
	var all [][]string
	const batch = 40
	for i := 0; i < len(msgs); i += batch {
		part := msgs[i:min(i+batch, len(msgs))]
		arg, err := json.Marshal(part)
		if err != nil {
			t.Fatal(err)
		}
		idArg, _ := json.Marshal(ids)
		expr := noticeCheckJS + "(" + string(arg) + "," + string(idArg) + ")"
		res, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("check messages %d-%d in the browser: %v", i, i+len(part)-1, err)
		}
		all = append(all, res...)
	}
	return all
}

// TestBrowserNoticesVisible renders every body of the corpus that the body check accepts
// inside the layout, as a browser shows it, and requires the source notice, the objection
// and the sender block to be there, visible, within the window's width and not covered. The
// corpus is the fuzz seeds, the fuzzer's saved inputs, and testdata/browser_corpus.txt:
// bodies generated from the constructs that have hidden notices (end tags with attributes,
// unclosed quotes, table fostering, <select>, <noscript>, nested forms, entities in tag
// names, large sizes) and mutations of them, kept when the check accepts them.
func TestBrowserNoticesVisible(t *testing.T) {
	corpusFile := filepath.Join("testdata", "browser_corpus.txt")
	if *updateCorpus {
		bodies := readCorpus(t, corpusFile)
		bodies = append(bodies, generateCorpus(1, 400)...)
		if *fuzzCache != "" {
			bodies = append(bodies, readFuzzCorpus(t, *fuzzCache)...)
		}
		writeCorpus(t, corpusFile, bodies)
	}
	ctx := browser(t)
	bodies := append([]string{}, fuzzSeeds...)
	bodies = append(bodies, readCorpus(t, corpusFile)...)
	bodies = append(bodies, readFuzzCorpus(t, filepath.Join("testdata", "fuzz", "FuzzBodyCheck"))...)
	good := benign(t, hostileRecipient())
	var accepted, msgs []string
	for _, b := range bodies {
		if checkBody(b) == nil {
			accepted = append(accepted, b)
			msgs = append(msgs, strings.Replace(good.HTML, "<p>benign</p>", b, 1))
		}
	}
	if len(accepted) < 100 {
		t.Fatalf("only %d corpus bodies are accepted by the check; the corpus proves little", len(accepted))
	}
	for i, problems := range browserCheck(t, ctx, msgs) {
		if len(problems) > 0 {
			t.Errorf("checkBody accepts %q, but in the browser: %s", accepted[i], strings.Join(problems, "; "))
		}
	}
	t.Logf("%d of %d corpus bodies accepted, all with visible notices", len(accepted), len(bodies))
}

// TestBrowserNoticeOracle: the browser check of TestBrowserNoticesVisible fails for messages
// whose notices are hidden, covered or pushed out of the window: bodies that the body check
// refuses (among them the one that got past the hand-written lexer, and those that spill out
// of their box over the notice rows), and a wide body in the layout as it was before its
// tables got a fixed layout.
func TestBrowserNoticeOracle(t *testing.T) {
	ctx := browser(t)
	good := benign(t, hostileRecipient())
	withBody := func(b string) string { return strings.Replace(good.HTML, "<p>benign</p>", b, 1) }
	wide := `<p style="white-space:nowrap">` + strings.Repeat("wide ", 400) + `</p>`
	tests := []struct {
		name, body string
		msg        string // the message, when not the layout around body
	}{
		{name: "quoted attribute in an end tag", body: `<table style="display:none"><tr><td><b></b x="></td></tr></table>">`},
		{name: "layout's table closed", body: `<div style="display:none"></div></div></td></tr></table><table style="display:none"><tr><td><div><div>`},
		{name: "textarea", body: `<textarea>`},
		{name: "title", body: `<title>`},
		{name: "plaintext", body: `<plaintext>`},
		{name: "comment", body: `<!--`},
		{name: "fixed overlay", body: `<div style="position:fixed;top:0;left:0;width:100%;height:100%;background:#fff"></div>`},
		// The body's cell does not clip: these spill out of a box in the flow, over the
		// notice rows.
		{name: "content spilling out of a fixed height", body: `<div style="height:0"><div style="padding-bottom:900px;background:#fff"></div></div>`},
		{name: "inline padding below the line", body: `<p><span style="padding-bottom:900px;background:#fff">x</span></p>`},
		{name: "large font in a zero line height", body: `<p style="line-height:0;font-size:900px;margin:0"><span style="background:#fff">x</span></p>`},
		{name: "grid row below its content", body: `<div style="display:grid;grid-template-rows:0"><div style="padding-bottom:900px;background:#fff"></div></div>`},
		{name: "wide body in a layout without fixed tables", msg: strings.ReplaceAll(withBody(wide), "table-layout:fixed;", "")},
	}
	msgs := []string{good.HTML, withBody(wide)}
	for _, tc := range tests {
		if tc.msg == "" {
			if checkBody(tc.body) == nil {
				t.Errorf("%s: checkBody accepts %q", tc.name, tc.body)
			}
			tc.msg = withBody(tc.body)
		}
		msgs = append(msgs, tc.msg)
	}
	res := browserCheck(t, ctx, msgs)
	if len(res[0]) > 0 {
		t.Errorf("a harmless message fails the browser check: %v", res[0])
	}
	if len(res[1]) > 0 {
		t.Errorf("a wide body pushes the notices out of the window: %v", res[1])
	}
	for i, tc := range tests {
		if len(res[i+2]) == 0 {
			t.Errorf("%s: the browser check finds nothing wrong", tc.name)
		}
	}
}

// corpusParts are the pieces bodies are generated from: ordinary markup and every construct
// that has let a body reach the notices in one parser or another.
var corpusParts = []string{
	"<table>", "</table>", "<table style=\"display:none\">", "<tr>", "</tr>", "<td>", "</td>",
	"<tbody>", "</tbody>", "<caption>", "</caption>", "<colgroup>", "<col>", "</colgroup>",
	"<b>", "</b>", "</b x=\">", "\">", "'>", "<select>", "</select>", "<noscript>", "</noscript>",
	"<form>", "</form>", "<d&#105;v>", "<p>", "</p>", "<div>", "</div>", "<div/>", "<table/>",
	"<a href=\"https://x.example\">", "</a>", "<ul>", "<li>", "</li>", "</ul>", "x", "&lt;",
	"&#60;div&#62;", "<!--", "-->", "<pre>\n", "</pre>", "<img src=\"x\" alt=\">\">", "<br/>",
	"<h1>", "</h1>", "<font color=\"#fff\">", "</font>", "<span style=\"display:none\">", "</span>",
	"<div style=\"height:999px\">", "<div style=\"margin:0 0 999px 0;padding:0 0 999px 0\">",
	"<table width=\"5000\">", "<div style=\"width:5000px\">", "<div style=\"float:left;height:900px\">",
	"<span style=\"white-space:nowrap\">" + strings.Repeat("wide ", 400) + "</span>",
	strings.Repeat("W", 3000), "<img width=\"3000\" height=\"900\" alt=\"x\">", "<center>", "</center>",
	"<td style=\"display:none\">", "</ td>", "<xmp>", "<listing>", "<iframe>", "<math>", "<svg>",
	"<table><tr><td>", "</td></tr></table>", "<p style=\"line-height:999px\">", "\x00", "</br>",
	"<a name=\"x\">", "<div style=\"font-size:400px\">", "<q>", "</q>", "<wbr>", "<hr>",
}

// corpusElements are the elements the tree generator nests; table structure is built by
// tableOf.
var corpusElements = []string{"div", "p", "span", "b", "i", "a", "font", "center", "h1", "h2", "ul", "blockquote", "pre", "strong", "em", "small", "big", "section", "figure", "q", "u", "s"}

var corpusStyles = []string{
	"", "display:none", "visibility:hidden", "height:999px", "min-height:60em", "margin:0 0 990px 0",
	"padding:990px 0 0 0", "width:5000px", "min-width:3000px", "float:left;height:900px",
	"white-space:nowrap", "font-size:400px", "line-height:9", "overflow:hidden", "overflow:scroll;height:999px",
	"max-width:100%", "display:block;width:100vw", "display:table;width:2000px", "clear:both",
	"color:#fff;background:#fff", "border-bottom:999px solid #fff", "display:flex", "display:grid",
	"columns:3", "text-indent:-9999px", "letter-spacing:99px", "word-spacing:999px", "display:inline-block;width:900px",
	// Spilling out of a box in the flow, since the body's cell does not clip.
	"height:0", "max-height:1px", "line-height:0", "line-height:1;font-size:300px", "font:300px/1 Arial",
	"padding:4px 0;border-bottom:4px solid #000", "display:inline;padding:0 0 900px 0", "display:inline-block;padding:0 0 900px 0",
	"display:table-cell;height:0", "float:left;font-size:300px", "vertical-align:-900px", "display:list-item;list-style:square inside",
}

// generateCorpus returns up to n bodies the check accepts: random sequences of corpusParts,
// random well-nested trees with random styles, and byte mutations of both, from a fixed seed
// so that the file it writes can be regenerated.
func generateCorpus(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed))
	seen := map[string]bool{}
	var out []string
	keep := func(b string) {
		if !seen[b] && checkBody(b) == nil && len(b) < 20000 {
			seen[b] = true
			out = append(out, b)
		}
	}
	var tree func(depth int) string
	tree = func(depth int) string {
		if depth == 0 || r.IntN(4) == 0 {
			return corpusParts[r.IntN(len(corpusParts))]
		}
		var b strings.Builder
		for range 1 + r.IntN(3) {
			if r.IntN(4) == 0 {
				fmt.Fprintf(&b, "<table style=%q><tr><td style=%q>%s</td></tr></table>", corpusStyles[r.IntN(len(corpusStyles))], corpusStyles[r.IntN(len(corpusStyles))], tree(depth-1))
				continue
			}
			el := corpusElements[r.IntN(len(corpusElements))]
			attrs := ""
			if el == "a" {
				attrs = ` href="https://x.example/"`
			}
			fmt.Fprintf(&b, "<%s%s style=%q>%s</%s>", el, attrs, corpusStyles[r.IntN(len(corpusStyles))], tree(depth-1), el)
		}
		return b.String()
	}
	const alphabet = "<>/\"'= abtdrpx&#;!-\n"
	mutate := func(s string) string {
		b := []byte(s)
		for range 1 + r.IntN(3) {
			i := r.IntN(len(b) + 1)
			switch r.IntN(3) {
			case 0:
				b = append(b[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default:
				if i < len(b) {
					b[i] = alphabet[r.IntN(len(alphabet))]
				}
			}
		}
		return string(b)
	}
	for tries := 0; len(out) < n && tries < 200000; tries++ {
		var b string
		switch {
		case len(out) > 0 && r.IntN(3) == 0:
			b = mutate(out[r.IntN(len(out))])
		case r.IntN(2) == 0:
			b = tree(4)
		default:
			var sb strings.Builder
			for range 1 + r.IntN(8) {
				sb.WriteString(corpusParts[r.IntN(len(corpusParts))])
			}
			b = sb.String()
		}
		keep(b)
	}
	return out
}

func writeCorpus(t *testing.T, path string, bodies []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Bodies the body check accepts, one Go-quoted string a line; add to them with -update-corpus.\n")
	seen := map[string]bool{}
	for _, s := range bodies {
		if !seen[s] && checkBody(s) == nil {
			seen[s] = true
			b.WriteString(strconv.Quote(s) + "\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readCorpus(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) && *updateCorpus {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// readFuzzCorpus reads the string inputs saved by the fuzzer for FuzzBodyCheck, if any.
func readFuzzCorpus(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "string("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(v, ")")); err == nil {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
