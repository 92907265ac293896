package web

import (
	"io"
	"net/http"
	"time"
)

// The HTTP server bounds every request's reading and writing (http.Server ReadTimeout and
// WriteTimeout), so that a client sending or reading a byte at a time cannot hold a
// connection for ever. A large upload or download takes longer than those bounds at any
// real speed; its handler extends the deadline as data moves instead, by the same timeout
// each time enough has moved. The deadlines are the connection's, so they use the real
// clock, never Options.Now.

// minReadProgress is how much of a body must arrive within each read timeout for an upload
// to go on: 64 KiB a minute is far below any real connection, and far above a trickle.
const minReadProgress = 64 << 10

// progressReader extends the request's read deadline each time minReadProgress more bytes
// have been read, and the write deadline with it: the server set that when the request
// began, and the answer to an upload that took ten minutes must not be cut off at once.
type progressReader struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
	since   int64 // bytes read since the deadline was last extended
}

// extendReads returns r, read through a progressReader, after giving the body a first full
// timeout from now.
func extendReads(w http.ResponseWriter, r io.Reader, timeout time.Duration) io.Reader {
	p := &progressReader{r: r, rc: http.NewResponseController(w), timeout: timeout}
	p.extend()
	return p
}

// extend ignores errors: one means the connection takes no deadlines (an HTTP/2 stream
// before Go 1.20, a test's recorder), and the server's own timeouts then still apply.
func (p *progressReader) extend() {
	p.rc.SetReadDeadline(time.Now().Add(p.timeout))
	p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.since += int64(n)
	if p.since >= minReadProgress {
		p.since = 0
		p.extend()
	}
	return n, err
}

// progressWriter extends the response's write deadline before each write, so each chunk
// (http.ServeContent writes 32 KiB at a time) has a full write timeout to leave. It does not
// implement io.ReaderFrom on purpose: that would let a file go out through sendfile in one
// call under one deadline.
type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// extendWrites returns w wrapped in a progressWriter.
func extendWrites(w http.ResponseWriter, timeout time.Duration) http.ResponseWriter {
	return &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
