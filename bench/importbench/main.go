// Command importbench measures leadmailer's CSV import: it writes a CSV of synthetic leads,
// then runs the leadmailer binary to import it into a fresh data directory and to import it
// again, and prints rows per second and the peak resident memory of each run.
//
//	go build -o /tmp/leadmailer ./cmd/leadmailer
//	go run ./bench/importbench -bin /tmp/leadmailer -rows 1000000
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "leadmailer", "leadmailer binary to measure")
	rows := flag.Int("rows", 1_000_000, "rows in the generated CSV")
	dir := flag.String("dir", "", "working directory (default: a new temporary one, removed afterwards)")
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
	for _, label := range []string{"fresh import", "re-import"} {
		if err := measure(*bin, data, csvPath, label); err != nil {
			log.Fatal(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "leadmailer.db")); err == nil {
		fmt.Printf("database size: %.1f MB (%.0f bytes per row over two imports)\n",
			float64(fi.Size())/1e6, float64(fi.Size())/float64(*rows))
	}
}

func measure(bin, data, csvPath, label string) error {
	cmd := exec.Command(bin, "import", csvPath, "--source", "bench", "--data", data, "--json")
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
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
	fmt.Printf("%-13s %8.0f rows/s  %6.2f s wall  %6.2f s user  %5.2f s sys  peak RSS %4d MB  (inserted %d, updated %d, unchanged %d)\n",
		label+":", float64(read)/elapsed.Seconds(), elapsed.Seconds(),
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), ru.Maxrss/1024,
		rep.Run.Counts["inserted"], rep.Run.Counts["updated"], rep.Run.Counts["unchanged"])
	return nil
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
