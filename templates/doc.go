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
//     <textarea>...), an element left open or closed out of order, a table part outside a
//     table of the body, an event handler, or a style that can lift a box over what follows.
//     The check runs on the sample lead at compile time and on every message at render time,
//     since a template can render different markup for different leads.
//   - Every rendered message is verified: the layout's part of the HTML (converted to text)
//     and of the text must name each public source's title, retrieval date, fields and
//     licence under the notice heading, the unsubscribe link and the sender; and a message to
//     a lead without public sources must carry no source notice. Render returns an error
//     instead of a message that fails, and such a message must not be sent.
//
// Lead values are escaped by html/template in the HTML part, and the subject is reduced to
// one line without control characters.
//
// # Concurrency
//
// A *Compiled is immutable once Compile returns: Render may be called from any number of
// goroutines at once. The package holds no mutable state.
package templates
