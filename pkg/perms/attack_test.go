package perms

// The perms tests an attacker would write: a uid that owns part of a tree
// a rule fixes plants symlinks before the walk, or swaps them in during
// it, so that root's chown and chmod land elsewhere. They need real uids.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const attacker = 1000

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the attacks need another uid to own part of the tree (lchown to uid 1000, CAP_CHOWN): run the tests as root")
	}
}

func lchown(t *testing.T, root, rel string, uid int) {
	t.Helper()
	if err := os.Lchown(filepath.Join(root, rel), uid, uid); err != nil {
		t.Fatal(err)
	}
}

// sentinel makes /sentinel, root's, with a bin/ and files named as the
// attacked tree's, and returns a check that none of it changed.
func sentinel(t *testing.T, root string) func() {
	t.Helper()
	mkdir(t, root, "sentinel", 0o755)
	mkdir(t, root, "sentinel/bin", 0o755)
	for _, n := range []string{"sentinel/bin/tool", "sentinel/f1", "sentinel/f2", "sentinel/f3"} {
		writeFile(t, root, n, "x", 0o640)
	}
	rels := []string{"sentinel", "sentinel/bin", "sentinel/bin/tool", "sentinel/f1", "sentinel/f2", "sentinel/f3"}
	before := map[string]unix.Stat_t{}
	for _, r := range rels {
		before[r] = lstat(t, filepath.Join(root, r))
	}
	return func() {
		t.Helper()
		for _, r := range rels {
			b, a := before[r], lstat(t, filepath.Join(root, r))
			if a.Uid != b.Uid || a.Gid != b.Gid || a.Mode != b.Mode {
				t.Errorf("/%s changed: %d:%d %o -> %d:%d %o", r, b.Uid, b.Gid, b.Mode, a.Uid, a.Gid, a.Mode)
			}
		}
	}
}

// (a) A symlink in a rule's path that another uid could have made or
// replaced: the rule is refused, with a warning naming its file:line and
// the link, and counted as a failure; the link's target is untouched.
func TestRefuseUnsafeSymlinkInRulePath(t *testing.T) {
	needRoot(t)
	const file = "/etc/ignity/perms/10-home"
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, root string) // makes /home/app/.local a symlink to /sentinel
		why   string
	}{
		{"the app's own link in its home", func(t *testing.T, root string) {
			mkdir(t, root, "home/app", 0o755)
			lchown(t, root, "home/app", attacker)
			symlink(t, "/sentinel", root, "home/app/.local")
			lchown(t, root, "home/app/.local", attacker)
		}, "owned by uid 1000"},
		{"root's link in the app's home", func(t *testing.T, root string) {
			mkdir(t, root, "home/app", 0o755)
			lchown(t, root, "home/app", attacker)
			symlink(t, "../../sentinel", root, "home/app/.local")
		}, "in a directory owned by uid 1000"},
		{"root's link in a directory others may write", func(t *testing.T, root string) {
			mkdir(t, root, "home/app", os.ModeSticky|0o777)
			symlink(t, "/sentinel", root, "home/app/.local")
		}, "in a directory of mode 1777"},
		{"root's link in a group-writable directory", func(t *testing.T, root string) {
			mkdir(t, root, "home/app", 0o775)
			symlink(t, "/sentinel", root, "home/app/.local")
		}, "in a directory of mode 0775"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mkdir(t, root, "home", 0o755)
			untouched := sentinel(t, root)
			tt.setup(t, root)
			rules, err := Parse(file, strings.NewReader("# the app's tools\n/home/app/.local/bin 1000:1000 0644 0755\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			f := &Fixer{Root: root, Warn: func(w string) { warnings = append(warnings, w) }}
			err = f.Run(rules)
			var fails *Failures
			if !errors.As(err, &fails) || fails.Count != 1 {
				t.Fatalf("Run = %v; want one failure, the refused rule", err)
			}
			want := file + ":2: /home/app/.local/bin: refused: /home/app/.local is a symlink (to "
			if len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) || !strings.Contains(warnings[0], tt.why) {
				t.Errorf("warnings = %q; want one starting %q, saying %q", warnings, want, tt.why)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the rule and the link", err)
			}
			untouched()
		})
	}
}

// (b) A symlink root owns, in a directory only root may write, is part of
// the image (/var/run -> /run, usrmerge's /lib -> usr/lib): followed.
func TestFollowSafeSymlinkInRulePath(t *testing.T) {
	needRoot(t)
	for _, tt := range []struct{ name, link, target string }{
		{"absolute", "srv/data", "/data"},
		{"relative, climbing", "var/run", "../data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mkdir(t, root, "data/app", 0o755)
			writeFile(t, root, "data/app/f", "x", 0o644)
			mkdir(t, root, filepath.Dir(tt.link), 0o755)
			symlink(t, tt.target, root, tt.link)
			rule := "/" + tt.link + "/app 1000:1000 0600 0700\n"
			rules, err := Parse("/etc/ignity/perms/10-data", strings.NewReader(rule), nil)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			f := &Fixer{Root: root, Warn: func(w string) { warnings = append(warnings, w) }}
			if err := f.Run(rules); err != nil || len(warnings) > 0 {
				t.Fatalf("Run = %v, warnings %q; want the link followed", err, warnings)
			}
			for rel, mode := range map[string]uint32{"data/app": 0o700, "data/app/f": 0o600} {
				if st := lstat(t, filepath.Join(root, rel)); st.Uid != attacker || st.Mode&0o7777 != mode {
					t.Errorf("/%s: uid %d mode %04o, want %d %04o", rel, st.Uid, st.Mode&0o7777, attacker, mode)
				}
			}
			if st := lstat(t, filepath.Join(root, tt.link)); st.Uid != 0 {
				t.Errorf("the link itself was re-owned: uid %d", st.Uid)
			}
		})
	}
}

// (c) Below a rule's path nothing is followed, even a link root owns: the
// link is re-owned, what it points to keeps its owner and mode.
func TestSymlinkBelowRuleNotFollowed(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	untouched := sentinel(t, root)
	mkdir(t, root, "srv/tree", 0o755)
	writeFile(t, root, "srv/tree/own", "x", 0o644)
	symlink(t, "/sentinel", root, "srv/tree/dirlink")
	symlink(t, "../../sentinel/f1", root, "srv/tree/filelink")
	rules := []Rule{{Path: "/srv/tree", Recurse: true, File: "f", Line: 1,
		Account: Account{UID: attacker, HasUID: true, GID: attacker, HasGID: true}, FileMode: 0o666, DirMode: 0o777}}
	if err := (&Fixer{Root: root}).Run(rules); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"srv/tree", "srv/tree/own", "srv/tree/dirlink", "srv/tree/filelink"} {
		if st := lstat(t, filepath.Join(root, rel)); st.Uid != attacker {
			t.Errorf("/%s: uid %d, want %d", rel, st.Uid, attacker)
		}
	}
	untouched()
}

// (d) The attacker swaps a directory for a symlink to /sentinel while the
// walk runs, at each moment of the walk the seam between reading a
// directory and looking at, then entering, an entry allows: before the
// entry is looked at, after it was seen to be a directory, and while its
// own entries are being fixed. Nothing of /sentinel changes; the moved
// directory is still fixed where it went when the walk already held it.
func TestSwapDuringWalk(t *testing.T) {
	needRoot(t)
	for _, tt := range []struct {
		name    string
		at      string // the entry at which the swap happens
		dir     bool   // after it was seen to be a directory
		movedOK bool   // the moved directory's entries are fixed
	}{
		{"before the entry is looked at", "/data/a/sub", false, false},
		{"between seeing a directory and entering it", "/data/a/sub", true, false},
		{"while the directory is walked", "/data/a/sub/f1", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			untouched := sentinel(t, root)
			mkdir(t, root, "data/a/sub", 0o755)
			for _, n := range []string{"f1", "f2", "f3"} {
				writeFile(t, root, "data/a/sub/"+n, "x", 0o644)
			}
			lchown(t, root, "data/a", attacker)
			swapped := false
			f := &Fixer{Root: root, between: func(p string, dir bool) {
				if p != tt.at || dir != tt.dir || swapped {
					return
				}
				swapped = true
				sub := filepath.Join(root, "data/a/sub")
				if err := os.Rename(sub, sub+".moved"); err != nil {
					t.Error(err)
				}
				if err := os.Symlink("../../sentinel", sub); err != nil {
					t.Error(err)
				}
			}}
			rules := []Rule{{Path: "/data", Recurse: true, File: "f", Line: 1,
				Account: Account{UID: attacker, HasUID: true, GID: attacker, HasGID: true}, FileMode: 0o666, DirMode: 0o777}}
			if err := f.Run(rules); err != nil {
				t.Fatal(err)
			}
			if !swapped {
				t.Fatalf("the walk never reached %s", tt.at)
			}
			untouched()
			if tt.movedOK {
				for _, n := range []string{"f1", "f2", "f3"} {
					if st := lstat(t, filepath.Join(root, "data/a/sub.moved", n)); st.Uid != attacker || st.Mode&0o777 != 0o666 {
						t.Errorf("/data/a/sub.moved/%s: uid %d mode %04o, want %d 0666", n, st.Uid, st.Mode&0o7777, attacker)
					}
				}
			}
		})
	}
}

// A rule's path resolves as inside chroot(root): ".." and absolute targets
// stay in root, loops and files in the middle end in a warning.
func TestRulePathResolvesInsideRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeFile(t, outside, "victim", "x", 0o600)
	mkdir(t, root, "usr/lib", 0o755)
	writeFile(t, root, "usr/lib/f", "", 0o644)
	symlink(t, "../../../../../../usr", root, "up")
	symlink(t, outside, root, "escape")
	symlink(t, "loop2", root, "loop1")
	symlink(t, "loop1", root, "loop2")
	for _, tt := range []struct{ path, warning string }{
		{"/up/lib/f", ""},
		{"/escape/victim", "/escape/victim: no such file or directory, skipped"},
		{"/loop1/x", "/loop1/x: too many levels of symbolic links, skipped"},
		{"/usr/lib/f/x", "/usr/lib/f/x: not a directory, skipped"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			rules := []Rule{{Path: tt.path, File: "f", Line: 1, Account: Account{UID: os.Getuid(), HasUID: true, GID: os.Getgid(), HasGID: true}, FileMode: 0o640, DirMode: 0o750}}
			changes, warnings, err := Plan(root, rules, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.warning == "" {
				if len(warnings) > 0 || len(changes) != 1 || changes[0].String() != "chmod 0640 /usr/lib/f" {
					t.Errorf("changes %q, warnings %q; want chmod 0640 /usr/lib/f", strs(changes), warnings)
				}
				return
			}
			if len(changes) > 0 || len(warnings) != 1 || warnings[0] != "f:1: "+tt.warning {
				t.Errorf("changes %q, warnings %q; want none and %q", strs(changes), warnings, "f:1: "+tt.warning)
			}
		})
	}
}
