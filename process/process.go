// Package process names the running leadmailer process for the claims it makes in a
// database that several processes share (scheduled runs, webhook deliveries), and tells
// whether the process behind such a name has stopped, so that its claims can be taken back
// without waiting for them to run out.
package process

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Name names this process as host:pid.
func Name() string {
	return fmt.Sprintf("%s:%d", hostname(), os.Getpid())
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown-host"
	}
	return h
}

// Stopped reports whether the process that Name named name is known to have stopped: it ran
// on this host and no process of its id runs now. A process on another host cannot be asked,
// nor can one where the operating system offers no way: then Stopped says false, and the
// claims wait for their lease. A reused process id only delays that, never doubles a claim.
func Stopped(name string) bool {
	host, pidText, ok := strings.Cut(name, ":")
	if !ok || host != hostname() {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return gone(pid)
}
