package applets

import (
	"flag"
	"io"
	"os"
	"time"

	"github.com/ignity/ignity/pkg/proc"
)

// WithRetries is with-retries [-n N] [-t MS] PROG...: it runs PROG until
// it succeeds, at most N+1 times, each for at most MS ms, and exits with
// the last status.
func WithRetries(args []string) error {
	fs := flag.NewFlagSet("with-retries", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 3, "retries")
	t := fs.Int("t", 500, "milliseconds per attempt")
	if err := fs.Parse(args); err != nil {
		return UsageError(err.Error())
	}
	if fs.NArg() == 0 || *n < 0 || *t < 0 {
		return UsageError("want a program, -n >= 0 and -t >= 0")
	}
	return ExitCode(proc.Retry(fs.Args(), os.Environ(), *n, time.Duration(*t)*time.Millisecond, os.Stderr))
}
