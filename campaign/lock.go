package campaign

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/filelock"
)

// Lock keeps a second process from sending campaign id while this one does: it takes a lock
// on a file in dir that the operating system releases when the process ends, however it
// ends, so that a campaign left running by a crash can be resumed at once. Call the returned
// function to release it.
func Lock(dir string, id int64) (unlock func(), err error) {
	unlock, err = filelock.Acquire(filepath.Join(dir, fmt.Sprintf("campaign-%d.lock", id)))
	if errors.Is(err, filelock.ErrLocked) {
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is being sent by another process (leadmailer serve or campaigns send): pause it there, or wait", id)
	}
	if err != nil {
		return nil, fmt.Errorf("lock campaign %d: %w", id, err)
	}
	return unlock, nil
}
