package templates

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/leadmailer/leadmailer"
)

// SourceInfo is how a public source presents itself in the notice.
type SourceInfo struct {
	Title, Licence string
}

// PublicSourcesOf returns the public sources of l's current values, from the import run
// that supplied each value (l.FieldRuns): one PublicSource per source name, with exactly the
// fields that source supplied and, as RetrievedAt, the start of its latest run among them.
// runs must hold every run l.FieldRuns names: a value of unknown origin is an error rather
// than a message without a notice it may need. describe gives a source's title and licence;
// a source it does not know is titled by its name. Sources come sorted by name.
func PublicSourcesOf(l *leadmailer.Lead, runs map[int64]*leadmailer.ImportRun, describe func(source string) SourceInfo) ([]PublicSource, error) {
	var sources []PublicSource
	for f, runID := range l.FieldRuns {
		if runID == 0 || l.Value(leadmailer.Field(f)) == "" {
			continue
		}
		run, ok := runs[runID]
		if !ok {
			return nil, fmt.Errorf("templates: lead %d: %s came from run %d, which is unknown", l.ID, leadmailer.Field(f), runID)
		}
		if run.Kind != leadmailer.KindPublic {
			continue
		}
		i := slices.IndexFunc(sources, func(s PublicSource) bool { return s.Name == run.Source })
		if i < 0 {
			info := SourceInfo{Title: run.Source}
			if describe != nil {
				if d := describe(run.Source); d.Title != "" {
					info = d
				}
			}
			sources = append(sources, PublicSource{Name: run.Source, Title: info.Title, Licence: info.Licence})
			i = len(sources) - 1
		}
		s := &sources[i]
		s.Fields = append(s.Fields, leadmailer.Field(f))
		if run.StartedAt.After(s.RetrievedAt) {
			s.RetrievedAt = run.StartedAt
		}
	}
	slices.SortFunc(sources, func(a, b PublicSource) int { return cmp.Compare(a.Name, b.Name) })
	return sources, nil
}
