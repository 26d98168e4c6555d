package applets

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

func TestPrintcontenv(t *testing.T) {
	l := layout.Layout{Root: t.TempDir()}
	if err := os.MkdirAll(l.RunEnvs(), 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"B": "two\nlines", "A": "one", "EMPTY": ""} {
		if err := os.WriteFile(filepath.Join(l.RunEnvs(), k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"all", nil, "A=one\nB=two\nlines\nEMPTY=\n", 0},
		{"names", []string{"B", "A"}, "two\nlines\none\n", 0},
		{"unset", []string{"A", "NOPE"}, "one\n", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Printcontenv(l, tt.args, &out)
			code := 0
			if c, ok := err.(ExitCode); ok {
				code = int(c)
			} else if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || code != tt.code {
				t.Errorf("got %q exit %d, want %q exit %d", out.String(), code, tt.want, tt.code)
			}
		})
	}
}
