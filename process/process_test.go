package process_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/process"
)

func TestStopped(t *testing.T) {
	self := process.Name()
	host, _, _ := strings.Cut(self, ":")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ended := fmt.Sprintf("%s:%d", host, cmd.Process.Pid)
	for name, want := range map[string]bool{
		self:                      false, // this process runs
		fmt.Sprintf("%s:1", host): false, // init runs
		"other-host.example:1":    false, // cannot be asked
		"no colon":                false,
		fmt.Sprintf("%s:x", host): false,
		ended:                     runtime.GOOS != "windows",
	} {
		if got := process.Stopped(name); got != want {
			t.Errorf("Stopped(%q) = %v, want %v", name, got, want)
		}
	}
}
