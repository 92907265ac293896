// Package filelock keeps one job from running in two processes at once: a command-line run
// and leadmailer serve, say. A lock is an exclusive flock(2) on a file, which the operating
// system releases when the process ends, however it ends, so a crash never leaves a stale
// lock behind.
//
// Where flock(2) is missing, Acquire always succeeds: there the user must not start the same
// job twice. Locks are per process; within one process, callers coordinate themselves.
package filelock

import "errors"

// ErrLocked is returned by Acquire when another process holds the lock.
var ErrLocked = errors.New("filelock: held by another process")
