package overlay

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
)

// image is a root for one test, with what its tests write there and
// what they log.
type image struct {
	l   layout.Layout
	out *bytes.Buffer
	log *console.Logger
}

func newImage(t *testing.T) *image {
	t.Helper()
	out := &bytes.Buffer{}
	return &image{l: layout.Layout{Root: t.TempDir()}, out: out, log: console.To(out, 2)}
}

func (im *image) host(p string) string { return filepath.Join(im.l.Root, p) }

// file writes body at the in-image path p, and returns its host path.
func (im *image) file(t *testing.T, p, body string, mode os.FileMode) string {
	t.Helper()
	host := im.host(p)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(host, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return host
}

// paths runs Paths over a fresh /run/ignity, as stage1 does after its reset.
func (im *image) paths(t *testing.T) error {
	t.Helper()
	st := runstate.New(im.l.Run())
	if err := os.MkdirAll(im.l.Run(), 0o755); err != nil {
		t.Fatal(err)
	}
	return Paths(im.l, "/usr/bin/ignity", st, im.log)
}

// TestPaths: s6-overlay's runtime paths, inside /run/ignity and the
// symlinks outside it; with no /var/run, Debian's symlink, through which
// /var/run/s6 is /run/s6.
func TestPaths(t *testing.T) {
	im := newImage(t)
	if err := im.paths(t); err != nil {
		t.Fatal(err)
	}
	for link, want := range map[string]string{
		"/run/ignity/s6/container_environment": "../envs",
		"/run/ignity/s6/services":              "../services-state",
		"/run/ignity/s6/basedir/bin/halt":      "/usr/bin/ignity",
		"/run/s6":                              "/run/ignity/s6",
		"/run/s6-linux-init-container-results": "/run/ignity/s6-linux-init-container-results",
		"/run/service":                         "/run/ignity/services-state",
		"/var/run":                             "../run",
		"/var/run/s6":                          "/run/ignity/s6",
	} {
		if got, err := os.Readlink(im.host(link)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", link, got, err, want)
		}
	}
	if fi, err := os.Stat(im.host("/run/ignity/s6-linux-init-container-results/exitcode")); err != nil || fi.Size() != 0 {
		t.Errorf("exit code file: %v, %v; want it empty", fi, err)
	}
}

// A path that exists and is not ignity's symlink is left alone, with a
// warning naming it.
func TestPathTaken(t *testing.T) {
	im := newImage(t)
	im.file(t, "/run/s6/leftover", "x", 0o644)
	if err := im.paths(t); err != nil {
		t.Fatal(err)
	}
	if want := "ignity: warning: /run/s6 exists and is not ignity's symlink to /run/ignity/s6"; !strings.Contains(im.out.String(), want) {
		t.Errorf("log %q lacks %q", im.out, want)
	}
	if _, err := os.Stat(im.host("/run/s6/leftover")); err != nil {
		t.Errorf("/run/s6 was replaced: %v", err)
	}
}

// A /var/run/s6 directory of the image's own (s6-overlay v2's) gets v2's
// paths in it, as symlinks into /run/ignity.
func TestVarRunS6Dir(t *testing.T) {
	im := newImage(t)
	if err := os.MkdirAll(im.host("/var/run/s6"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := im.paths(t); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"services":              "/run/ignity/services-state",
		"container_environment": "/run/ignity/envs",
		"basedir":               "/run/ignity/s6/basedir",
	} {
		if got, err := os.Readlink(im.host("/var/run/s6/" + name)); err != nil || got != want {
			t.Errorf("/var/run/s6/%s -> %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestParseConfig: with s6-overlay's layout the failure policy and the
// CMD's wait default to 0, and the S6_* aliases set the IGNITY_* knobs;
// without it, ignity's defaults stand.
func TestParseConfig(t *testing.T) {
	for _, tt := range []struct {
		name      string
		overlay   bool
		continues bool
	}{
		{"s6-overlay layout", true, true},
		{"ignity layout", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			im := newImage(t)
			if tt.overlay {
				im.file(t, "/etc/cont-init.d/10-x", "#!/bin/sh\n", 0o755)
			}
			cfg, found, err := ParseConfig(im.l, []string{"S6_KILL_GRACETIME=1234", "IGNITY_VERBOSITY=2"}, im.log)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.overlay || cfg.ContinueOnFailure != tt.continues {
				t.Errorf("found %v, ContinueOnFailure %v; want %v, %v", found, cfg.ContinueOnFailure, tt.overlay, tt.continues)
			}
			if cfg.KillGrace != 1234*time.Millisecond {
				t.Errorf("KillGrace = %v, want S6_KILL_GRACETIME's 1.234s", cfg.KillGrace)
			}
			if said := strings.Contains(im.out.String(), "s6-overlay layout found"); said != tt.overlay {
				t.Errorf("log %q: said the layout %v, want %v", im.out, said, tt.overlay)
			}
		})
	}
}

// TestHook: the stage2 hook's failure stops the container with its
// status, or is a warning under the continue policy.
func TestHook(t *testing.T) {
	for _, tt := range []struct {
		name      string
		hook      string
		continues bool
		wantErr   string
		wantCode  int
		wantLog   string
	}{
		{"ok", "true", false, "", 0, ""},
		{"fails, stop", "exit 3", false, "IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK) exited 3: the container stops", 3, ""},
		{"fails, continue", "exit 3", true, "", 0, "ignity: warning: IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK) exited 3: continuing, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			im := newImage(t)
			if err := os.MkdirAll(im.host("/bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/bin/sh", im.host("/bin/sh")); err != nil {
				t.Fatal(err)
			}
			policy := container.Policy(config.Config{ContinueOnFailure: tt.continues}, im.log)
			err := Hook(im.l.Root, tt.hook, os.Environ(), nil, policy)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Hook = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || container.ExitCode(err) != tt.wantCode):
				t.Errorf("Hook = %v (code %d), want %q (code %d)", err, container.ExitCode(err), tt.wantErr, tt.wantCode)
			}
			if im.out.String() != tt.wantLog {
				t.Errorf("logged %q, want %q", im.out, tt.wantLog)
			}
		})
	}
}

// TestFixAttrsV2Modes: v2's scripts and service programs shipped without
// x bits get them, said once; a bad fix-attrs.d line stops the container
// with 100.
func TestFixAttrsV2Modes(t *testing.T) {
	im := newImage(t)
	script := im.file(t, "/etc/cont-init.d/10-x", "#!/bin/sh\n", 0o644)
	run := im.file(t, "/etc/services.d/web/run", "#!/bin/sh\n", 0o640)
	im.file(t, "/etc/fix-attrs.d/01-bad", "/x what\n", 0o644)
	err := FixAttrs(im.l, config.Config{}, im.log)
	if err == nil || container.ExitCode(err) != container.ExitUsage {
		t.Errorf("FixAttrs = %v (code %d), want a bad line with %d", err, container.ExitCode(err), container.ExitUsage)
	}
	for host, want := range map[string]os.FileMode{script: 0o755, run: 0o750} {
		if fi, err := os.Stat(host); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", host, fi, err, want)
		}
	}
	if want := "made executable, as s6-overlay v2 did at every boot: /etc/cont-init.d/10-x, /etc/services.d/web/run"; !strings.Contains(im.out.String(), want) {
		t.Errorf("log %q lacks %q", im.out, want)
	}
}

// TestV2Argv: a cont-init.d or cont-finish.d script this process may not
// execute runs through its #! interpreter (one argument, as the kernel
// passes it), or /bin/sh without a #! line; anything else, and an
// executable script, runs as it is.
func TestV2Argv(t *testing.T) {
	im := newImage(t)
	for _, tt := range []struct {
		name, path, body string
		mode             os.FileMode
		want             []string // the file's host path stands for "SELF"
	}{
		{"with-contenv and an argument", "/etc/cont-init.d/10-a", "#!/usr/bin/with-contenv bash\necho\n", 0o644, []string{"/usr/bin/with-contenv", "bash", "SELF"}},
		{"interpreter alone", "/etc/cont-finish.d/10-b", "#! /bin/sh\necho\n", 0o644, []string{"/bin/sh", "SELF"}},
		{"no #! line", "/etc/cont-init.d/20-c", "echo hi\n", 0o600, []string{"/bin/sh", "SELF"}},
		{"executable", "/etc/cont-init.d/30-d", "#!/bin/sh\n", 0o755, nil},
		{"not a v2 script", "/etc/ignity/init/10-e", "#!/bin/sh\n", 0o644, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			host := im.file(t, tt.path, tt.body, tt.mode)
			var want []string
			for _, a := range tt.want {
				if a == "SELF" {
					a = host
				}
				want = append(want, a)
			}
			if got := V2Argv(im.l, host); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("V2Argv = %q, want %q", got, want)
			}
		})
	}
}

// TestScripts: ignity's scripts, then s6-overlay's, each dir in name
// order, dot files left out; the count is the finalize scripts'.
func TestScripts(t *testing.T) {
	im := newImage(t)
	for _, p := range []string{"/etc/ignity/init/20-b", "/etc/ignity/init/10-a", "/etc/cont-init.d/05-c", "/etc/cont-init.d/.hidden",
		"/etc/ignity/finalize/10-f", "/etc/cont-finish.d/10-g", "/etc/cont-finish.d/20-h"} {
		im.file(t, p, "#!/bin/sh\n", 0o755)
	}
	var got []string
	for _, p := range InitScripts(im.l.EtcInit(), im.l) {
		got = append(got, im.l.InImage(p))
	}
	if want := "/etc/ignity/init/10-a /etc/ignity/init/20-b /etc/cont-init.d/05-c"; strings.Join(got, " ") != want {
		t.Errorf("InitScripts = %q, want %q", got, want)
	}
	if n := FinalizeCount(im.l); n != 3 {
		t.Errorf("FinalizeCount = %d, want 3", n)
	}
}

// TestCheckExitcode: an exit code file holding no exit code decides
// nothing, and says so; an empty one is fine.
func TestCheckExitcode(t *testing.T) {
	im := newImage(t)
	st := runstate.New(im.l.Run())
	if err := st.CreateExitcode(); err != nil {
		t.Fatal(err)
	}
	if err := CheckExitcode(st); err != nil {
		t.Errorf("empty: %v", err)
	}
	im.file(t, "/run/ignity/"+runstate.ExitcodeFile, "abc\n", 0o644)
	if err := CheckExitcode(st); err == nil || !strings.HasSuffix(err.Error(), `got "abc": it decides nothing`) {
		t.Errorf("CheckExitcode = %v", err)
	}
}
