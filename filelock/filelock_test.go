//go:build unix

package filelock_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/filelock"
)

// TestHelperHoldLock is not a test: run by TestLockHeldByAnotherProcess, it holds the lock
// named by the environment until killed.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv("FILELOCK_HOLD")
	if path == "" {
		t.Skip("helper process only")
	}
	if _, err := filelock.Acquire(path); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path+".ready", nil, 0o600)
	time.Sleep(time.Minute)
}

func TestLockHeldByAnotherProcess(t *testing.T) {
	// The folder does not exist yet: Acquire creates it.
	path := filepath.Join(t.TempDir(), "locks", "job.lock")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "FILELOCK_HOLD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(path + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the helper process did not take the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := filelock.Acquire(path); !errors.Is(err, filelock.ErrLocked) {
		t.Errorf("Acquire while another process holds the lock: %v, want ErrLocked", err)
	}
	// kill -9: the operating system releases the lock with the process.
	cmd.Process.Kill()
	cmd.Wait()
	release, err := filelock.Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	release()
}
