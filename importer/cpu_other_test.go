//go:build !unix

package importer_test

import "time"

// processCPU is not measured on this system; the benchmark then omits cpu-ns/row.
func processCPU() time.Duration { return 0 }
