package fileerr

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestErrorPrints(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"file and line", Errorf("/etc/ignity/perms/10-web", 3, "bad mode %q", "07x5"), `/etc/ignity/perms/10-web:3: bad mode "07x5"`},
		{"file only", Errorf("/etc/ignity/services/web", 0, "no run file"), "/etc/ignity/services/web: no run file"},
		{"line only", Errorf("", 2, "block not closed"), "line 2: block not closed"},
		{"neither", Errorf("", 0, "empty"), "empty"},
		{"negative line is no line", &Error{File: "f", Line: -1, Err: errors.New("m")}, "f: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorsAsThroughWrappers(t *testing.T) {
	inner := Errorf("/etc/ignity/envs/10", 4, "open: %w", fs.ErrNotExist)
	tests := []struct {
		name string
		err  error
	}{
		{"itself", inner},
		{"wrapped", fmt.Errorf("load: %w", inner)},
		{"joined", errors.Join(errors.New("other"), inner)},
		{"joined and wrapped", fmt.Errorf("boot: %w", errors.Join(inner))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if !errors.As(tt.err, &e) {
				t.Fatalf("errors.As(%v) found no *Error", tt.err)
			}
			if e.File != "/etc/ignity/envs/10" || e.Line != 4 {
				t.Errorf("position = %s:%d, want /etc/ignity/envs/10:4", e.File, e.Line)
			}
			if !errors.Is(tt.err, fs.ErrNotExist) {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = false: the problem is not unwrapped", tt.err)
			}
		})
	}
}
