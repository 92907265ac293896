//go:build !unix

package filelock

// Acquire always succeeds where flock(2) is missing.
func Acquire(path string) (release func(), err error) { return func() {}, nil }
