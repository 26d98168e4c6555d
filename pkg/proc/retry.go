package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Retry runs argv until it succeeds, at most retries+1 times, each
// attempt bounded by each (killed with its process group at the bound),
// and returns the last exit code. Attempts are logged to log.
func Retry(argv, env []string, retries int, each time.Duration, log io.Writer) int {
	path, err := Lookup(argv[0], PathOf(env))
	var e *ExecError
	if errors.As(err, &e) {
		fmt.Fprintf(log, "with-retries: %v\n", e)
		return e.Code
	}
	argv = append([]string{path}, argv[1:]...)
	status := 0
	for attempt := 0; attempt <= retries; attempt++ {
		pid, err := Start(argv, env, []*os.File{os.Stdin, os.Stdout, os.Stderr})
		if err != nil {
			e := execFailed(argv[0], path, unwrapPath(err)).(*ExecError)
			fmt.Fprintf(log, "with-retries: %v\n", e)
			return e.Code
		}
		status, err = Bounded(pid, WaitPid(pid), each)
		if err != nil {
			fmt.Fprintf(log, "with-retries: %s: attempt %d of %d killed after %v\n", argv[0], attempt+1, retries+1, each)
		}
		if status == 0 && err == nil {
			return 0
		}
	}
	return status
}
