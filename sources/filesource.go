package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/importer"
)

// runFiles imports each file matching the source's path or glob that it has not imported
// before, one run per file, oldest name first.
func (r *Runner) runFiles(ctx context.Context, src *config.Source, log *slog.Logger) []Result {
	started := r.now()
	matches, err := filepath.Glob(src.Path)
	if err != nil {
		return []Result{r.finished(ctx, src, src.Path, "", started, fmt.Errorf("path %q: %w", src.Path, err))}
	}
	var files []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return []Result{r.finished(ctx, src, src.Path, "", started,
			fmt.Errorf("no file matches %s: check path, and that the files are readable", src.Path))}
	}
	var results []Result
	for _, path := range files {
		if ctx.Err() != nil {
			break
		}
		sum, err := fileSHA256(path)
		if err != nil {
			results = append(results, r.finished(ctx, src, path, "", r.now(), err))
			continue
		}
		done, err := r.Store.FileImported(ctx, src.Name, sum)
		if err != nil {
			results = append(results, r.finished(ctx, src, path, sum, r.now(), err))
			continue
		}
		if done {
			log.Debug("file already imported", "file", path, "sha256", sum)
			continue
		}
		results = append(results, r.importFile(ctx, src, path, sum))
	}
	if len(results) == 0 {
		log.Info("no new file since the last run", "path", src.Path)
		results = append(results, r.finished(ctx, src, src.Path, "", started, nil))
	}
	return results
}

func (r *Runner) importFile(ctx context.Context, src *config.Source, path, sum string) Result {
	started := r.now()
	fi, err := os.Stat(path)
	if err != nil {
		return r.finished(ctx, src, path, sum, started, err)
	}
	retrieved := fi.ModTime().UTC()
	f, err := os.Open(path)
	if err != nil {
		return r.finished(ctx, src, path, sum, started, err)
	}
	defer f.Close()
	switch src.Format {
	case "csv":
		cr, err := importer.NewCSVRecords(f, src.Fields, src.IDField, path, retrieved)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: %w", path, err))
		}
		res := r.importRecords(ctx, src, cr, path, sum, cr.Columns())
		if res.Report != nil {
			res.Report.Encoding, res.Report.Delimiter = cr.Encoding, cr.Delimiter
		}
		return res
	case "json":
		maxMB := src.MaxMB
		if maxMB <= 0 {
			maxMB = DefaultMaxMB
		}
		if fi.Size() > int64(maxMB)<<20 {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: larger than %d MiB: raise max_mb", path, maxMB))
		}
		data, err := io.ReadAll(f)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, err)
		}
		root, err := decodeJSON(data)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: %w", path, err))
		}
		recs, err := pageRecords(root, src.Records)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: %w", path, err))
		}
		fields := fieldPaths(src)
		rr := &sliceReader{}
		for i, v := range recs {
			rec := jsonRecord(v, fields, src.IDField)
			rec.Origin, rec.RetrievedAt, rec.Where = path, retrieved, fmt.Sprintf("record %d", i+1)
			rr.recs = append(rr.recs, rec)
		}
		res := r.importRecords(ctx, src, rr, path, sum, jsonColumns(src))
		if res.Report != nil {
			res.Report.Encoding = "utf-8"
		}
		return res
	}
	return r.finished(ctx, src, path, sum, started, fmt.Errorf("format %q is neither json nor csv", src.Format))
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type sliceReader struct{ recs []*importer.Record }

func (s *sliceReader) Next() (*importer.Record, error) {
	if len(s.recs) == 0 {
		return nil, io.EOF
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, nil
}
