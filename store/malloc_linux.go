//go:build linux && cgo

package store

/*
#include <malloc.h>

// tuneMalloc runs as the program loads, before the Go runtime starts its threads: a thread
// that allocates before the limit is set gets an arena of its own and keeps it.
__attribute__((constructor)) static void tuneMalloc(void) {
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
}
*/
import "C"

// SQLite runs on whichever OS thread the calling goroutine is on, so glibc gives its
// allocations many arenas and keeps trimming them, and each trim costs a cross-CPU TLB flush.
// On small virtual machines that made imports several times slower in bad runs. One arena and
// a high trim threshold remove those outliers; SQLite's own cache bounds the memory kept.
