package applets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

func code(err error) int {
	var c ExitCode
	if err == nil {
		return 0
	}
	if errors.As(err, &c) {
		return int(c)
	}
	return -1
}

func portable(name string) Portable {
	for _, p := range PortableUtils {
		if p.Name == name {
			return p
		}
	}
	panic(name)
}

func TestPortableUtils(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		prog    string
		args    []string
		stdin   string
		code    int
		stdout  string
		stderr  string // a substring
		checkFS func(t *testing.T)
	}{
		{name: "echo", prog: "s6-echo", args: []string{"a", "b"}, stdout: "a b\n"},
		{name: "echo -n -s", prog: "s6-echo", args: []string{"-n", "-s", ":", "a", "b"}, stdout: "a:b"},
		{name: "echo clustered, attached", prog: "s6-echo", args: []string{"-ns,", "a", "b"}, stdout: "a,b"},
		{name: "echo --", prog: "s6-echo", args: []string{"--", "-n"}, stdout: "-n\n"},
		{name: "echo unknown option", prog: "s6-echo", args: []string{"-x"}, code: 100, stderr: "s6-echo: fatal: unknown option -x"},
		{name: "echo -s without argument", prog: "s6-echo", args: []string{"-s"}, code: 100, stderr: "option -s needs an argument"},
		{name: "true", prog: "s6-true", args: []string{"ignored"}},
		{name: "false", prog: "s6-false", code: 1},
		{name: "mkdir -p -m", prog: "s6-mkdir", args: []string{"-p", "-m", "0750", filepath.Join(dir, "a/b")}, checkFS: func(t *testing.T) {
			if st, err := os.Stat(filepath.Join(dir, "a/b")); err != nil || !st.IsDir() {
				t.Errorf("a/b not made: %v", err)
			}
		}},
		{name: "mkdir exists", prog: "s6-mkdir", args: []string{dir}, code: 111, stderr: "s6-mkdir: fatal: unable to mkdir"},
		{name: "mkdir bad mode", prog: "s6-mkdir", args: []string{"-m", "0789", "x"}, code: 100, stderr: `bad mode "0789"`},
		{name: "mkdir nothing", prog: "s6-mkdir", code: 100, stderr: "s6-mkdir: usage:"},
		{name: "chmod", prog: "s6-chmod", args: []string{"0604", filepath.Join(dir, "a")}, checkFS: func(t *testing.T) {
			if st, _ := os.Stat(filepath.Join(dir, "a")); st.Mode().Perm() != 0o604 {
				t.Errorf("mode %o, want 604", st.Mode().Perm())
			}
		}},
		{name: "chmod symbolic", prog: "s6-chmod", args: []string{"u+x", dir}, code: 100, stderr: "want an octal number"},
		{name: "chmod missing", prog: "s6-chmod", args: []string{"0644", filepath.Join(dir, "none")}, code: 111},
		{name: "chown own uid", prog: "s6-chown", args: []string{"-u", "0", "-g", "0", filepath.Join(dir, "a")}},
		{name: "chown bad uid", prog: "s6-chown", args: []string{"-u", "root", dir}, code: 100, stderr: `bad uid "root"`},
		{name: "chown two files", prog: "s6-chown", args: []string{"a", "b"}, code: 100},
		{name: "rmrf", prog: "s6-rmrf", args: []string{filepath.Join(dir, "a"), filepath.Join(dir, "none")}, checkFS: func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a still there: %v", err)
			}
		}},
		{name: "env -i prints", prog: "s6-env", args: []string{"-i", "A=1", "B=2", "A=3"}, stdout: "B=2\nA=3\n"},
		{name: "env unknown option", prog: "s6-env", args: []string{"-u", "X"}, code: 100, stderr: "unknown option -u"},
		{name: "env not found", prog: "s6-env", args: []string{"-i", "/nonexistent/prog"}, code: 127, stderr: "s6-env: fatal: unable to exec"},
		{name: "format-filter", prog: "s6-format-filter", args: []string{"%1 %s %% %0 %9 %q", "X"}, stdin: "one\ntwo", stdout: "X one % s6-format-filter  %q\nX two % s6-format-filter  %q\n"},
		{name: "format-filter no format", prog: "s6-format-filter", code: 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := portable(tt.prog).Run(tt.args, strings.NewReader(tt.stdin), &out, &errb)
			if got := code(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d; stderr %q", got, err, tt.code, errb.String())
			}
			if tt.stdout != "" && out.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q, want it to hold %q", errb.String(), tt.stderr)
			}
			if tt.checkFS != nil {
				tt.checkFS(t)
			}
		})
	}
}

func TestSuexecUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"prog"}, {" a", ""}, {" a", "b"}} {
		var errb bytes.Buffer
		if got := code(Suexec(args, &errb)); got != 100 {
			t.Errorf("%q: exit %d, want 100", args, got)
		}
	}
	var errb bytes.Buffer
	if got := code(Suexec([]string{" /bin/sh", " -c", " exit 7", "", "/bin/true"}, &errb)); got != 7 {
		t.Errorf("failing block: exit %d, want its 7", got)
	}
}

// TestS6rc runs s6-rc on a tree with no live state: everything is down,
// names resolve through bundles, closures follow dependencies.
func TestS6rc(t *testing.T) {
	root := t.TempDir()
	for p, body := range map[string]string{
		"etc/s6-overlay/s6-rc.d/a/type":                 "oneshot\n",
		"etc/s6-overlay/s6-rc.d/a/up":                   "true\n",
		"etc/s6-overlay/s6-rc.d/b/type":                 "longrun\n",
		"etc/s6-overlay/s6-rc.d/b/run":                  "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/b/dependencies.d/a":     "",
		"etc/s6-overlay/s6-rc.d/c/type":                 "longrun\n",
		"etc/s6-overlay/s6-rc.d/c/run":                  "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/c/dependencies.d/b":     "",
		"etc/s6-overlay/s6-rc.d/c/dependencies.d/base":  "",
		"etc/s6-overlay/s6-rc.d/grp/type":               "bundle\n",
		"etc/s6-overlay/s6-rc.d/grp/contents.d/c":       "",
		"etc/s6-overlay/s6-rc.d/user/contents.d/grp":    "",
		"etc/s6-overlay/s6-rc.d/user2/contents.d/other": "",
		"etc/s6-overlay/s6-rc.d/other/type":             "oneshot\n",
		"etc/s6-overlay/s6-rc.d/other/up":               "true\n",
	} {
		h := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(h), 0o755)
		if err := os.WriteFile(h, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := layout.Layout{Root: root}
	for _, tt := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"-a", "list"}, 0, "", ""},
		{[]string{"-da", "list"}, 0, "a\nb\nc\nother\n", ""},
		{[]string{"list", "user"}, 0, "c\n", ""},
		{[]string{"-d", "list", "grp"}, 0, "a\nb\nother\n", ""},
		{[]string{"listall", "grp"}, 0, "a\nb\nc\n", ""},
		{[]string{"-d", "listall", "a"}, 0, "a\nb\nc\n", ""},
		{[]string{"list", "nope"}, 3, "", "s6-rc: fatal: unknown service name nope"},
		{[]string{"help"}, 0, "usage: s6-rc", ""},
		{[]string{"-p", "change", "a"}, 100, "", "option -p is not supported"},
		{[]string{"-l", "/run/s6-rc", "list"}, 100, "", "option -l is not supported"},
		{[]string{"diff"}, 100, "", `subcommand "diff" is not supported`},
		{[]string{"-t", "soon", "change"}, 100, "", "-t: want a number"},
		{nil, 100, "", "no subcommand"},
		{[]string{"-d", "change", "a"}, 0, "", ""}, // already down: nothing to do
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := S6rc(l, tt.args, &out, &errb)
			if got := code(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d; stderr %q", got, err, tt.code, errb.String())
			}
			if !strings.HasPrefix(out.String(), tt.stdout) || (tt.stdout == "" && out.Len() > 0 && tt.args[0] != "help") {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q, want it to hold %q", errb.String(), tt.stderr)
			}
		})
	}
}
