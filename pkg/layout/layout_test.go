package layout

import (
	"strings"
	"testing"
)

func TestChildEnv(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"default", []string{"A=1"}, "PATH=" + DefaultPath + ":/usr/lib/execline/bin"},
		{"empty", []string{"PATH="}, "PATH=" + DefaultPath + ":/usr/lib/execline/bin"},
		{"kept and extended", []string{"PATH=/opt/bin:/bin"}, "PATH=/opt/bin:/bin:/usr/lib/execline/bin"},
		{"not twice", []string{"PATH=/usr/lib/execline/bin:/bin"}, "PATH=/usr/lib/execline/bin:/bin"},
		{"the last one", []string{"PATH=/a", "PATH=/b"}, "PATH=/b:/usr/lib/execline/bin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ChildEnv(tt.env)
			if got[len(got)-1] != tt.want {
				t.Errorf("ChildEnv(%q) = %q, want last %q", tt.env, got, tt.want)
			}
			if n := strings.Count(strings.Join(got, "\n"), "PATH="); n != 1 {
				t.Errorf("%d PATH entries in %q", n, got)
			}
		})
	}
}

func TestInImage(t *testing.T) {
	l := Layout{Root: "/tmp/root"}
	for host, want := range map[string]string{
		"/tmp/root/etc/ignity/init/10-a": "/etc/ignity/init/10-a",
		"/tmp/root":                      "/",
		"/elsewhere/x":                   "/elsewhere/x",
		"/tmp/rootless/x":                "/tmp/rootless/x",
	} {
		if got := l.InImage(host); got != want {
			t.Errorf("InImage(%q) = %q, want %q", host, got, want)
		}
	}
	if got := Default.InImage("/run/ignity"); got != "/run/ignity" {
		t.Errorf("Default.InImage = %q", got)
	}
}
