package stages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ignity/ignity/pkg/container"
)

// TestStage1Overlay: with s6-overlay's layout, stage1 makes its runtime
// paths (inside /run/ignity, and the symlinks outside it), records the
// layout's two defaults and the S6_* aliases under the IGNITY_* names.
func TestStage1Overlay(t *testing.T) {
	w := newWorld(t)
	t.Setenv("STAGES_TEST_AS", "stage2")
	t.Setenv("IGNITY_SERVICES_GRACETIME", "")
	t.Setenv("S6_KILL_GRACETIME", "1234")
	w.file(t, "/etc/cont-init.d/10-x", "#!/bin/sh\n", 0o755)

	if code := Stage1(w.sys, nil); code != container.ExitSystem {
		t.Fatalf("Stage1 = %d, want %d after the stubbed exec\n%s", code, container.ExitSystem, w.stderr)
	}
	for link, want := range map[string]string{
		"/run/ignity/s6/container_environment": "../envs",
		"/run/ignity/s6/services":              "../services-state",
		"/run/ignity/s6/basedir/bin/halt":      w.sys.Exe,
		"/run/s6":                              "/run/ignity/s6",
		"/run/s6-linux-init-container-results": "/run/ignity/s6-linux-init-container-results",
		"/run/service":                         "/run/ignity/services-state",
		"/var/run":                             "../run", // none in this root: Debian's symlink
	} {
		if got, err := os.Readlink(w.host(link)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", link, got, err, want)
		}
	}
	// /var/run/s6 is /run/s6 through Debian's symlink, not one of its own.
	if got, err := os.Readlink(w.host("/var/run/s6")); err != nil || got != "/run/ignity/s6" {
		t.Errorf("/var/run/s6 -> %q, %v", got, err)
	}
	if fi, err := os.Stat(w.host("/run/ignity/s6-linux-init-container-results/exitcode")); err != nil || fi.Size() != 0 {
		t.Errorf("exit code file: %v, %v; want it empty", fi, err)
	}
	b, err := w.State().ReadBoot()
	if err != nil {
		t.Fatal(err)
	}
	knobs := strings.Join(b.Knobs, " ")
	for _, k := range []string{"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=0", "IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=0", "IGNITY_KILL_GRACETIME=1234"} {
		if !strings.Contains(knobs, k) {
			t.Errorf("boot record %q lacks %s", knobs, k)
		}
	}
	if strings.Contains(knobs, "S6_") {
		t.Errorf("boot record %q holds an S6_ name", knobs)
	}
	var ws unix.WaitStatus
	unix.Wait4(b.Stage2, &ws, 0, nil)
}

// A path that exists and is not ignity's symlink is left alone, with a
// warning naming it.
func TestStage1OverlayPathTaken(t *testing.T) {
	w := newWorld(t)
	t.Setenv("STAGES_TEST_AS", "stage2")
	w.file(t, "/run/s6/leftover", "x", 0o644)
	Stage1(w.sys, nil)
	w.wantLog(t, "/run/s6 exists and is not ignity's symlink to /run/ignity/s6")
	if _, err := os.Stat(filepath.Join(w.host("/run/s6"), "leftover")); err != nil {
		t.Errorf("/run/s6 was replaced: %v", err)
	}
	if b, err := w.State().ReadBoot(); err == nil {
		var ws unix.WaitStatus
		unix.Wait4(b.Stage2, &ws, 0, nil)
	}
}
