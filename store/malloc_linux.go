//go:build linux && cgo

package store

/*
#include <malloc.h>
static void tuneMalloc(void) {
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
}
*/
import "C"

// SQLite runs on whichever OS thread the calling goroutine is on, so glibc gives its
// allocations many arenas and keeps trimming them, and each trim costs a cross-CPU TLB flush.
// On small virtual machines that made imports several times slower in bad runs. One arena and
// a high trim threshold remove those outliers; SQLite's own cache bounds the memory kept.
func init() { C.tuneMalloc() }
