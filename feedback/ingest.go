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
//
// Reading and parsing run in a goroutine of their own, ahead of the recording: the two take
// about as long, and each has a CPU to itself.
func (p *Processor) Ingest(ctx context.Context, path string, opts IngestOptions) (*Summary, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bounces: %w", err)
	}
	if opts.Limits.MaxBytes == 0 {
		opts.Limits = bounce.DefaultLimits
	}
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	items := make(chan parsed, batchSize)
	readErr := make(chan error, 1)
	go func() {
		defer close(items)
		r := &reader{opts: opts, out: items}
		readErr <- r.read(readCtx, path, st.IsDir())
	}()

	b := &batch{p: p, opts: opts, sum: &Summary{}}
	for it := range items {
		if err = b.add(ctx, it); err != nil {
			break
		}
	}
	if err != nil {
		stop()
		for range items { // let the reader see the stop and end
		}
		<-readErr
		return b.sum, err
	}
	if err = <-readErr; err == nil {
		err = b.flush(ctx)
	}
	return b.sum, err
}

// parsed is one message read and parsed, or refused, on its way from the reader to the batch.
type parsed struct {
	where string
	rep   *bounce.Report
	// refused is why the message is not recorded (too large, malformed, unreadable).
	refused error
	// unopened: the file could not be opened, so it is not counted as a message read.
	unopened bool
}

// reader reads and parses the messages of a file or folder and sends each on out, in order.
type reader struct {
	opts IngestOptions
	out  chan<- parsed
}

// read reads path; it returns an error only when path cannot be read or ctx ends.
func (r *reader) read(ctx context.Context, path string, isDir bool) error {
	if isDir {
		return r.readFolder(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("bounces: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if head, _ := br.Peek(5); string(head) == "From " {
		return r.readMbox(ctx, path, br)
	}
	return r.parse(ctx, path, br)
}

// parse parses one message and sends it on; it returns only errors of reading the message
// and the end of ctx, a message it cannot make sense of is sent as refused.
func (r *reader) parse(ctx context.Context, where string, in io.Reader) error {
	rep, err := bounce.ParseWithLimits(in, r.opts.Limits)
	if err != nil && !errors.Is(err, bounce.ErrTooLarge) && !errors.Is(err, bounce.ErrMalformed) {
		return fmt.Errorf("bounces: %s: %w", where, err)
	}
	return r.send(ctx, parsed{where: where, rep: rep, refused: err})
}

func (r *reader) send(ctx context.Context, it parsed) error {
	select {
	case r.out <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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

// add queues one message, counting a refusal in the summary, and records the batch when it
// is full; it returns only database errors.
func (b *batch) add(ctx context.Context, it parsed) error {
	if !it.unopened {
		b.sum.Messages++
	}
	if it.refused != nil {
		b.sum.refuse(it.where, it.refused)
		return nil
	}
	to := b.opts.To
	if to == "" {
		to = it.rep.DeliveredTo
	}
	b.pending = append(b.pending, Delivery{it.rep, Origin{Via: "ingest", To: to}})
	b.where = append(b.where, it.where)
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

// readFolder reads a Maildir's new/ and cur/, or every regular file of a plain folder, in
// name order.
func (r *reader) readFolder(ctx context.Context, dir string) error {
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
				if err := r.send(ctx, parsed{where: path, refused: err, unopened: true}); err != nil {
					return err
				}
				continue
			}
			err = r.parse(ctx, path, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// readMbox reads each message of an mbox.
func (r *reader) readMbox(ctx context.Context, path string, br *bufio.Reader) error {
	return splitMbox(br, r.opts.Limits.MaxBytes, func(n int, msg []byte, tooLarge bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		where := fmt.Sprintf("%s message %d", path, n)
		if tooLarge {
			return r.send(ctx, parsed{where: where, refused: bounce.ErrTooLarge})
		}
		return r.parse(ctx, where, bytes.NewReader(msg))
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
