// Command importbench measures leadmailer's CSV import: it writes a CSV of synthetic leads,
// then runs the leadmailer binary to import it into a fresh data directory and to import it
// again, and prints rows per second and the peak resident memory of each run.
//
//	go build -o /tmp/leadmailer ./cmd/leadmailer
//	go run ./bench/importbench -bin /tmp/leadmailer -rows 1000000
//
// With LEADMAILER_DATABASE_URL set, leadmailer imports into that PostgreSQL database, which
// must be empty, and importbench also prints the peak memory of the server processes that
// serve the database, when the server runs on this machine (see pgSampler).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	bin := flag.String("bin", "leadmailer", "leadmailer binary to measure")
	rows := flag.Int("rows", 1_000_000, "rows in the generated CSV")
	dir := flag.String("dir", "", "working directory (default: a new temporary one, removed afterwards)")
	warmup := flag.Bool("warmup", false, "on PostgreSQL, first import the CSV twice into a scratch database beside the measured one, drop it and checkpoint (see warmUp)")
	flag.Parse()

	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "importbench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	csvPath := filepath.Join(work, "leads.csv")
	size, err := writeCSV(csvPath, *rows)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("CSV: %d rows, %.1f MB\n", *rows, float64(size)/1e6)
	data := filepath.Join(work, "data")
	pgURL := os.Getenv("LEADMAILER_DATABASE_URL")
	if *warmup && pgURL != "" {
		if err := warmUp(*bin, data, csvPath, pgURL); err != nil {
			log.Fatal(err)
		}
	}
	for _, label := range []string{"fresh import", "re-import"} {
		if err := measure(*bin, data, csvPath, label, pgURL); err != nil {
			log.Fatal(err)
		}
	}
	if pgURL != "" {
		size, err := pgDatabaseSize(pgURL)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("database size: %.1f MB (%.0f bytes per row over two imports)\n",
			float64(size)/1e6, float64(size)/float64(*rows))
		return
	}
	if fi, err := os.Stat(filepath.Join(data, "leadmailer.db")); err == nil {
		fmt.Printf("database size: %.1f MB (%.0f bytes per row over two imports)\n",
			float64(fi.Size())/1e6, float64(fi.Size())/float64(*rows))
	}
}

func measure(bin, data, csvPath, label, pgURL string) error {
	cmd := exec.Command(bin, "import", csvPath, "--source", "bench", "--data", data, "--json")
	cmd.Stderr = os.Stderr
	var pg *pgSampler
	if pgURL != "" {
		cmd.Env = append(os.Environ(), "LEADMAILER_DATABASE_URL="+pgURL)
		pg = startPGSampler(pgURL)
	}
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if pg != nil {
		pg.stop()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	var rep struct {
		Run struct {
			Counts map[string]int64 `json:"counts"`
		} `json:"run"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("%s: read report: %w", label, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	read := rep.Run.Counts["read"]
	fmt.Printf("%-14s %8.0f rows/s  %6.2f s wall  %6.2f s user  %5.2f s sys  peak RSS %4d MB  (inserted %d, updated %d, unchanged %d)\n",
		label+":", float64(read)/elapsed.Seconds(), elapsed.Seconds(),
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), ru.Maxrss/1024,
		rep.Run.Counts["inserted"], rep.Run.Counts["updated"], rep.Run.Counts["unchanged"])
	if pg != nil {
		pg.report()
	}
	return nil
}

// pgSampler reads, every 50 ms while an import runs, the memory of the PostgreSQL backends
// serving one database: the processes whose command line the server sets to
// "postgres: USER DATABASE ...". VmHWM is the kernel's own peak of a process's resident set,
// so sampling misses nothing of it but a backend's last 50 ms; it counts the pages of
// shared_buffers the backend touched, which RssAnon (its private memory) does not.
type pgSampler struct {
	db   string
	old  map[int]bool // backends already there when the import started: not the import's
	done chan struct{}
	wg   sync.WaitGroup
	seen map[int]pgProc
}

type pgProc struct {
	hwm, anon int64 // kB: VmHWM, and the highest RssAnon sampled
	cpu       int64 // clock ticks of user and system time, as last sampled
}

func startPGSampler(pgURL string) *pgSampler {
	u, err := url.Parse(pgURL)
	if err != nil {
		log.Fatalf("LEADMAILER_DATABASE_URL: %v", err)
	}
	s := &pgSampler{db: strings.TrimPrefix(u.Path, "/"), done: make(chan struct{}), seen: map[int]pgProc{}}
	s.sample()
	s.old = map[int]bool{}
	for pid := range s.seen {
		s.old[pid] = true
	}
	s.seen = map[int]pgProc{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *pgSampler) stop() { close(s.done); s.wg.Wait() }

func (s *pgSampler) sample() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || s.old[pid] {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(cmdline))
		if len(f) < 3 || f[0] != "postgres:" || f[2] != s.db {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		p := s.seen[pid]
		p.hwm = max(p.hwm, statusKB(status, "VmHWM:"))
		p.anon = max(p.anon, statusKB(status, "RssAnon:"))
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			p.cpu = max(p.cpu, statTicks(stat))
		}
		s.seen[pid] = p
	}
}

// statusKB returns the value in kB of a field of /proc/PID/status.
func statusKB(status []byte, field string) int64 {
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// statTicks returns utime + stime of /proc/PID/stat, in clock ticks. The fields are counted
// after the command name's closing parenthesis, since the name may hold spaces.
func statTicks(stat []byte) int64 {
	str := string(stat)
	f := strings.Fields(str[strings.LastIndexByte(str, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return user + sys
}

func (s *pgSampler) report() {
	if len(s.seen) == 0 {
		fmt.Println("              PostgreSQL backends: none seen on this machine (a server elsewhere, or another user's processes)")
		return
	}
	var hwm, sum, anon, ticks int64
	for _, p := range s.seen {
		hwm, sum, anon, ticks = max(hwm, p.hwm), sum+p.hwm, max(anon, p.anon), ticks+p.cpu
	}
	// Linux's USER_HZ is 100 on every architecture Go runs on.
	fmt.Printf("              PostgreSQL backends: %d, %.2f s CPU (sampled), peak RSS %d MB (largest; sum %d MB), of it private %d MB\n",
		len(s.seen), float64(ticks)/100, hwm/1024, sum/1024, anon/1024)
}

// warmUp imports the CSV twice, fresh and again, into a scratch database on the server of
// pgURL, then drops it and checkpoints. A cluster just made by initdb has no WAL files to
// reuse, so its first imports write every new 16 MB file full of zeros, and fault in the
// pages of shared_buffers one by one: a third of the first import's time on a 2-core
// machine, which a server that has run a while does not spend. One warm-up import left
// WAL files for the measured fresh import but not for the re-import after it, which writes
// more WAL: it ran 66,000 rows/s, and 97,000 on a cluster that had run many imports. The
// warm-up's figures are printed too.
func warmUp(bin, data, csvPath, pgURL string) error {
	u, err := url.Parse(pgURL)
	if err != nil {
		return fmt.Errorf("LEADMAILER_DATABASE_URL: %w", err)
	}
	scratch := strings.TrimPrefix(u.Path, "/") + "_warmup"
	admin := func(query string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, query)
		return err
	}
	if err := admin(`CREATE DATABASE ` + pgx.Identifier{scratch}.Sanitize()); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	// The scratch import gets its own data directory, with the measured one's settings.
	scratchData := data + "-warmup"
	if err := os.MkdirAll(scratchData, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(scratchData)
	if conf, err := os.ReadFile(filepath.Join(data, "leadmailer.toml")); err == nil {
		if err := os.WriteFile(filepath.Join(scratchData, "leadmailer.toml"), conf, 0o600); err != nil {
			return err
		}
	}
	su := *u
	su.Path = "/" + scratch
	for _, label := range []string{"warm-up", "warm-up again"} {
		if err := measure(bin, scratchData, csvPath, label, su.String()); err != nil {
			return err
		}
	}
	if err := admin(`DROP DATABASE ` + pgx.Identifier{scratch}.Sanitize()); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := admin(`CHECKPOINT`); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Println("              (the cluster's first imports, into a scratch database since dropped: not figures of leadmailer)")
	return nil
}

func pgDatabaseSize(pgURL string) (int64, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// writeCSV writes n leads the way a CRM export looks: mixed-case addresses, Finnish, Swedish
// and German names with diacritics, countries as names and codes, a column that is not stored.
func writeCSV(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	first := []string{"Anna", "Mikko", "Sörén", "Jürgen", "Åsa", "Päivi", "Lars", "Émilie"}
	last := []string{"Virtanen", "Korhonen", "Müller", "Lindqvist", "Mäkinen", "Öberg", "Schmidt"}
	countries := []string{"FI", "Finland", "Suomi", "SE", "Sverige", "DE", "Deutschland", "EE"}
	titles := []string{"CEO", "Head of Marketing", "Procurement Manager", "CTO", ""}
	fmt.Fprintln(w, "Email,First name,Last name,Company,Country,Job title,Phone,City,Notes")
	for i := range n {
		fmt.Fprintf(w, "%s.%s%d@Example-%d.com,%s,%s,\"Company %d, Ltd\",%s,%s,+358 40 %07d,Helsinki,met at fair\n",
			first[i%len(first)], last[i%len(last)], i, i%5000, first[i%len(first)], last[i%len(last)], i/3,
			countries[i%len(countries)], titles[i%len(titles)], i)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}
