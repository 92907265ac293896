// Package publicweb holds the web endpoints that recipients and website visitors reach without
// logging in: the one-click objection behind every unsubscribe link (GET and POST /u/{token})
// and the intake of queries from the company website's form (POST /query). They set no
// cookies and never redirect. The web app mounts them with Mount.
//
// A *Handlers is safe for concurrent use; its per-IP rate limiter is the only state it keeps.
package publicweb
