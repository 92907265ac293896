//go:build unix

package campaign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/leadmailer/leadmailer"
)

// Lock keeps a second process from sending campaign id while this one does: it takes an
// exclusive lock on a file in dir, which the operating system releases when the process
// ends, however it ends, so that a campaign left running by a crash can be resumed at once.
// Call the returned function to release it.
func Lock(dir string, id int64) (unlock func(), err error) {
	path := filepath.Join(dir, fmt.Sprintf("campaign-%d.lock", id))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock campaign %d: %w", id, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is being sent by another process (leadmailer serve or campaigns send): pause it there, or wait", id)
		}
		return nil, fmt.Errorf("lock campaign %d: %w", id, err)
	}
	return func() { f.Close() }, nil
}
