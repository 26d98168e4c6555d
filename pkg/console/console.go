// Package console prints what ignity tells the container's log: the
// original ignity's "[supervisor/<stage>] ..." lines at verbosity 1, debug
// lines at 2, and warnings and errors ("ignity: warning: ...",
// "ignity: error: ...") always. Tests and users grep these lines: their
// shape is part of the documented interface.
package console

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Logger writes the lines at one verbosity.
type Logger struct {
	w     io.Writer
	level atomic.Int32 // set once the configuration is parsed, read by any goroutine
}

// New returns a Logger writing to stderr at level (0, 1 or 2).
func New(level int) *Logger { return To(os.Stderr, level) }

// To returns a Logger writing to w at level.
func To(w io.Writer, level int) *Logger {
	l := &Logger{w: w}
	l.level.Store(int32(level))
	return l
}

// SetLevel changes the verbosity, once the configuration is known.
func (l *Logger) SetLevel(level int) { l.level.Store(int32(level)) }

// Level is the verbosity.
func (l *Logger) Level() int { return int(l.level.Load()) }

// Info prints a "[supervisor/<stage>] ..." line at verbosity 1 and above.
func (l *Logger) Info(stage, format string, a ...any) {
	if l.Level() >= 1 {
		fmt.Fprintf(l.w, "[supervisor/%s] %s\n", stage, fmt.Sprintf(format, a...))
	}
}

// Debug prints a "[supervisor/<stage>] debug: ..." line at verbosity 2.
func (l *Logger) Debug(stage, format string, a ...any) {
	if l.Level() >= 2 {
		fmt.Fprintf(l.w, "[supervisor/%s] debug: %s\n", stage, fmt.Sprintf(format, a...))
	}
}

// Warn prints "ignity: warning: ...", whatever the verbosity.
func (l *Logger) Warn(format string, a ...any) {
	l.lines("warning", fmt.Sprintf(format, a...))
}

// Error prints err as "ignity: error: ..." lines, one per line of its
// text (a joined error lists every problem).
func (l *Logger) Error(err error) { l.lines("error", err.Error()) }

func (l *Logger) lines(kind, text string) {
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(l.w, "ignity: %s: %s\n", kind, line)
	}
}

// Verbosity reads IGNITY_VERBOSITY from env before the configuration is
// parsed, so that even configuration errors respect it, or without it
// s6-overlay's S6_VERBOSITY, mapped as the configuration maps it (0 to 0,
// 1 and 2 to 1, 3 and more to 2); 1 when unset or not valid (the parser
// reports a bad value).
func Verbosity(env []string) int {
	s6 := -1
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "IGNITY_VERBOSITY="); ok && len(v) == 1 && v[0] >= '0' && v[0] <= '2' {
			return int(v[0] - '0')
		}
		if v, ok := strings.CutPrefix(env[i], "S6_VERBOSITY="); ok && s6 < 0 {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				s6 = [...]int{0, 1, 1, 2}[min(n, 3)]
			}
		}
	}
	if s6 >= 0 {
		return s6
	}
	return 1
}
