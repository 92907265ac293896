package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/leadmailer/leadmailer"
)

// Retry waits: exponential from firstBackoff, at most maxBackoff; a Retry-After longer than
// maxRetryAfter gives up, leaving the source to its next scheduled run.
const (
	firstBackoff  = time.Second
	maxBackoff    = time.Minute
	maxRetryAfter = 10 * time.Minute
)

// fetcher makes a source's requests: rate-limited, retried on 429, 5xx and broken
// transfers, each body bounded in size and spooled to a temporary file.
type fetcher struct {
	source   string
	client   *http.Client
	headers  map[string]string // never logged: they may hold API keys
	origin   string            // the configured URL's origin, the only one headers go to
	limiter  *rate.Limiter
	maxBytes int64
	retries  int
	accept   string // the Accept header: the source's format
	tempDir  string
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	log      *slog.Logger
}

// response is one fetched page. body is nil for 304 Not Modified.
type response struct {
	url          string
	status       int
	body         *os.File // a temporary file; close removes it
	header       http.Header
	retrievedAt  time.Time
	etag, lastMo string
}

func (r *response) close() {
	if r != nil && r.body != nil {
		r.body.Close()
		os.Remove(r.body.Name())
	}
}

// fetchError is a failed request. retry says whether trying again may help; after, when
// set, is the wait the server asked for.
type fetchError struct {
	err   error
	retry bool
	after time.Duration
}

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// get fetches u, retrying what may succeed on a second try. With validators, it asks only
// for a changed body (conditional GET) and may return status 304.
func (f *fetcher) get(ctx context.Context, u string, validators *leadmailer.SourceState) (*response, error) {
	for attempt := 0; ; attempt++ {
		if err := f.wait(ctx); err != nil {
			return nil, err
		}
		resp, err := f.once(ctx, u, validators)
		if err == nil {
			return resp, nil
		}
		var fe *fetchError
		if ctx.Err() != nil || !errors.As(err, &fe) || !fe.retry || attempt >= f.retries {
			return nil, fmt.Errorf("GET %s: %w", redact(u), err)
		}
		wait := fe.after
		if wait == 0 {
			wait = min(firstBackoff<<attempt, maxBackoff)
		}
		if wait > maxRetryAfter {
			return nil, fmt.Errorf("GET %s: %w; the server asks to wait %s, longer than leadmailer waits within a run: the next run tries again",
				redact(u), err, wait.Round(time.Second))
		}
		f.log.Warn("source request failed, retrying", "source", f.source, "url", redact(u),
			"attempt", attempt+1, "retry_in", wait, "cause", err.Error())
		if err := f.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// wait takes a token from the source's rate limiter, sleeping through the injected clock.
func (f *fetcher) wait(ctx context.Context) error {
	now := f.now()
	d := f.limiter.ReserveN(now, 1).DelayFrom(now)
	if d <= 0 {
		return nil
	}
	return f.sleep(ctx, d)
}

func (f *fetcher) once(ctx context.Context, u string, validators *leadmailer.SourceState) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "leadmailer")
	req.Header.Set("Accept", f.accept)
	// The pager refuses a next page at another origin; this is the last line should a URL
	// reach here some other way.
	if o, err := origin(u); err == nil && o == f.origin {
		for k, v := range f.headers {
			req.Header.Set(k, v)
		}
	}
	if validators != nil {
		if validators.ETag != "" {
			req.Header.Set("If-None-Match", validators.ETag)
		}
		if validators.LastModified != "" {
			req.Header.Set("If-Modified-Since", validators.LastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		// Unreachable hosts, refused connections and timeouts may pass.
		return nil, &fetchError{err: unwrapURLError(err), retry: true}
	}
	defer resp.Body.Close()
	r := &response{url: u, status: resp.StatusCode, header: resp.Header, retrievedAt: f.now().UTC(),
		etag: resp.Header.Get("ETag"), lastMo: resp.Header.Get("Last-Modified")}
	switch {
	case resp.StatusCode == http.StatusNotModified && validators != nil:
		return r, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &fetchError{err: fmt.Errorf("server answered %s", resp.Status), retry: true,
			after: retryAfter(resp.Header.Get("Retry-After"), f.now())}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, &fetchError{err: fmt.Errorf("server answered %s", resp.Status)}
	}
	body, err := os.CreateTemp(f.tempDir, "leadmailer-source-*")
	if err != nil {
		return nil, fmt.Errorf("spool response: %w", err)
	}
	r.body = body
	n, err := io.Copy(body, io.LimitReader(resp.Body, f.maxBytes+1))
	switch {
	case err != nil:
		r.close()
		return nil, &fetchError{err: fmt.Errorf("transfer cut off after %d bytes: %v", n, unwrapURLError(err)), retry: true}
	case n > f.maxBytes:
		r.close()
		return nil, &fetchError{err: fmt.Errorf("response larger than %d MiB: raise max_mb if the source really is that large", f.maxBytes>>20)}
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the method and URL
// that our own message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// redact hides a password in a URL's user information.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}

// linkNext returns the rel="next" target of a Link header, resolved against base.
func linkNext(h http.Header, base string) string {
	for _, v := range h.Values("Link") {
		for link := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && hasToken(strings.Trim(val, `"`), "next") {
					return resolve(base, target[1:len(target)-1])
				}
			}
		}
	}
	return ""
}

func hasToken(list, tok string) bool {
	for _, t := range strings.Fields(list) {
		if strings.EqualFold(t, tok) {
			return true
		}
	}
	return false
}

// origin returns u's scheme, host and port as "https://host:443": two URLs with the same
// origin are the same server to a browser, and to us when deciding where a key may go.
// The port is written out, so that "https://h" and "https://h:443" compare equal.
func origin(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(p.Scheme)
	port := p.Port()
	switch {
	case port != "":
	case scheme == "https":
		port = "443"
	case scheme == "http":
		port = "80"
	default:
		return "", fmt.Errorf("%s is not an http(s) URL", redact(u))
	}
	if p.Hostname() == "" {
		return "", fmt.Errorf("%s names no host", redact(u))
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(p.Hostname()), port), nil
}

// checkNextPage refuses a next page that is not at the configured URL's origin: a page
// could otherwise send the run, with or without its key, to any server it names. A page
// over plain http after an https one gets its own message, as it is the likelier attack.
func (f *fetcher) checkNextPage(from, next string) error {
	o, err := origin(next)
	if err != nil {
		return fmt.Errorf("next page %s: %w", redact(next), err)
	}
	if o == f.origin {
		return nil
	}
	if strings.HasPrefix(from, "https:") && strings.HasPrefix(o, "http:") {
		return fmt.Errorf("refusing the next page %s: it is http after https and would be fetched in the clear", redact(next))
	}
	return fmt.Errorf("refusing the next page %s: it is at another origin than the source's url (%s); "+
		"leadmailer follows paging only within the source's scheme, host and port", redact(next), f.origin)
}

// resolve makes ref absolute against base; "" when ref is not a usable http(s) URL.
func resolve(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ""
	}
	r, err := b.Parse(strings.TrimSpace(ref))
	if err != nil || (r.Scheme != "http" && r.Scheme != "https") {
		return ""
	}
	return r.String()
}

// withParam returns u with query parameter name set to value.
func withParam(u, name string, value int) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	q.Set(name, strconv.Itoa(value))
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// paramValue reads an integer query parameter of u; def when absent.
func paramValue(u, name string, def int) (int, error) {
	p, err := url.Parse(u)
	if err != nil {
		return 0, err
	}
	v := p.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("query parameter %s=%q in the url is not a number", name, v)
	}
	return n, nil
}
