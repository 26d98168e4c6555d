package check

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

// TestDefinitions: the s6-overlay layouts and ignity's dependencies, on
// top of the clean tree.
func TestDefinitions(t *testing.T) {
	const rc = "etc/s6-overlay/s6-rc.d/"
	good := func(t *testing.T, root string) {
		write(t, root, "usr/bin/echo", "#!/bin/sh\n", 0o755)
		write(t, root, "etc/s6-overlay/scripts/init-db", "#!/bin/sh\necho db\n", 0o755)
		write(t, root, rc+"init-db/type", "oneshot\n", 0o644)
		write(t, root, rc+"init-db/up", "/etc/s6-overlay/scripts/init-db\n", 0o644)
		write(t, root, rc+"init-db/dependencies.d/base", "", 0o644)
		write(t, root, rc+"init-hi/type", "oneshot\n", 0o644)
		write(t, root, rc+"init-hi/up", "echo hi\n", 0o644)
		write(t, root, rc+"init-hi/down", "# nothing\n", 0o644)
		write(t, root, rc+"db/type", "longrun\n", 0o644)
		write(t, root, rc+"db/run", "#!/bin/sh\nexec sleep 1000\n", 0o755)
		write(t, root, rc+"db/dependencies.d/init-db", "", 0o644)
		write(t, root, rc+"db/timeout-up", "3000\n", 0o644)
		write(t, root, rc+"user/type", "bundle\n", 0o644)
		write(t, root, rc+"user/contents.d/db", "", 0o644)
		write(t, root, rc+"user/contents.d/init-hi", "", 0o644)
		write(t, root, "etc/services.d/legacy/run", "#!/bin/sh\n", 0o755)
		write(t, root, "etc/ignity/services/web/dependencies", "db # the database\n", 0o644)
	}
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{"a clean s6-overlay tree", good, nil},
		{"unknown type", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"db/type", "longrunn\n", 0o644)
		}, []string{
			`/etc/ignity/services/web/dependencies:1: dependency "db": no such service or bundle (in /etc/ignity/services, /etc/s6-overlay/s6-rc.d or /etc/services.d)`,
			`/etc/s6-overlay/s6-rc.d/db/type:1: unknown type "longrunn": want longrun, oneshot or bundle`,
			`/etc/s6-overlay/s6-rc.d/user/contents.d/db: no service or bundle "db": define it in /etc/ignity/services, /etc/s6-overlay/s6-rc.d or /etc/services.d, or remove this entry`,
		}},
		{"bad up lines", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"init-hi/up", "foreground { echo hi\n", 0o644)
			write(t, root, rc+"init-db/up", "/etc/s6-overlay/scripts/missing\n", 0o644)
			write(t, root, rc+"init-hi/down", "nosuchprog \"x\n", 0o644)
		}, []string{
			"/etc/s6-overlay/s6-rc.d/init-db/up:1: program /etc/s6-overlay/scripts/missing not found in the image",
			"/etc/s6-overlay/s6-rc.d/init-hi/down:1: quoted string not closed: a \" opens it and no \" ends it (execline syntax, as execlineb reads it)",
			"/etc/s6-overlay/s6-rc.d/init-hi/up:1: block not closed: a { opens it and no } ends it (execline syntax, as execlineb reads it)",
		}},
		{"program not in PATH", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"init-hi/up", "# say hi\nnosuchprog hi\n", 0o644)
		}, []string{`/etc/s6-overlay/s6-rc.d/init-hi/up:2: program "nosuchprog" not found in the default PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`}},
		{"longrun without run, not started", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"lonely/type", "longrun\n", 0o644)
		}, []string{
			"warning: /etc/s6-overlay/s6-rc.d/lonely: no run program: s6 starts a service by executing its run file (add an executable run) (not started at boot: no bundle starts it)",
			"warning: /etc/s6-overlay/s6-rc.d/lonely: not started: it is in neither the user nor the user2 bundle, nor a dependency of one of their members (add it to /etc/s6-overlay/user-bundles.d/user/contents.d/)",
		}},
		{"finish not executable, not started", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"vpn/type", "longrun\n", 0o644)
			write(t, root, rc+"vpn/run", "#!/bin/sh\nexec sleep 1\n", 0o755)
			write(t, root, rc+"vpn/finish", "#!/bin/sh\n", 0o644)
		}, []string{
			"warning: /etc/s6-overlay/s6-rc.d/vpn: not started: it is in neither the user nor the user2 bundle, nor a dependency of one of their members (add it to /etc/s6-overlay/user-bundles.d/user/contents.d/)",
			"warning: /etc/s6-overlay/s6-rc.d/vpn/finish: not executable: chmod +x it (not started at boot: no bundle starts it)",
		}},
		{"finish not executable, started", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"vpn/type", "longrun\n", 0o644)
			write(t, root, rc+"vpn/run", "#!/bin/sh\nexec sleep 1\n", 0o755)
			write(t, root, rc+"vpn/finish", "#!/bin/sh\n", 0o644)
			write(t, root, rc+"user/contents.d/vpn", "", 0o644)
		}, []string{"/etc/s6-overlay/s6-rc.d/vpn/finish: not executable: chmod +x it"}},
		{"cycle", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, rc+"init-db/dependencies.d/db", "", 0o644)
		}, []string{"/etc/s6-overlay/s6-rc.d/db/dependencies.d: dependency cycle: db -> init-db -> db"}},
		{"missing dependency", func(t *testing.T, root string) {
			good(t, root)
			write(t, root, "etc/ignity/services/web/dependencies", "db\ncache\n", 0o644)
		}, []string{`/etc/ignity/services/web/dependencies:2: dependency "cache": no such service or bundle (in /etc/ignity/services, /etc/s6-overlay/s6-rc.d or /etc/services.d)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cleanTree(t, root)
			tt.setup(t, root)
			got := strs(Run(layout.Layout{Root: root}, nil, true))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Run:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// TestUnusedWithStage2Hook: a stage2 hook runs after /init's check and may
// add a definition to a bundle (linuxserver's docker-mods do): the boot's
// check says nothing of a definition no bundle starts yet, ignity check
// warns that the hook may change it.
func TestUnusedWithStage2Hook(t *testing.T) {
	const rc = "etc/s6-overlay/s6-rc.d/"
	root := t.TempDir()
	cleanTree(t, root)
	write(t, root, rc+"user/type", "bundle\n", 0o644)
	write(t, root, rc+"init-mod/type", "oneshot\n", 0o644)
	write(t, root, rc+"init-mod/up", "# added by the hook\n", 0o644)
	env := []string{"S6_STAGE2_HOOK=/docker-mods"}
	l := layout.Layout{Root: root}
	if got := strs(Run(l, env, false)); len(got) != 0 {
		t.Errorf("boot check with a stage2 hook: %q, want nothing", got)
	}
	want := []string{"warning: /etc/s6-overlay/s6-rc.d/init-mod: not started: it is in neither the user nor the user2 bundle, nor a dependency of one of their members (add it to /etc/s6-overlay/user-bundles.d/user/contents.d/), unless the stage2 hook (IGNITY_STAGE2_HOOK, S6_STAGE2_HOOK) adds it"}
	if got := strs(Run(l, env, true)); !reflect.DeepEqual(got, want) {
		t.Errorf("ignity check with a stage2 hook:\n got  %q\n want %q", got, want)
	}
	if got := strs(Run(l, nil, false)); len(got) != 1 || !strings.HasSuffix(got[0], "contents.d/)") {
		t.Errorf("boot check without a hook: %q, want the warning", got)
	}
}
