package check

import (
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

// withStack runs the test with RLIMIT_STACK read as stack bytes.
func withStack(t *testing.T, stack uint64) {
	old := stackLimit
	stackLimit = func() uint64 { return stack }
	t.Cleanup(func() { stackLimit = old })
}

func TestExecLimit(t *testing.T) {
	tests := []struct {
		stack uint64
		want  int
		why   string
	}{
		{8 << 20, 2 << 20, "a quarter of the stack limit, ulimit -s 8192"},
		{1 << 20, 256 << 10, "a quarter of the stack limit, ulimit -s 1024"},
		{^uint64(0), 6 << 20, "Linux's cap of 6 MiB"}, // unlimited
		{64 << 20, 6 << 20, "Linux's cap of 6 MiB"},
		{256 << 10, 128 << 10, "Linux's floor of 128 KiB"},
	}
	for _, tt := range tests {
		got, why := execLimit(tt.stack)
		if got != tt.want || why != tt.why {
			t.Errorf("execLimit(%d) = %d, %q; want %d, %q", tt.stack, got, why, tt.want, tt.why)
		}
	}
}

// TestEnvTooBigForExec: env files whose values each fit exec's limit of
// one string but not together are an Error naming the biggest
// variables and where they are set; one byte less passes.
func TestEnvTooBigForExec(t *testing.T) {
	withStack(t, 1<<20) // room: 256 KiB
	root := t.TempDir()
	cleanTree(t, root)
	write(t, root, "etc/ignity/envs/20-big", "SMALL=1\nBIG_A="+strings.Repeat("a", 100000)+"\n", 0o644)
	write(t, root, "etc/ignity/envs/30-more", "BIG_B=\""+strings.Repeat("b", 90000)+"\"\n", 0o644)
	l := layout.Layout{Root: root}
	base := []string{"PATH=/usr/bin:/bin", "BIG_C=" + strings.Repeat("c", 50000)}

	// Exactly what fits: the container's filler takes the rest of the room.
	env := append(layout.ChildEnv(base), "APP_PORT=8080", "IGNITY_KILL_GRACETIME=1000", "SMALL=1",
		"BIG_A="+strings.Repeat("a", 100000), "BIG_B="+strings.Repeat("b", 90000))
	rest := 256<<10 - argvRoom - execSize(env) - len("FILL=") - 1 - 8
	fits := append(base, "FILL="+strings.Repeat("f", rest))
	if got := Run(l, fits, true); len(got) != 0 {
		t.Fatalf("an environment that fits exactly: %q", strs(got))
	}
	over := append(base, "FILL="+strings.Repeat("f", rest+1))
	got := strs(Run(l, over, true))
	want := "environment: the merged environment takes 258049 bytes (each NAME=value, its NUL and its pointer), over the 258048 that exec can give it (a quarter of the stack limit, ulimit -s 1024, less 4096 for the arguments): no program could start; the biggest variables: BIG_A (/etc/ignity/envs/20-big:2, 100007 bytes), BIG_B (/etc/ignity/envs/30-more:1, 90007 bytes), BIG_C (the container's environment, 50007 bytes)"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("Run:\n got  %q\n want %q...", got, want)
	}
}

// TestMultilineKnobNamed: a knob holding a newline is an Error at the
// line that sets it, or in the environment, named as the user set it.
func TestMultilineKnobNamed(t *testing.T) {
	root := t.TempDir()
	cleanTree(t, root)
	write(t, root, "etc/ignity/envs/20-hook", "A=1\nS6_STAGE2_HOOK=\"echo one\\necho SECRET\"\n", 0o644)
	l := layout.Layout{Root: root}
	got := strs(Run(l, nil, true))
	want := []string{"/etc/ignity/envs/20-hook:2: bad value of S6_STAGE2_HOOK: holds a newline: a knob takes one line"}
	if len(got) != 1 || !strings.HasPrefix(got[0], want[0]) || strings.Contains(got[0], "SECRET") {
		t.Errorf("Run:\n got  %q\n want %q...", got, want)
	}
	remove(t, root, "etc/ignity/envs/20-hook")
	got = strs(Run(l, []string{"S6_STAGE2_HOOK=echo one\necho SECRET"}, true))
	want = []string{"environment: S6_STAGE2_HOOK: holds a newline: a knob takes one line"}
	if len(got) != 1 || !strings.HasPrefix(got[0], want[0]) || strings.Contains(got[0], "SECRET") {
		t.Errorf("Run:\n got  %q\n want %q...", got, want)
	}
}

// TestServiceNameTooLong: a service dir whose name s6-svscan would skip
// is an Error naming it.
func TestServiceNameTooLong(t *testing.T) {
	root := t.TempDir()
	cleanTree(t, root)
	name := strings.Repeat("s", 254)
	write(t, root, "etc/ignity/services/"+name+"/run", "#!/bin/sh\n", 0o755)
	got := strs(Run(layout.Layout{Root: root}, nil, true))
	want := "/etc/ignity/services/" + name + ": a service name of 254 bytes is too long: s6-svscan skips names over 251 bytes"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("Run:\n got  %q\n want %q...", got, want)
	}
}
