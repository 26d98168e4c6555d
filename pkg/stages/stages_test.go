package stages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

func TestChildEnv(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"default", []string{"A=1"}, "PATH=" + layout.DefaultPath + ":/usr/lib/execline/bin"},
		{"kept and extended", []string{"PATH=/opt/bin:/bin"}, "PATH=/opt/bin:/bin:/usr/lib/execline/bin"},
		{"not twice", []string{"PATH=/usr/lib/execline/bin:/bin"}, "PATH=/usr/lib/execline/bin:/bin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := childEnv(tt.env)
			if got[len(got)-1] != tt.want {
				t.Errorf("childEnv(%q) = %q, want last %q", tt.env, got, tt.want)
			}
			if n := strings.Count(strings.Join(got, "\n"), "PATH="); n != 1 {
				t.Errorf("%d PATH entries in %q", n, got)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	for argv0, want := range map[string]bool{
		".s6-svscan/SIGTERM": true, "/run/ignity/services-state/.s6-svscan/finish": true,
		".s6-svscan/SIGUSR1": true, ".s6-svscan/nope": false, "SIGTERM": false, "/usr/bin/ignity": false,
	} {
		if got := Handler(argv0) != nil; got != want {
			t.Errorf("Handler(%q) found = %v, want %v", argv0, got, want)
		}
	}
}

func TestStateFirstWriterWins(t *testing.T) {
	l := layout.Layout{Root: t.TempDir()}
	if err := os.MkdirAll(l.Run(), 0o755); err != nil {
		t.Fatal(err)
	}
	if first, err := writeStateOnce(l, stateExit, "3"); err != nil || !first {
		t.Fatalf("first write: %v, %v", first, err)
	}
	if first, err := writeStateOnce(l, stateExit, "0"); err != nil || first {
		t.Fatalf("second write: %v, %v; want not written", first, err)
	}
	if n, ok := readStateInt(l, stateExit); !ok || n != 3 {
		t.Errorf("exit status = %d, %v; want 3", n, ok)
	}
}

func TestCheckExecutable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name, path, want string
	}{
		{"ok", write("ok", "#!/bin/sh\n", 0o755), ""},
		{"not executable", write("plain", "#!/bin/sh\n", 0o644), "not executable"},
		{"bad interpreter", write("bad", "#!/no/such/sh -e\n", 0o755), "interpreter /no/such/sh"},
		{"empty shebang", write("empty", "#!\n", 0o755), "empty #! line"},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkExecutable(tt.path)
			if tt.want == "" {
				if err != nil {
					t.Errorf("checkExecutable = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("checkExecutable = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestVerbosity(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want int
	}{
		{nil, 1}, {[]string{"IGNITY_VERBOSITY=0"}, 0}, {[]string{"IGNITY_VERBOSITY=2"}, 2},
		{[]string{"IGNITY_VERBOSITY=9"}, 1}, {[]string{"IGNITY_VERBOSITY=0", "IGNITY_VERBOSITY=2"}, 2},
	} {
		if got := verbosity(tt.env); got != tt.want {
			t.Errorf("verbosity(%q) = %d, want %d", tt.env, got, tt.want)
		}
	}
}
