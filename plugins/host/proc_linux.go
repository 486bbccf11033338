package host

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel end the plugin when the host dies, so that
// no orphan keeps serving.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
