//go:build unix

package process

import (
	"errors"
	"syscall"
)

// gone reports whether no process of id pid exists: signal 0 checks without sending.
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
