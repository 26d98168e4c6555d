// Package applets holds the commands users run: with-env, load-envfile,
// fix-perms, preboot, with-retries and check. Each takes its arguments
// (and where it reads one, stdin) and returns an error that the command
// table in cmd/ignity-init maps to an exit code: a UsageError is 100, an
// ExitCode its own value, an *ExecError the shell's 126 or 127, any other
// error 100 with its message.
package applets

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// UsageError is a command called with arguments it does not take.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// ExitCode carries a command's exit status through the error path.
type ExitCode int

func (e ExitCode) Error() string { return "exit " + strconv.Itoa(int(e)) }

// ExecError is a failed exec, with the shell's exit code for it.
type ExecError struct {
	Name string
	Err  error
	Code int // 127 not found, 126 found but not executable
}

func (e *ExecError) Error() string { return fmt.Sprintf("exec %s: %v", e.Name, e.Err) }
func (e *ExecError) Unwrap() error { return e.Err }

// Exec replaces this process with argv[0], looked up in env's PATH.
func Exec(argv, env []string) error {
	if len(argv) == 0 {
		return UsageError("no program given")
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			os.Setenv("PATH", v)
		}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return &ExecError{Name: argv[0], Err: err, Code: 127}
	}
	err = unix.Exec(path, argv, env)
	code := 126
	if errors.Is(err, unix.ENOENT) {
		code = 127
	}
	return &ExecError{Name: argv[0], Err: err, Code: code}
}
