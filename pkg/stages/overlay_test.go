package stages

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ignity/ignity/pkg/container"
)

// TestStage1Overlay: with s6-overlay's layout, stage1 makes its runtime
// paths (pkg/overlay tests them all) and records the layout's two
// defaults and the S6_* aliases under the IGNITY_* names.
func TestStage1Overlay(t *testing.T) {
	w := newWorld(t)
	t.Setenv("STAGES_TEST_AS", "stage2")
	t.Setenv("IGNITY_SERVICES_GRACETIME", "")
	t.Setenv("S6_KILL_GRACETIME", "1234")
	w.file(t, "/etc/cont-init.d/10-x", "#!/bin/sh\n", 0o755)

	if code := Stage1(w.sys, nil); code != container.ExitSystem {
		t.Fatalf("Stage1 = %d, want %d after the stubbed exec\n%s", code, container.ExitSystem, w.stderr)
	}
	if got, err := os.Readlink(w.host("/run/s6")); err != nil || got != "/run/ignity/s6" {
		t.Errorf("/run/s6 -> %q, %v", got, err)
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
