package host

import (
	"errors"
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel end the plugin when the host dies, so that
// no orphan keeps serving.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// processGone reports whether no process has the ID pid.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
