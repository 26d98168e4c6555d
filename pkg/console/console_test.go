package console

import (
	"bytes"
	"errors"
	"testing"
)

func TestVerbosity(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want int
	}{
		{nil, 1}, {[]string{"IGNITY_VERBOSITY=0"}, 0}, {[]string{"IGNITY_VERBOSITY=2"}, 2},
		{[]string{"IGNITY_VERBOSITY=9"}, 1}, {[]string{"IGNITY_VERBOSITY=0", "IGNITY_VERBOSITY=2"}, 2},
		{[]string{"S6_VERBOSITY=0"}, 0}, {[]string{"S6_VERBOSITY=2"}, 1}, {[]string{"S6_VERBOSITY=5"}, 2},
		{[]string{"S6_VERBOSITY=0", "IGNITY_VERBOSITY=2"}, 2}, {[]string{"S6_VERBOSITY=x"}, 1},
	} {
		if got := Verbosity(tt.env); got != tt.want {
			t.Errorf("Verbosity(%q) = %d, want %d", tt.env, got, tt.want)
		}
	}
}

// TestLines pins the documented shapes, at each verbosity.
func TestLines(t *testing.T) {
	for level, want := range map[int]string{
		0: "ignity: warning: w 1\nignity: error: a\nignity: error: b\n",
		1: "[supervisor/env] Loading environment files\nignity: warning: w 1\nignity: error: a\nignity: error: b\n",
		2: "[supervisor/env] Loading environment files\n[supervisor/env] debug: d\nignity: warning: w 1\nignity: error: a\nignity: error: b\n",
	} {
		var b bytes.Buffer
		l := To(&b, 1)
		l.SetLevel(level)
		l.Info("env", "Loading environment files")
		l.Debug("env", "d")
		l.Warn("w %d", 1)
		l.Error(errors.New("a\nb"))
		if b.String() != want {
			t.Errorf("level %d:\n%s\nwant\n%s", level, b.String(), want)
		}
	}
}
