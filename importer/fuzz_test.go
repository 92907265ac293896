package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// FuzzImport feeds arbitrary bytes through the whole import into a real database and checks
// what must hold for any input: no panic; a failure is the user's (EINVALID), never ours; every
// row read is counted exactly once; the rejects file and the store list exactly the rejected
// rows; and whatever is stored is normalised and free of control characters.
//
// One database serves every input, as a long-lived instance would: later inputs meet the
// leads of earlier ones, which exercises updates and duplicates too. The price: one input's
// coverage depends on what came before, so minimising a new input often runs out its whole
// -fuzzminimizetime (default 60s) while the log shows 0 execs/sec. Pass -fuzzminimizetime=5s
// for short runs.
func FuzzImport(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"\n",
		"Email\n",
		"Email\na@b.fi\nA@B.FI\n",
		"email;name\na@b.fi;\"x\ny\"\n",
		"Email,Name\na@b.fi,\"unclosed\n",
		"Email,Name\na@b.fi,a\"b\n",
		"\xef\xbb\xbfEmail\tCountry\na@b.fi\tSuomi\n",
		"\xff\xfeE\x00m\x00a\x00i\x00l\x00\n\x00",
		"Email,First name,Last name\na@b.fi,,\n",
		"Email|Name\n\u00c5@b.fi|\u0130\u0345\n",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	db := storetest.Open(f, nil)

	f.Fuzz(func(t *testing.T, data []byte) {
		// The fuzzer does not notice a hang: a deadlock between the parsing and writing
		// goroutines would only stall it. A panic makes it a crasher, with the input saved.
		watchdog := time.AfterFunc(20*time.Second, func() {
			buf := make([]byte, 1<<20)
			panic("Import hung:\n" + string(buf[:runtime.Stack(buf, true)]))
		})
		defer watchdog.Stop()
		var rejects bytes.Buffer
		rep, err := importer.Import(ctx, db, bytes.NewReader(data), importer.Options{
			Source: "fuzz", Rejects: &rejects,
			// Small batches, varied by input, so that rows meet across batch boundaries.
			BatchSize: 1 + len(data)%4,
		})
		if err != nil {
			if code := leadmailer.ErrorCode(err); code != leadmailer.EINVALID {
				t.Fatalf("Import() error %v (code %q), want nil or %q", err, code, leadmailer.EINVALID)
			}
			return
		}
		c := rep.Run.Counts
		if sum := c.Inserted + c.Updated + c.Unchanged + c.Rejected + c.Suppressed + c.Duplicates; c.Read != sum {
			t.Errorf("read %d rows, but the outcomes add up to %d: %+v", c.Read, sum, c)
		}
		run, err := db.FindImportRun(ctx, rep.Run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Counts != c || run.Status != leadmailer.RunCompleted {
			t.Errorf("stored run: %s, %+v; report: completed, %+v", run.Status, run.Counts, c)
		}
		if c.Rejected > 0 {
			recs, err := csv.NewReader(&rejects).ReadAll()
			if err != nil {
				t.Fatalf("rejects file is not CSV: %v", err)
			}
			if got := int64(len(recs) - 1); got != c.Rejected {
				t.Errorf("rejects file lists %d rows, the run rejected %d", got, c.Rejected)
			}
		} else if rejects.Len() > 0 {
			t.Errorf("nothing rejected, but the rejects file holds %q", rejects.String())
		}
		if n, err := db.CountImportRejects(ctx, rep.Run.ID); err != nil || n != c.Rejected {
			t.Errorf("%d rejects stored (%v), the run rejected %d", n, err, c.Rejected)
		}
		if c.Inserted+c.Updated > 0 {
			checkStoredLeads(t, db)
		}
	})
}

// checkStoredLeads checks every stored lead: the e-mail in its normal form, a country code,
// and free text without control characters (a line break in a name could reach a mail header).
func checkStoredLeads(t *testing.T, db *store.DB) {
	t.Helper()
	err := db.FindLeads(context.Background(), store.LeadFilter{}, func(l *leadmailer.Lead) error {
		if norm, err := leadmailer.NormalizeEmail(l.Email); err != nil || norm != l.Email {
			t.Errorf("stored e-mail %q: NormalizeEmail gives %q, %v", l.Email, norm, err)
		}
		if _, ok := leadmailer.NormalizeCountry(l.Country); l.Country != "" && (!ok || len(l.Country) != 2) {
			t.Errorf("lead %s: stored country %q is not a code", l.Email, l.Country)
		}
		for _, f := range leadmailer.AllFields()[1:] {
			v := l.Value(f)
			if !utf8.ValidString(v) {
				t.Errorf("lead %s: %s %q is not valid UTF-8", l.Email, f, v)
			}
			for _, r := range v {
				if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
					t.Errorf("lead %s: %s %q holds control character %U", l.Email, f, v, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
