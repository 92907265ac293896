// Package templates renders marketing mail: a campaign's subject and bodies, personalised for
// each lead, inside a layout that always appends the notices the law and our privacy policy
// promise: where the lead's data came from when a public source supplied any of it, the right
// to object with a one-click unsubscribe link, and who the sender is.
//
// Compile parses a campaign once and reports every template error, with its line and column,
// before anything is sent; Render then makes one Message per recipient.
//
// # The notice guarantee
//
// A campaign cannot remove or hide the notices, and the renderer does not take that on trust:
//
//   - Bodies are parsed in template sets of their own, so they cannot reach the layout's
//     templates; {{define}}, {{template}} and {{block}} are rejected at compile time anyway.
//   - The renderer writes the layout's top, the rendered body, then the layout's bottom with
//     the notices, so it knows which bytes are the layout's.
//   - Every rendered HTML body is checked (checkBody) for anything that could reach past it: a
//     comment, a declaration, an element outside a fixed list (no <style>, <script>, <title>,
//     <textarea>, <svg>...), an element left open or closed out of order, a table part
//     outside a table of the body, an event handler, a javascript: link, or a style that can
//     lift a box over what follows or paint outside it (position, transforms, opacity,
//     outline, box-shadow, text-shadow, negative margins...), let content spill out of a
//     box in the flow over the notice rows (fixed heights, line heights below 1 or as
//     lengths, flex and grid, padding and borders of inline boxes), or push it far away
//     (heights, margins, paddings and borders over 1000 pixels, text over 100 pixels tall,
//     with relative font sizes compounded down the elements). The body is written into
//     a table cell of its own, which grows with its content; nothing clips it, since mail
//     clients drop position and overflow. Tags are read by the HTML standard's tokenizer
//     (golang.org/x/net/html), so the check sees a tag end where a browser does, and the body
//     is then parsed by the standard's tree builder in markup like the layout's: a body that
//     a browser would build differently from how it is written is refused. The check runs
//     at compile time on the sample leads and on every branch of {{if}}, {{with}} and
//     {{range}} (checkBranches), and at render time on every message, since a template can
//     render different markup for different leads. The tests hold it to a browser-grade
//     HTML5 parser (whatever body it accepts leaves the notice rows as for a harmless body)
//     and to Chromium (the notice blocks of every accepted body of a corpus are visible,
//     within the window's width, not covered and not overlapped by any box or text of
//     the body).
//   - Every rendered message is verified: the layout's part of the HTML (converted to text)
//     and of the text must hold the lines of the source notice together and in order (the
//     heading, the statement that the sources are publicly accessible, and per source its
//     title, retrieval date, fields and licence), the objection heading, the unsubscribe
//     link and the sender; and a message to a lead without public sources must carry no
//     source notice. Render returns an error instead of a message that fails, and such a
//     message must not be sent.
//   - A message is refused when it renders too large (an HTML part over 100 KB, which Gmail
//     would clip with the notices at its end) or too slowly; Compile refuses {{range}} over
//     numbers and deep nesting of {{range}}, whose loops could otherwise run long unseen.
//   - Wording overrides cannot blank a notice out (an empty string takes the default), and
//     Compile refuses overrides that would break it (a date layout without the date, a
//     source heading that also appears in the other notices).
//   - A "-- " line in a text body, which mail clients take for the start of a signature and
//     fold away with everything after it, becomes "--".
//
// Lead values are escaped by html/template in the HTML part (a javascript: URL from a lead
// becomes "#ZgotmplZ"), templates get a copy of the lead, and the subject is reduced to one
// line without control characters, so no lead value can start a new header.
//
// # Concurrency
//
// A *Compiled is immutable once Compile returns: Render may be called from any number of
// goroutines at once. The package holds no mutable state.
package templates
