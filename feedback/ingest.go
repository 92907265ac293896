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
	// Progress, when set, is called after every 1,000 messages of a folder or mbox.
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
	sum := &Summary{}
	if st.IsDir() {
		return sum, p.ingestFolder(ctx, path, opts, sum)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bounces: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if head, _ := br.Peek(5); string(head) == "From " {
		return sum, p.ingestMbox(ctx, path, br, opts, sum)
	}
	sum.Messages++
	return sum, p.ingestOne(ctx, path, br, opts, sum)
}

// ingestOne records one message, counting a refusal in sum; it returns only database errors.
func (p *Processor) ingestOne(ctx context.Context, where string, r io.Reader, opts IngestOptions, sum *Summary) error {
	res, err := p.IngestMessage(ctx, r, opts)
	switch {
	case err == nil:
		sum.add(res)
	case errors.Is(err, ErrForged), errors.Is(err, bounce.ErrTooLarge), errors.Is(err, bounce.ErrMalformed):
		sum.refuse(where, err)
	default:
		return fmt.Errorf("bounces: %s: %w", where, err)
	}
	if opts.Progress != nil && sum.Messages%1000 == 0 {
		opts.Progress(*sum)
	}
	return nil
}

// ingestFolder reads a Maildir's new/ and cur/, or every regular file of a plain folder, in
// name order.
func (p *Processor) ingestFolder(ctx context.Context, dir string, opts IngestOptions, sum *Summary) error {
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
				sum.refuse(path, err)
				continue
			}
			sum.Messages++
			err = p.ingestOne(ctx, path, f, opts, sum)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// ingestMbox records each message of an mbox.
func (p *Processor) ingestMbox(ctx context.Context, path string, br *bufio.Reader, opts IngestOptions, sum *Summary) error {
	lim := opts.Limits
	if lim.MaxBytes == 0 {
		lim = bounce.DefaultLimits
	}
	return splitMbox(br, lim.MaxBytes, func(n int, msg []byte, tooLarge bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		sum.Messages++
		where := fmt.Sprintf("%s message %d", path, n)
		if tooLarge {
			sum.refuse(where, bounce.ErrTooLarge)
			return nil
		}
		return p.ingestOne(ctx, where, bytes.NewReader(msg), opts, sum)
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
