package runstate

// s6-overlay's exit code file: /run/s6-linux-init-container-results/exitcode
// (a symlink into the run directory), created empty at boot. A service's
// finish writes a number there, then calls halt or s6-svscanctl -t: that
// number becomes the container's exit status unless one was recorded
// first (the CMD's, a failed boot's, an essential service's).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ExitcodeFile is s6-overlay's exit code file, relative to the run
// directory.
const ExitcodeFile = "s6-linux-init-container-results/exitcode"

// CreateExitcode creates the exit code file, empty, writable by the
// container's user (the uid the stages run as) and readable by every uid.
func (s State) CreateExitcode() error {
	p := s.path(ExitcodeFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// Exitcode reads the exit code file: a number from 0 to 255 a finish
// wrote there (ok), nothing (empty, or missing), or an error naming the
// file and what it holds.
func (s State) Exitcode() (int, bool, error) {
	p := s.path(ExitcodeFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", p, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 255 {
		return 0, false, fmt.Errorf("%s: want an exit code from 0 to 255, got %q", p, v)
	}
	return n, true, nil
}

// Halt is s6-overlay's /run/s6/basedir/bin/halt: the exit code file's
// number, when a finish wrote one, becomes the exit status (unless one
// was recorded first), then the shutdown is requested.
func (s State) Halt() error {
	var errs []error
	if n, ok, err := s.Exitcode(); err != nil {
		errs = append(errs, err)
	} else if ok {
		_, err := s.SetExitStatus(n)
		errs = append(errs, err)
	}
	errs = append(errs, s.RequestShutdown(ReasonHalt))
	return errors.Join(errs...)
}

// ReasonHalt is the shutdown reason of halt.
const ReasonHalt = "halt"
