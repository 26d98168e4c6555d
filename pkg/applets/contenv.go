package applets

// s6-overlay's environment helpers and halt, for the scripts of images
// moved from it: with-contenv is with-env; printcontenv prints from the
// same envdir (/run/s6/container_environment is /run/ignity/envs).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
)

// WithContenv is with-contenv, s6-overlay's name for with-env: it execs
// argv with the merged environment (#!/command/with-contenv bash).
func WithContenv(l layout.Layout, argv []string) error {
	return WithEnv(l, argv)
}

// Printcontenv is printcontenv: with names, it prints the value of each
// in the merged environment, one a line, and fails (exit 1) when one is
// not set; without, every variable as NAME=value, in name order.
func Printcontenv(l layout.Layout, args []string, w io.Writer) error {
	vars, err := envload.ReadDir(l.RunEnvs())
	switch {
	case errors.Is(err, os.ErrNotExist):
		vars = os.Environ()
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("read %s as uid %d: %w (it is readable only by the container's user)", l.RunEnvs(), os.Getuid(), err)
	case err != nil:
		return err
	}
	values := make(map[string]string, len(vars))
	for _, kv := range vars {
		if k, v, ok := strings.Cut(kv, "="); ok {
			values[k] = v
		}
	}
	if len(args) == 0 {
		names := make([]string, 0, len(values))
		for k := range values {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "%s=%s\n", k, values[k])
		}
		return nil
	}
	missing := false
	for _, name := range args {
		v, ok := values[name]
		if !ok {
			missing = true
			continue
		}
		fmt.Fprintf(w, "%s\n", v)
	}
	if missing {
		return ExitCode(1)
	}
	return nil
}

// Halt is s6-overlay's /run/s6/basedir/bin/halt: it stops the container,
// with the number a finish wrote in
// /run/s6-linux-init-container-results/exitcode as its exit status,
// unless one was decided first (the CMD's, ...).
func Halt(l layout.Layout, args []string) error {
	if len(args) > 0 {
		return UsageError("halt takes no arguments (write the exit code to /run/s6-linux-init-container-results/exitcode first)")
	}
	return runstate.New(l.Run()).Halt()
}
