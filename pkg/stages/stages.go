// Package stages sequences a container's life: stage1 prepares /run/ignity
// and becomes s6-svscan; stage2 runs the init scripts, hands the services
// to s6 and runs the CMD; stage3 brings everything down. Each stage is a
// separate process image of the same binary, so no Go process stays
// resident while the container runs.
//
// The stages talk through hidden files in /run/ignity (layout.State) and
// through signals: whoever decides the container must stop (the CMD's
// waiter, a failed boot, s6-svscan's SIGTERM handler) records why and
// sends SIGABRT to s6-svscan, which then execs its finish program: stage3.
package stages

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ignity/ignity/pkg/layout"
	"golang.org/x/sys/unix"
)

// Exit codes, documented in the README.
const (
	ExitUsage  = 100 // usage or configuration error
	ExitSystem = 111 // system call failure
)

// State files (layout.State).
const (
	stateExit    = "exit-status"    // the container's exit status, first writer wins
	stateCmdPgid = "cmd-pgid"       // the CMD's process group while it runs
	stateReason  = "shutdown"       // why the container stops
	stateStage2  = "stage2-pid"     // stage2, later the CMD's waiter
	statePending = "pending-signal" // a signal stage1 caught before s6-svscan ran
)

// logger prints the [supervisor/<stage>] lines of the original ignity at
// verbosity 1, debug lines at 2, and warnings and errors always.
type logger struct {
	w     io.Writer
	level int
}

func newLogger(level int) *logger { return &logger{w: os.Stderr, level: level} }

func (l *logger) info(stage, format string, a ...any) {
	if l.level >= 1 {
		fmt.Fprintf(l.w, "[supervisor/%s] %s\n", stage, fmt.Sprintf(format, a...))
	}
}

func (l *logger) debug(stage, format string, a ...any) {
	if l.level >= 2 {
		fmt.Fprintf(l.w, "[supervisor/%s] debug: %s\n", stage, fmt.Sprintf(format, a...))
	}
}

func (l *logger) warn(format string, a ...any) {
	fmt.Fprintf(l.w, "ignity: warning: %s\n", fmt.Sprintf(format, a...))
}

func (l *logger) error(err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(l.w, "ignity: error: %s\n", line)
	}
}

// verbosity reads IGNITY_VERBOSITY before the full configuration is
// parsed, so that even configuration errors respect it.
func verbosity(env []string) int {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "IGNITY_VERBOSITY="); ok && len(v) == 1 && v[0] >= '0' && v[0] <= '2' {
			return int(v[0] - '0')
		}
	}
	return 1
}

// childEnv is the environment of everything ignity starts: env with its
// PATH (a default when none) followed by execline's directory, so that
// sh scripts can call eltest and friends as execline scripts do.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		out = append(out, kv)
	}
	if path == "" {
		path = layout.DefaultPath
	}
	if !strings.Contains(":"+path+":", ":"+layout.ExeclineBin+":") {
		path += ":" + layout.ExeclineBin
	}
	return append(out, "PATH="+path)
}

func writeState(l layout.Layout, name, value string) error {
	return os.WriteFile(l.State(name), []byte(value+"\n"), 0o644)
}

// writeStateOnce writes a state file unless it exists: the first writer
// wins (the first failure, the CMD's status). It reports whether it wrote.
func writeStateOnce(l layout.Layout, name, value string) (bool, error) {
	f, err := os.OpenFile(l.State(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(value + "\n")
	return true, errors.Join(err, f.Close())
}

func readState(l layout.Layout, name string) (string, bool) {
	b, err := os.ReadFile(l.State(name))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func readStateInt(l layout.Layout, name string) (int, bool) {
	s, ok := readState(l, name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// requestShutdown records why the container stops and makes s6-svscan
// exec stage3 at once: SIGABRT is s6-svscan's "exec finish now, without
// waiting for the supervision tree" signal. Every caller is a child of
// s6-svscan. Only the first to record a reason signals: a second SIGABRT
// could reach stage3 while the Go runtime starts, before its handlers are
// set, and Go's default for SIGABRT is to crash.
func requestShutdown(l layout.Layout, reason string) error {
	first, err := writeStateOnce(l, stateReason, reason)
	if err != nil || !first {
		return err
	}
	return unix.Kill(os.Getppid(), unix.SIGABRT)
}

// fail ends the boot: it records status as the container's exit status
// and starts the shutdown, so finalize scripts still run.
func fail(l layout.Layout, log *logger, status int, err error) int {
	log.error(err)
	writeStateOnce(l, stateExit, strconv.Itoa(status))
	if err := requestShutdown(l, "boot failed"); err != nil {
		log.error(fmt.Errorf("start the shutdown: %w", err))
	}
	return status
}
