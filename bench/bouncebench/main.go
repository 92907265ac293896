// Command bouncebench measures how fast leadmailer records bounces: it imports N synthetic
// leads into a fresh data directory, records a campaign as sent to all of them, writes an
// mbox of N delivery status notifications (one per recipient, each addressed to that
// recipient's signed return path), then runs "leadmailer bounces ingest" on it and prints
// bounces per second and the peak resident memory of the ingest.
//
//	go build -o /tmp/leadmailer ./cmd/leadmailer
//	go run ./bench/bouncebench -bin /tmp/leadmailer -n 100000
package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/leadmailer/leadmailer/bounce"
)

const domain = "bounces.focus.example"

func main() {
	bin := flag.String("bin", "leadmailer", "leadmailer binary to measure")
	n := flag.Int("n", 100_000, "bounces to ingest (one per lead)")
	dir := flag.String("dir", "", "working directory (default: a new temporary one, removed afterwards)")
	flag.Parse()
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "bouncebench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	data := filepath.Join(work, "data")
	lm := func(args ...string) {
		cmd := exec.Command(*bin, append(args, "--data", data)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("leadmailer %v: %v", args, err)
		}
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		log.Fatal(err)
	}
	// The bounce policy must not get in the way of the measurement: no burst or rate pause.
	must(os.WriteFile(filepath.Join(data, "leadmailer.toml"), []byte(`public_url = "https://leads.example.com"
[sender]
from = "Focus Marketing <marketing@focus.example>"
company = "Focus Oy"
postal_address = "Mannerheimintie 1, 00100 Helsinki"
privacy_policy_url = "https://focus.example/privacy"
[bounces]
domain = "`+domain+`"
burst_count = 0
bounce_rate = 0
`), 0o600))

	csv := filepath.Join(work, "leads.csv")
	f, err := os.Create(csv)
	must(err)
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,name,company,country")
	for i := range *n {
		fmt.Fprintf(w, "lead%d@example%d.fi,Lead %d,Company %d Oy,FI\n", i, i%997, i, i%5000)
	}
	must(w.Flush())
	must(f.Close())
	fmt.Fprintf(os.Stderr, "importing %d leads...\n", *n)
	lm("import", csv, "--source", "bench")
	body := filepath.Join(work, "body.html")
	must(os.WriteFile(body, []byte("<p>Hello {{.Lead.FirstName}}</p>"), 0o600))
	lm("campaigns", "create", "--name", "bench", "--subject", "Hi", "--html", body)

	// The campaign as sent to everyone, as the send ledger records it.
	db, err := sql.Open("sqlite3", filepath.Join(data, "leadmailer.db"))
	must(err)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	_, err = db.Exec(`INSERT INTO campaign_recipients (campaign_id, lead_id, status, queued_at, sending_at, done_at)
		SELECT 1, id, 'sent', ?, ?, ? FROM leads`, now, now, now)
	must(err)
	_, err = db.Exec(`UPDATE campaigns SET state = 'finished', started_at = ?, finished_at = ? WHERE id = 1`, now, now)
	must(err)
	rows, err := db.Query(`SELECT l.id, l.email FROM leads l ORDER BY l.id`)
	must(err)

	// The return paths are signed with the key leadmailer derives from the data directory's
	// secret key; the bench derives it the same way.
	secret, err := os.ReadFile(filepath.Join(data, "secret.key"))
	must(err)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("leadmailer return path v1"))
	signer := bounce.NewSigner(m.Sum(nil), "bounces", domain)

	mbox := filepath.Join(work, "bounces.mbox")
	f, err = os.Create(mbox)
	must(err)
	w = bufio.NewWriterSize(f, 1<<20)
	count := 0
	for rows.Next() {
		var id int64
		var email string
		must(rows.Scan(&id, &email))
		rp := signer.Address(1, id)
		fmt.Fprintf(w, "From MAILER-DAEMON Sun Dec  6 10:12:03 2026\n"+
			"X-Original-To: %[1]s\nFrom: MAILER-DAEMON@mx%[3]d.example.fi (Mail Delivery System)\nTo: %[1]s\n"+
			"Subject: Undelivered Mail Returned to Sender\nMessage-Id: <bounce.%[3]d@mx.example.fi>\nMIME-Version: 1.0\n"+
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"+
			"--B\nContent-Type: text/plain\n\nI'm sorry to have to inform you that your message could not be delivered.\n\n"+
			"<%[2]s>: host mx.example.fi said: 550 5.1.1 User unknown\n\n"+
			"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx%[3]d.example.fi\n\n"+
			"Final-Recipient: rfc822; %[2]s\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <%[2]s>: User unknown\n\n"+
			"--B\nContent-Type: text/rfc822-headers\n\nReturn-Path: <%[1]s>\nFrom: Focus Marketing <marketing@focus.example>\nTo: %[2]s\n"+
			"Subject: Hi\n\n--B--\n\n", rp, email, id)
		count++
	}
	must(rows.Err())
	must(w.Flush())
	must(f.Close())
	db.Close()
	st, _ := os.Stat(mbox)

	fmt.Fprintf(os.Stderr, "ingesting %d bounces (%.0f MB mbox)...\n", count, float64(st.Size())/1e6)
	cmd := exec.Command(*bin, "bounces", "ingest", mbox, "--json", "--data", data)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		log.Fatalf("bounces ingest: %v", err)
	}
	var sum struct {
		Messages, Recorded, Refused int
	}
	must(json.Unmarshal(out, &sum))
	if sum.Recorded != count {
		log.Fatalf("recorded %d of %d bounces: %s", sum.Recorded, count, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("ingested %d bounces in %.2f s: %.0f bounces/s\n", sum.Recorded, elapsed.Seconds(), float64(sum.Recorded)/elapsed.Seconds())
	fmt.Printf("CPU: %.1f s (%.0f µs per bounce); peak RSS: %.1f MB\n", cpu.Seconds(), float64(cpu.Microseconds())/float64(count), float64(ru.Maxrss)/1024)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
