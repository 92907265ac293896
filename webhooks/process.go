package webhooks

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processName names this process in the claims of deliveries, as host:pid.
func processName() string {
	return fmt.Sprintf("%s:%d", hostname(), os.Getpid())
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown-host"
	}
	return h
}

// processStopped reports whether the sender process named by (see processName) is known to
// have stopped: it ran on this host and no process of its id runs now. A process on another
// host cannot be asked; its claims come back when their lease runs out. A reused process id
// only delays that, never sends a delivery twice.
func processStopped(by string) bool {
	host, pidText, ok := strings.Cut(by, ":")
	if !ok || host != hostname() {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
