package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Children returns the process IDs of pid's children (Linux /proc): the
// plugin processes of a stepup serve, or of this test process when pid is
// os.Getpid().
func Children(pid int) ([]string, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil || len(tasks) == 0 {
		return nil, fmt.Errorf("no tasks of process %d in /proc: %v", pid, err)
	}
	var kids []string
	for _, task := range tasks { // each thread lists the children it started
		b, _ := os.ReadFile(task)
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids, nil
}
