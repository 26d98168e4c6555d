// Package fileerr is ignity's one error for a problem at a place in a
// file, printed the way compilers print one: "file:line: problem". Every
// parser (env files, perms files, execline lines, service definitions)
// reports its bad lines with it, so a caller finds the position with
// errors.As, whatever wraps it, and never reads it back out of the
// message.
//
// It imports nothing of ignity's: every layer may use it.
package fileerr

import (
	"fmt"
	"strconv"
)

// Error is a problem at a line of a file, or in a file as a whole.
type Error struct {
	File string // the file's name; "" for text that has none (an execline line given alone)
	Line int    // from 1; 0 when the problem is not tied to a line
	Err  error  // the problem
}

// Errorf returns the Error at file:line whose problem is
// fmt.Errorf(format, args...).
func Errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Err: fmt.Errorf(format, args...)}
}

// Error prints "file:line: problem"; without a line "file: problem", and
// without a file "line N: problem".
func (e *Error) Error() string {
	var at string
	switch {
	case e.File != "" && e.Line > 0:
		at = e.File + ":" + strconv.Itoa(e.Line)
	case e.File != "":
		at = e.File
	case e.Line > 0:
		at = "line " + strconv.Itoa(e.Line)
	default:
		return e.Err.Error()
	}
	return at + ": " + e.Err.Error()
}

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }
