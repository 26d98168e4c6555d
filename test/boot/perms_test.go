package boot_test

import (
	"github.com/ignity/ignity/internal/boottest"
	"os"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

func wantOwner(t *testing.T, r *harness.Root, path string, uid, gid int, mode os.FileMode) {
	t.Helper()
	u, g, m := boottest.Owner(t, r, path)
	if u != uid || g != gid || m != mode {
		t.Errorf("%s: %d:%d %v, want %d:%d %v", path, u, g, m, uid, gid, mode)
	}
}

func TestPerms(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   []string
		perms map[string]string
		check func(t *testing.T, r *harness.Root)
	}{
		{
			name:  "static",
			perms: map[string]string{"10-data": "/srv/data 1000:1000 0600 0700\n"},
			check: func(t *testing.T, r *harness.Root) {
				wantOwner(t, r, "/srv/data", 1000, 1000, 0o700)
				wantOwner(t, r, "/srv/data/sub", 1000, 1000, 0o700)
				wantOwner(t, r, "/srv/data/sub/file", 1000, 1000, 0o600)
			},
		},
		{
			name:  "dynamic",
			env:   []string{"USERMAP_UID=1234", "USERMAP_GID=2345", "USER=app"},
			perms: map[string]string{"10-data": "/srv/data {{USERMAP_UID}}:{{USERMAP_GID}} 0640 0750\n"},
			check: func(t *testing.T, r *harness.Root) {
				wantOwner(t, r, "/srv/data/sub/file", 1234, 2345, 0o640)
				wantOwner(t, r, "/srv/data/sub", 1234, 2345, 0o750)
				if uid, gid, _ := boottest.Owner(t, r, "/run/ignity"); uid != 1234 || gid != 2345 {
					t.Errorf("/run/ignity owned by %d:%d, want 1234:2345", uid, gid)
				}
			},
		},
		{
			name: "multiple files, s6-overlay form, comments",
			perms: map[string]string{
				"10-a": "# the data\n/srv/data 1000:1000 0600 0700\n\n",
				"20-b": "/srv/data/sub/file false 0:0 0644 0755\n/srv/other true nobody,4321:4321 0444 0555\n",
			},
			check: func(t *testing.T, r *harness.Root) {
				wantOwner(t, r, "/srv/data/sub", 1000, 1000, 0o700)
				wantOwner(t, r, "/srv/data/sub/file", 0, 0, 0o644)
				uid, gid, _ := boottest.Owner(t, r, "/srv/other")
				if uid == 0 || gid == 0 {
					t.Errorf("/srv/other owned by %d:%d, want nobody's ids", uid, gid)
				}
			},
		},
		{
			name:  "usermap from an env file",
			perms: map[string]string{"10-data": "/srv/data {{USERMAP_UID}}:{{USERMAP_GID}} 0600 0700\n"},
			check: func(t *testing.T, r *harness.Root) {
				wantOwner(t, r, "/srv/data", 3000, 3001, 0o700)
			},
		},
		{
			name:  "skipped",
			env:   []string{"IGNITY_SKIP_PERMS=1"},
			perms: map[string]string{"10-data": "/srv/data 1000:1000 0600 0700\n"},
			check: func(t *testing.T, r *harness.Root) {
				wantOwner(t, r, "/srv/data/sub/file", 0, 0, 0o644)
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/srv/data/sub/file", "x")
				boottest.File(t, r, "/srv/other/f", "x")
				for name, body := range tt.perms {
					boottest.File(t, r, "/etc/ignity/perms/"+name, body)
				}
				if tt.name == "usermap from an env file" {
					boottest.File(t, r, "/etc/ignity/envs/10-ids", "USERMAP_UID=3000\nUSERMAP_GID=3001\nUSER=fromfile\n")
				}
				res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env(tt.env...)}, "/init", "true")
				boottest.WantExit(t, res, 0)
				tt.check(t, r)
			})
		})
	}
}

func TestPermsCreatesUser(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("USERMAP_UID=1500", "USERMAP_GID=1500", "USER=exploit")},
			"/init", "sh", "-c", "grep '^exploit:' /etc/passwd /etc/group; s6-setuidgid exploit id -u")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "exploit:x:1500:1500:", "1500\n")
	})
}

func TestPermsErrors(t *testing.T) {
	for _, tt := range []struct{ name, line, want string }{
		{"bad mode", "/srv/data 1000:1000 07x5 0700", `/etc/ignity/perms/10-bad:2: `},
		{"unknown user", "/srv/data ghost 0600 0700", `/etc/ignity/perms/10-bad:2: `},
		{"unparseable", "/srv/data", `/etc/ignity/perms/10-bad:2: `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/srv/data/f", "x")
				boottest.File(t, r, "/etc/ignity/perms/10-bad", "# fine\n"+tt.line+"\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "touch", "/tmp/cmd-ran")
				boottest.WantExit(t, res, 100)
				boottest.WantOutput(t, res, tt.want)
				if boottest.Exists(r, "/tmp/cmd-ran") {
					t.Error("the CMD ran after a perms error")
				}
			})
		})
	}
}

// An app that owns its home replaces ~/.local with a symlink to a
// directory root owns: at the next boot, the rule for ~/.local/bin is
// refused with a warning naming the rule and the link, the directory the
// link points to keeps its owner and mode, and the boot follows the perms
// failure policy (stop with 100 by default; go on when
// IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=0, or for /etc/fix-attrs.d under
// s6-overlay's defaults).
func TestPermsUnsafeSymlink(t *testing.T) {
	for _, tt := range []struct {
		name, file, line string
		env              []string
		exit             int
	}{
		{"ignity perms, stop", "/etc/ignity/perms/10-home", "/home/app/.local/bin 1000:1000 0644 0755", nil, 100},
		{"ignity perms, continue", "/etc/ignity/perms/10-home", "/home/app/.local/bin 1000:1000 0644 0755", []string{"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=0"}, 0},
		{"fix-attrs.d", "/etc/fix-attrs.d/10-home", "/home/app/.local/bin true 1000:1000 0644 0755", nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/sentinel/bin/tool", "x")
				boottest.File(t, r, "/home/app/notes", "x")
				for _, p := range []string{"/home/app", "/home/app/notes"} {
					if err := os.Lchown(r.Path(p), 1000, 1000); err != nil {
						t.Fatal(err)
					}
				}
				link := r.Path("/home/app/.local")
				if err := os.Symlink("/sentinel", link); err != nil {
					t.Fatal(err)
				}
				if err := os.Lchown(link, 1000, 1000); err != nil {
					t.Fatal(err)
				}
				boottest.File(t, r, tt.file, "# the app's tools\n"+tt.line+"\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env(tt.env...)}, "/init", "touch", "/tmp/cmd-ran")
				boottest.WantExit(t, res, tt.exit)
				boottest.WantOutput(t, res, tt.file+":2: /home/app/.local/bin: refused: /home/app/.local is a symlink (to /sentinel) owned by uid 1000")
				wantOwner(t, r, "/sentinel", 0, 0, 0o755)
				wantOwner(t, r, "/sentinel/bin", 0, 0, 0o755)
				wantOwner(t, r, "/sentinel/bin/tool", 0, 0, 0o644)
				if ran := boottest.Exists(r, "/tmp/cmd-ran"); ran != (tt.exit == 0) {
					t.Errorf("the CMD ran: %v, want %v", ran, tt.exit == 0)
				}
			})
		})
	}
}
