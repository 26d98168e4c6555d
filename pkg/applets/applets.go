// Package applets holds the commands users run: with-env, load-envfile,
// fix-perms, preboot, with-retries and check. Each takes its arguments
// (and where it reads one, stdin) and returns an error that the command
// table in cmd/ignity-init maps to an exit code: a UsageError is 100, an
// ExitCode its own value, an *ExecError the shell's 126 or 127, any other
// error 100 with its message.
package applets

import (
	"strconv"

	"github.com/ignity/ignity/pkg/proc"
	"golang.org/x/sys/unix"
)

// UsageError is a command called with arguments it does not take.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// ExitCode carries a command's exit status through the error path.
type ExitCode int

func (e ExitCode) Error() string { return "exit " + strconv.Itoa(int(e)) }

// ExecError is a program that could not be run, with the shell's exit
// code for it: 127 not found, 126 found but not executable.
type ExecError = proc.ExecError

// Exec replaces this process with argv[0], looked up in env's PATH (see
// proc.Exec: a script without #! runs with /bin/sh, as execvp does).
func Exec(argv, env []string) error {
	if len(argv) == 0 {
		return UsageError("no program given")
	}
	return proc.Exec(argv, env, unix.Exec)
}
