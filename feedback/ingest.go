package feedback

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/leadmailer/leadmailer/bounce"
)

// Summary counts what ingesting a file or folder did.
type Summary struct {
	Messages   int      `json:"messages"`
	Recorded   int      `json:"recorded"`   // recipients recorded
	Duplicates int      `json:"duplicates"` // recipients recorded before (the same report again)
	Ignored    int      `json:"ignored"`    // messages that name nothing leadmailer sent, or are no bounce
	Refused    int      `json:"refused"`    // messages too large, unreadable, or with a forged token
	Paused     []string `json:"paused,omitempty"`
	// Problems describes the first few refused messages, by file and reason.
	Problems []string `json:"problems,omitempty"`
}

const maxProblems = 10

func (s *Summary) add(res *Result) {
	s.Recorded += res.Recorded
	s.Duplicates += res.Duplicates
	if res.Ignored != "" {
		s.Ignored++
	}
	s.Paused = append(s.Paused, res.Paused...)
}

func (s *Summary) refuse(where string, err error) {
	s.Refused++
	if len(s.Problems) < maxProblems {
		s.Problems = append(s.Problems, where+": "+err.Error())
	}
}

// IngestOptions tune Ingest.
type IngestOptions struct {
	// To is the address the message was delivered to (a mail server's pipe passes it as
	// ${recipient}); empty: the message's X-Original-To or Delivered-To.
	To string
	// Limits bound each message; zero: bounce.DefaultLimits.
	Limits bounce.Limits
	// Progress, when set, is called after every batch of messages recorded.
	Progress func(Summary)
}

// IngestMessage reads one message from r and records it.
func (p *Processor) IngestMessage(ctx context.Context, r io.Reader, opts IngestOptions) (*Result, error) {
	lim := opts.Limits
	if lim.MaxBytes == 0 {
		lim = bounce.DefaultLimits
	}
	rep, err := bounce.ParseWithLimits(r, lim)
	if err != nil {
		return nil, err
	}
	to := opts.To
	if to == "" {
		to = rep.DeliveredTo
	}
	return p.Handle(ctx, rep, Origin{Via: "ingest", To: to})
}

// Ingest reads path: a Maildir (a folder with cur/ and new/), a folder of message files, an
// mbox file, or a single message, and records every message in it. A message that cannot be
// read is counted and described in the summary and the rest go on; an error is returned only
// when path cannot be read or the database fails (then the summary says how far it got,
// and ingesting again is safe: a report recorded before is recognised).
func (p *Processor) Ingest(ctx context.Context, path string, opts IngestOptions) (*Summary, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bounces: %w", err)
	}
	b := &batch{p: p, opts: opts, sum: &Summary{}}
	if st.IsDir() {
		err = p.ingestFolder(ctx, path, b)
	} else {
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("bounces: %w", err)
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, 64<<10)
		if head, _ := br.Peek(5); string(head) == "From " {
			err = p.ingestMbox(ctx, path, br, b)
		} else {
			err = b.add(ctx, path, br)
		}
	}
	if err == nil {
		err = b.flush(ctx)
	}
	return b.sum, err
}

// batchSize is how many messages are recorded per transaction: a commit per message made
// ingesting a large folder a matter of commits, not of reading.
const batchSize = 500

// batch collects parsed messages and records them together.
type batch struct {
	p       *Processor
	opts    IngestOptions
	sum     *Summary
	pending []Delivery
	where   []string
}

// add reads one message and queues it, counting a refusal in the summary; it returns only
// database errors.
func (b *batch) add(ctx context.Context, where string, r io.Reader) error {
	b.sum.Messages++
	lim := b.opts.Limits
	if lim.MaxBytes == 0 {
		lim = bounce.DefaultLimits
	}
	rep, err := bounce.ParseWithLimits(r, lim)
	if err != nil {
		if errors.Is(err, bounce.ErrTooLarge) || errors.Is(err, bounce.ErrMalformed) {
			b.sum.refuse(where, err)
			return nil
		}
		return fmt.Errorf("bounces: %s: %w", where, err)
	}
	to := b.opts.To
	if to == "" {
		to = rep.DeliveredTo
	}
	b.pending = append(b.pending, Delivery{rep, Origin{Via: "ingest", To: to}})
	b.where = append(b.where, where)
	if len(b.pending) >= batchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *batch) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	results, err := b.p.HandleAll(ctx, b.pending)
	if err != nil {
		// Nothing of the batch was recorded: say how far the ingest got before it.
		b.sum.Messages -= len(b.pending)
		return fmt.Errorf("bounces: %s and the %d messages before it: %w", b.where[len(b.where)-1], len(b.pending)-1, err)
	}
	for i, res := range results {
		if res.Refused != nil {
			b.sum.refuse(b.where[i], res.Refused)
			continue
		}
		b.sum.add(res)
	}
	b.pending, b.where = b.pending[:0], b.where[:0]
	if b.opts.Progress != nil {
		b.opts.Progress(*b.sum)
	}
	return nil
}

// ingestFolder reads a Maildir's new/ and cur/, or every regular file of a plain folder, in
// name order.
func (p *Processor) ingestFolder(ctx context.Context, dir string, b *batch) error {
	var folders []string
	for _, sub := range []string{"new", "cur"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			folders = append(folders, filepath.Join(dir, sub))
		}
	}
	if len(folders) == 0 {
		folders = []string{dir}
	}
	for _, folder := range folders {
		entries, err := os.ReadDir(folder)
		if err != nil {
			return fmt.Errorf("bounces: %w", err)
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			path := filepath.Join(folder, e.Name())
			f, err := os.Open(path)
			if err != nil {
				b.sum.refuse(path, err)
				continue
			}
			err = b.add(ctx, path, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// ingestMbox records each message of an mbox.
func (p *Processor) ingestMbox(ctx context.Context, path string, br *bufio.Reader, b *batch) error {
	lim := b.opts.Limits
	if lim.MaxBytes == 0 {
		lim = bounce.DefaultLimits
	}
	return splitMbox(br, lim.MaxBytes, func(n int, msg []byte, tooLarge bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		where := fmt.Sprintf("%s message %d", path, n)
		if tooLarge {
			b.sum.Messages++
			b.sum.refuse(where, bounce.ErrTooLarge)
			return nil
		}
		return b.add(ctx, where, bytes.NewReader(msg))
	})
}

// splitMbox calls fn with each message of an mbox, numbered from 1, split at the "From "
// lines that follow a blank line (or start the file), with mboxrd's ">From " quoting undone.
// A message is held in memory up to max bytes; a larger one is skipped to its end and
// passed as tooLarge, without its bytes. msg is valid only during the call.
func splitMbox(br *bufio.Reader, max int64, fn func(n int, msg []byte, tooLarge bool) error) error {
	var msg bytes.Buffer
	tooLarge := false
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		if tooLarge {
			return fn(n, nil, true)
		}
		return fn(n, msg.Bytes(), false)
	}
	prevBlank, lineStart := true, true
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil // a long line: its pieces are appended alike
		}
		if len(line) > 0 {
			switch {
			case lineStart && prevBlank && bytes.HasPrefix(line, []byte("From ")):
				if ferr := flush(); ferr != nil {
					return ferr
				}
				n++
				msg.Reset()
				tooLarge = false
			case n == 0:
				// Bytes before the first "From " line belong to no message.
			case !tooLarge:
				if lineStart {
					if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
						line = line[1:]
					}
				}
				if int64(msg.Len()+len(line)) > max {
					tooLarge = true
					msg.Reset()
				} else {
					msg.Write(line)
				}
			}
			end := line[len(line)-1] == '\n'
			if end {
				prevBlank = lineStart && len(bytes.TrimRight(line, "\r\n")) == 0
			}
			lineStart = end
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("bounces: mbox: %w", err)
		}
	}
}
