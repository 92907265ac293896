package mailer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// benchMessage is a personalised campaign message of about 4.5 KB on the wire: a 2.3 KB
// HTML part and a 1 KB text part, like the templates package renders.
func benchMessage(i int) *mailer.Message {
	m := testMessage(fmt.Sprintf("c1.l%d@example.com", i))
	m.To = fmt.Sprintf("lead%d@example.net", i)
	m.ToName = "Jyrki Äänekoski"
	var html, text strings.Builder
	html.WriteString("<html><body><p>Hei Jyrki,</p>\n")
	for html.Len() < 2300 {
		html.WriteString("<p>Tässä on kappale tekstiä, joka kertoo palvelustamme ja sen hyödyistä yrityksellenne.</p>\n")
		text.WriteString("Tässä on kappale tekstiä, joka kertoo palvelustamme.\n")
	}
	html.WriteString("</body></html>\n")
	m.HTML, m.Text = html.String(), text.String()[:1000]
	return m
}

// BenchmarkAppendMessage measures building a message with this package's encoder.
func BenchmarkAppendMessage(b *testing.B) {
	m := benchMessage(1)
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := mailer.AppendMessage(buf[:0], m, nil)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "bytes/msg")
}

// BenchmarkGoMailMsg measures building the same message with go-mail's Msg, the
// alternative AppendMessage replaces.
func BenchmarkGoMailMsg(b *testing.B) {
	m := benchMessage(1)
	b.ReportAllocs()
	for b.Loop() {
		g := mail.NewMsg()
		if err := g.FromFormat("Focus Marketing", "marketing@example.com"); err != nil {
			b.Fatal(err)
		}
		if err := g.ReplyTo(m.ReplyTo); err != nil {
			b.Fatal(err)
		}
		if err := g.AddToFormat(m.ToName, m.To); err != nil {
			b.Fatal(err)
		}
		g.Subject(m.Subject)
		g.SetMessageIDWithValue(m.MessageID)
		g.SetDateWithValue(m.Date)
		g.SetGenHeader(mail.HeaderContentLang, m.Language)
		g.SetGenHeader(mail.HeaderListUnsubscribe, "<"+m.ListUnsubscribeURL+">")
		g.SetGenHeader(mail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
		g.SetBodyString(mail.TypeTextPlain, m.Text)
		g.AddAlternativeString(mail.TypeTextHTML, m.HTML)
		if _, err := g.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend sends to the in-process server over 4 connections from 4 goroutines.
// The server runs in the same process, so this measures the client and server together.
func BenchmarkSend(b *testing.B) {
	srv := smtptest.New(b)
	tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	msgs := make([]*mailer.Message, 256)
	for i := range msgs {
		msgs[i] = benchMessage(i)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(2) // 2×GOMAXPROCS goroutines, one per connection on 2 cores
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := msgs[next.Add(1)%int64(len(msgs))]
			if _, err := tr.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// sink is Postfix's smtp-sink on a free loopback port.
type sink struct {
	addr string
	cmd  *exec.Cmd
	out  *strings.Builder
	mu   sync.Mutex
}

// startSink starts smtp-sink, or skips the test when it is not installed (Debian package
// postfix). It counts messages with -c; stop returns the count.
func startSink(tb testing.TB) *sink {
	tb.Helper()
	const path = "/usr/sbin/smtp-sink"
	if _, err := os.Stat(path); err != nil {
		tb.Skip("smtp-sink is not installed (Debian package postfix)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{"-c", addr, "1000"}
	if os.Getuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...) // smtp-sink refuses to run as root
	}
	s := &sink{addr: addr, cmd: exec.Command(path, args...), out: new(strings.Builder)}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\r')
			s.mu.Lock()
			s.out.Reset()
			s.out.WriteString(line)
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		<-done
	})
	// Wait until it listens: it binds within milliseconds of starting.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("smtp-sink does not listen on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// messages returns the count smtp-sink printed last ("sess=N quit=N mesg=N").
func (s *sink) messages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, _ := strings.Cut(s.out.String(), "mesg=")
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}

// sendAll sends n messages over conc connections from conc goroutines.
func sendAll(tb testing.TB, tr mailer.Transport, n, conc int) time.Duration {
	msgs := make([]*mailer.Message, 256)
	for i := range msgs {
		msgs[i] = benchMessage(i)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := tr.Send(context.Background(), msgs[i%int64(len(msgs))]); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// cpuTime returns the CPU time (user and system) this process used so far: on a shared
// machine it says more about the cost of sending than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSMTPSink sends 10,000 messages over 4 connections to smtp-sink and checks that it
// counted every one.
func TestSMTPSink(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,000 messages")
	}
	s := startSink(t)
	tr, err := mailer.Open("smtp://"+s.addr+"?starttls=none", mailer.Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	took := sendAll(t, tr, n, 4)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages in %v: %.0f msgs/s", n, took, n/took.Seconds())
	// smtp-sink prints its counter as each DATA completes; the last sessions' QUIT may
	// still be in flight, so wait briefly for the final count.
	deadline := time.Now().Add(5 * time.Second)
	for s.messages() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.messages(); got != n {
		t.Errorf("smtp-sink counted %d messages, want %d", got, n)
	}
}

// BenchmarkSMTPSink reports msgs/s for 10,000 messages over 4 connections to smtp-sink.
// Run: go test ./mailer -run '^$' -bench SMTPSink -benchtime 1x -count 3
func BenchmarkSMTPSink(b *testing.B) {
	s := startSink(b)
	const n = 10000
	for b.Loop() {
		tr, err := mailer.Open("smtp://"+s.addr+"?starttls=none", mailer.Options{Concurrency: 4})
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		took := sendAll(b, tr, n, 4)
		cpu := cpuTime() - cpu0
		tr.Close()
		b.ReportMetric(n/took.Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/msg")
	}
}

// BenchmarkOutbox writes messages to an outbox folder (each file synced, then renamed).
func BenchmarkOutbox(b *testing.B) {
	tr, err := mailer.Open("outbox://"+b.TempDir(), mailer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	m := benchMessage(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.MessageID = fmt.Sprintf("c1.l%d@example.com", i)
		if _, err := tr.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}
