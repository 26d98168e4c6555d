package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/applets"
)

// TestExitCode pins the documented contract from an applet's error to its
// exit code and what it prints.
func TestExitCode(t *testing.T) {
	a := applet{name: "with-env", usage: "with-env PROG..."}
	for _, tt := range []struct {
		name string
		err  error
		code int
		out  string
	}{
		{"ok", nil, 0, ""},
		{"exit code", applets.ExitCode(7), 7, ""},
		{"wrapped exit code", fmt.Errorf("x: %w", applets.ExitCode(42)), 42, ""},
		{"not found", &applets.ExecError{Name: "nope", Why: "not found", Code: 127}, 127, "ignity: with-env: nope: not found\n"},
		{"cannot execute", &applets.ExecError{Name: "x", Why: "permission denied", Code: 126}, 126, "ignity: with-env: x: permission denied\n"},
		{"usage", applets.UsageError("no program given"), 100, "ignity: with-env: no program given\nusage: with-env PROG...\n"},
		{"other, every line", errors.New("a:1: bad\na:2: worse"), 100, "ignity: with-env: a:1: bad\nignity: with-env: a:2: worse\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := exitCode(&stderr, a, tt.err); code != tt.code {
				t.Errorf("exitCode = %d, want %d", code, tt.code)
			}
			if stderr.String() != tt.out {
				t.Errorf("printed %q, want %q", stderr.String(), tt.out)
			}
		})
	}
}

func TestDispatch(t *testing.T) {
	for _, tt := range []struct {
		name string
		argv []string
		code int
		out  string // in stdout or stderr
	}{
		{"no applet", []string{"ignity"}, 100, "usage: ignity APPLET"},
		{"unknown", []string{"ignity", "frobnicate"}, 100, `unknown applet "frobnicate"`},
		{"help", []string{"ignity", "--help"}, 0, "with-retries [-n N]"},
		{"version", []string{"/usr/bin/ignity", "--version"}, 0, "ignity dev"},
		{"by argv0", []string{"/usr/bin/with-retries"}, 100, "usage: with-retries"},
		{"usage error", []string{"ignity", "preboot", "extra"}, 100, "preboot takes no arguments"},
		{"check usage", []string{"ignity", "check", "--root", "/no/such/dir"}, 100, "not a directory"},
		{"retries exit status", []string{"with-retries", "-n", "0", "false"}, 1, ""},
		{"no such control file", []string{"/run/ignity/services-state/.s6-svscan/nope"}, 100, `unknown applet "nope"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tt.argv, &out, &out); code != tt.code {
				t.Errorf("run(%q) = %d, want %d\n%s", tt.argv, code, tt.code, out.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("run(%q) printed %q, want %q", tt.argv, out.String(), tt.out)
			}
		})
	}
}
