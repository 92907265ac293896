package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer/importer"
)

// progressBar draws an import's progress on standard error when it is a terminal, and
// nothing otherwise, so that logs and pipes stay clean.
type progressBar struct {
	e     *env
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(e *env) *progressBar {
	return &progressBar{e: e, start: time.Now()}
}

func (p *progressBar) update(pr importer.Progress) {
	if !p.e.stderrIsTerminal || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := float64(pr.Counts.Read) / time.Since(p.start).Seconds()
	if pr.Size > 0 {
		frac := min(float64(pr.BytesRead)/float64(pr.Size), 1)
		const width = 30
		filled := int(frac * width)
		fmt.Fprintf(p.e.stderr, "\r[%s%s] %3.0f%%  %d rows  %.0f rows/s ",
			strings.Repeat("#", filled), strings.Repeat("-", width-filled), frac*100, pr.Counts.Read, rate)
	} else {
		fmt.Fprintf(p.e.stderr, "\r%d rows  %.0f rows/s ", pr.Counts.Read, rate)
	}
	p.drawn = true
}

// done clears the bar's line.
func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintf(p.e.stderr, "\r%s\r", strings.Repeat(" ", 70))
	}
}
