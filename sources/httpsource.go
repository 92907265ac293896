package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/importer"
)

// runHTTP fetches every page of an HTTP source into a spool, then imports the spool.
func (r *Runner) runHTTP(ctx context.Context, src *config.Source, log *slog.Logger) Result {
	started := r.now()
	f, err := r.fetcher(src)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	state, err := r.Store.FindSourceState(ctx, src.Name)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	if state.URL != src.URL {
		state = &leadmailer.SourceState{Source: src.Name} // validators of another URL mean nothing
	}
	sp, err := newSpool(r.TempDir)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	defer sp.remove()
	first, layout, err := r.fetchPages(ctx, src, f, state, sp, log)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	if first.status == http.StatusNotModified {
		log.Info("source unchanged since the last run", "url", redact(src.URL))
		return r.finished(ctx, src, redact(src.URL), "", started, nil)
	}
	if err := sp.rewind(); err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	res := r.importRecords(ctx, src, sp, redact(src.URL), "", layout.columns)
	if res.Report != nil {
		res.Report.Encoding, res.Report.Delimiter = layout.encoding, layout.delimiter
	}
	if res.Err == nil {
		st := &leadmailer.SourceState{Source: src.Name, URL: src.URL, ETag: first.etag, LastModified: first.lastMo}
		if err := r.Store.SaveSourceState(ctx, st); err != nil {
			res.Err = err
		}
	}
	return res
}

// layout is how the first page was read, for the report.
type layout struct {
	columns             []importer.Column
	encoding, delimiter string
}

// fetchPages fetches the first page, conditionally, and every page after it, writing their
// records to sp. It returns the first page's response (status 304 when unchanged).
func (r *Runner) fetchPages(ctx context.Context, src *config.Source, f *fetcher, state *leadmailer.SourceState,
	sp *spool, log *slog.Logger) (first *response, lay layout, err error) {
	maxPages := src.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	fields := fieldPaths(src)
	u := src.URL
	seen := map[string]bool{}
	offset := 0
	if src.OffsetParam != "" {
		if offset, err = paramValue(u, src.OffsetParam, 0); err != nil {
			return nil, layout{}, err
		}
	}
	read := 0 // records so far, for total_field
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, layout{}, fmt.Errorf("more than %d pages: raise max_pages if the source really has that many", maxPages)
		}
		if seen[u] {
			return nil, layout{}, fmt.Errorf("page %d links back to %s, already fetched: the paging never ends", page, redact(u))
		}
		seen[u] = true
		var validators *leadmailer.SourceState
		if page == 1 && (state.ETag != "" || state.LastModified != "") {
			validators = state
		}
		resp, err := f.get(ctx, u, validators)
		if err != nil {
			return nil, layout{}, err
		}
		if page == 1 {
			first = resp
			if resp.status == http.StatusNotModified {
				return first, layout{}, nil
			}
		}
		n, next, total, pageLay, err := r.pageToSpool(src, fields, resp, page, sp)
		resp.close()
		if err != nil {
			return nil, layout{}, fmt.Errorf("page %d, %s: %w", page, redact(u), err)
		}
		read += n
		if page == 1 {
			lay = pageLay
		}
		log.Debug("source page fetched", "page", page, "url", redact(u), "records", n)
		switch {
		case src.TotalField != "" && read >= total:
			// Some APIs answer a page past the last with the first one again, never with
			// an empty page: the total is what ends such paging.
			return first, lay, nil
		case next != "":
			if err := f.checkNextPage(u, next); err != nil {
				return nil, layout{}, fmt.Errorf("page %d, %s: %w", page, redact(u), err)
			}
			u = next
		case src.PageParam != "" && n > 0:
			p, err := paramValue(u, src.PageParam, 1)
			if err != nil {
				return nil, layout{}, err
			}
			if u, err = withParam(u, src.PageParam, p+1); err != nil {
				return nil, layout{}, err
			}
		case src.OffsetParam != "" && n > 0:
			offset += n
			if u, err = withParam(u, src.OffsetParam, offset); err != nil {
				return nil, layout{}, err
			}
		default:
			return first, lay, nil
		}
	}
}

// pageToSpool reads one page's records into sp and finds the next page's URL in a Link
// header or, for JSON, at next_field, and with total_field the number of records of the
// whole search.
func (r *Runner) pageToSpool(src *config.Source, fields map[leadmailer.Field]string, resp *response, page int,
	sp *spool) (n int, next string, total int, lay layout, err error) {
	next = linkNext(resp.header, resp.url)
	switch src.Format {
	case "csv":
		cr, err := importer.NewCSVRecords(resp.body, src.Fields, src.IDField, resp.url, resp.retrievedAt)
		if err != nil {
			return 0, "", 0, layout{}, err
		}
		for {
			rec, err := cr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, "", 0, layout{}, err
			}
			rec.Where = fmt.Sprintf("page %d %s", page, rec.Where)
			if err := sp.add(rec); err != nil {
				return 0, "", 0, layout{}, err
			}
			n++
		}
		return n, next, 0, layout{cr.Columns(), cr.Encoding, cr.Delimiter}, nil
	case "json":
		data, err := io.ReadAll(resp.body)
		if err != nil {
			return 0, "", 0, layout{}, err
		}
		root, err := decodeJSON(data)
		if err != nil {
			return 0, "", 0, layout{}, err
		}
		recs, err := pageRecords(root, src.Records)
		if err != nil {
			return 0, "", 0, layout{}, err
		}
		for i, v := range recs {
			rec := jsonRecord(v, fields, src.IDField)
			rec.Origin, rec.RetrievedAt = resp.url, resp.retrievedAt
			rec.Where = fmt.Sprintf("page %d record %d", page, i+1)
			if err := sp.add(rec); err != nil {
				return 0, "", 0, layout{}, err
			}
		}
		if next == "" && src.NextField != "" {
			if v, ok := lookup(root, src.NextField); ok && v != nil {
				s, isString := v.(string)
				if !isString {
					return 0, "", 0, layout{}, fmt.Errorf("next_field = %q holds %s, not a URL", src.NextField, kindOf(v))
				}
				if s != "" {
					if next = resolve(resp.url, s); next == "" {
						return 0, "", 0, layout{}, fmt.Errorf("next_field = %q holds %q, not an http(s) URL", src.NextField, s)
					}
				}
			}
		}
		if src.TotalField != "" {
			if total, err = totalAt(root, src.TotalField); err != nil {
				return 0, "", 0, layout{}, err
			}
		}
		return len(recs), next, total, layout{jsonColumns(src), "utf-8", ""}, nil
	}
	return 0, "", 0, layout{}, fmt.Errorf("format %q is neither json nor csv", src.Format)
}

// totalAt reads the number of records of the whole search at path: a non-negative integer.
func totalAt(root any, path string) (int, error) {
	v, ok := lookup(root, path)
	if !ok || v == nil {
		return 0, fmt.Errorf("total_field = %q is not in the body: the page does not say how many records there are", path)
	}
	num, isNum := v.(json.Number)
	if !isNum {
		return 0, fmt.Errorf("total_field = %q holds %s, not a number", path, kindOf(v))
	}
	n, err := strconv.Atoi(num.String())
	if err != nil || n < 0 {
		return 0, fmt.Errorf("total_field = %q holds %s, not a count of records", path, num)
	}
	return n, nil
}
