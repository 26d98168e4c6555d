package applets

// s6-overlay-suexec: in s6-overlay a setuid-root helper that its /init
// calls as `s6-overlay-suexec { preinit } stage0...`: it runs preinit as
// root, then execs stage0 as the container's user. ignity's /init never
// calls it; it is shipped because image builds touch the file (chmod
// u-s). Run, it does the same without the privilege: ignity ships
// nothing setuid, so the block runs as the caller.

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

const suexecUsage = "s6-overlay-suexec { prog1... } prog2..."

// Suexec runs the execline block that starts args (its words prefixed
// with a space, ended by an empty word: what execlineb passes for
// { prog1... }), waits for it, exits with its status if not 0, then
// execs the rest.
func Suexec(args []string, stderr io.Writer) error {
	const prog = "s6-overlay-suexec"
	end := -1
	for i, a := range args {
		if a == "" {
			end = i
			break
		}
		if !strings.HasPrefix(a, " ") {
			break
		}
	}
	if end < 1 || end+1 == len(args) {
		return usage(stderr, prog, suexecUsage, errors.New("want a block, then a program"))
	}
	block := make([]string, end)
	for i, w := range args[:end] {
		block[i] = w[1:]
	}
	c := exec.Command(block[0], block[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return ExitCode(128 + int(ws.Signal()))
			}
			return ExitCode(ee.ExitCode())
		}
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return execReport(stderr, prog, &ExecError{Name: block[0], Err: err, Code: code})
	}
	return execReport(stderr, prog, Exec(args[end+1:], os.Environ()))
}
