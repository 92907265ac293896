package bounce

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses each message of the test corpus in turn: the parse path of every
// ingested bounce, without the database. bench/bounces.sh measures the whole ingest.
func BenchmarkParse(b *testing.B) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatalf("corpus: %v, %d files", err, len(files))
	}
	msgs := make([][]byte, len(files))
	size := 0
	for i, f := range files {
		if msgs[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
		size += len(msgs[i])
	}
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msgs[i%len(msgs)])); err != nil {
			b.Fatalf("%s: %v", files[i%len(msgs)], err)
		}
		i++
	}
}
