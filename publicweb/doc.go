// Package publicweb holds the web endpoints that recipients and website visitors reach without
// logging in: the one-click objection behind every unsubscribe link (GET and POST /u/{token}),
// the intake of queries from the company website's form (POST /query), and the double opt-in
// confirmation of a marketing consent ticked on that form (GET and POST
// /query/confirm/{token}). They set no cookies and never redirect. The web app mounts them
// with Mount.
//
// A *Handlers is safe for concurrent use and keeps no state of its own: its rate limits, per
// IP address for queries and per e-mail address for confirmation mails, are counted in the
// database, shared by every serve process on it.
package publicweb
