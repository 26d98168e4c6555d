package perms

import (
	"errors"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/imagepath"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ---- fixtures ----

const (
	fakePasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:2:2:daemon:/sbin:/sbin/nologin\n" +
		"mysql:x:999:998::/var/lib/mysql:/bin/false\n"
	fakeGroup = "root:x:0:\n" +
		"daemon:x:2:\n" +
		"mysql:x:998:\n" +
		"staff:x:50:alice,bob\n"
)

var usermap = map[string]string{"USERMAP_UID": "1000", "USERMAP_GID": "1001"}

func writeFile(t *testing.T, root, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, root, rel string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, root, rel string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, root, "etc/passwd", fakePasswd, 0o644)
	writeFile(t, root, "etc/group", fakeGroup, 0o644)
	return root
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func strs[T interface{ String() string }](xs []T) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, x.String())
	}
	return out
}

func errStrs(es []*fileerr.Error) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// lineErrors flattens a joined error into its parts, failing on anything
// that is not a *fileerr.Error.
func lineErrors(t *testing.T, err error) []*fileerr.Error {
	t.Helper()
	var out []*fileerr.Error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		le, ok := err.(*fileerr.Error)
		if !ok {
			t.Fatalf("error %q (%T) is not a *fileerr.Error", err, err)
		}
		out = append(out, le)
	}
	walk(err)
	return out
}

// ---- parsing ----

func TestParse(t *testing.T) {
	const file = "/etc/ignity/perms/10-web"
	tests := []struct {
		name  string
		input string
		want  []Rule
	}{
		{
			name:  "ignity form numeric",
			input: "/var/lib/mysql 1000:1000 0600 0700\n",
			want: []Rule{{Path: "/var/lib/mysql", Recurse: true,
				Account:  Account{UID: 1000, HasUID: true, GID: 1000, HasGID: true},
				FileMode: 0o600, DirMode: 0o700, File: file, Line: 1}},
		},
		{
			name:  "s6-overlay form recursive",
			input: "/var/lib/mysql true mysql 0600 0700",
			want: []Rule{{Path: "/var/lib/mysql", Recurse: true,
				Account:  Account{User: "mysql"},
				FileMode: 0o600, DirMode: 0o700, File: file, Line: 1}},
		},
		{
			name:  "s6-overlay form not recursive, fallback, setgid dir mode",
			input: "/var/log/mysql-error-logs false nobody,32768:32768 0644 2700\n",
			want: []Rule{{Path: "/var/log/mysql-error-logs", Recurse: false,
				Account:  Account{User: "nobody", FallbackUID: 32768, FallbackGID: 32768, HasFallback: true},
				FileMode: 0o644, DirMode: os.ModeSetgid | 0o700, File: file, Line: 1}},
		},
		{
			name:  "three-digit modes and special bits",
			input: "/srv 0:0 644 755\n/bin/ping 0:0 4755 1777\n",
			want: []Rule{
				{Path: "/srv", Recurse: true, Account: Account{HasUID: true, HasGID: true},
					FileMode: 0o644, DirMode: 0o755, File: file, Line: 1},
				{Path: "/bin/ping", Recurse: true, Account: Account{HasUID: true, HasGID: true},
					FileMode: os.ModeSetuid | 0o755, DirMode: os.ModeSticky | 0o777, File: file, Line: 2},
			},
		},
		{
			name:  "mixed name and number",
			input: "/a daemon:50 0644 0755\n/b 2:staff 0644 0755\n",
			want: []Rule{
				{Path: "/a", Recurse: true, Account: Account{User: "daemon", GID: 50, HasGID: true},
					FileMode: 0o644, DirMode: 0o755, File: file, Line: 1},
				{Path: "/b", Recurse: true, Account: Account{UID: 2, HasUID: true, Group: "staff"},
					FileMode: 0o644, DirMode: 0o755, File: file, Line: 2},
			},
		},
		{
			name: "comments, blank lines, indentation, CRLF",
			input: "# fix the web root\n\n   \n\t/srv/www   www-data:www-data\t0640 0750\r\n" +
				"  # indented comment\n/srv/x 1:1 0600 0700",
			want: []Rule{
				{Path: "/srv/www", Recurse: true, Account: Account{User: "www-data", Group: "www-data"},
					FileMode: 0o640, DirMode: 0o750, File: file, Line: 4},
				{Path: "/srv/x", Recurse: true, Account: Account{UID: 1, HasUID: true, GID: 1, HasGID: true},
					FileMode: 0o600, DirMode: 0o700, File: file, Line: 6},
			},
		},
		{
			name:  "usermap variables",
			input: "/home/exploit {{USERMAP_UID}}:{{USERMAP_GID}} 0644 0755\n/x true u{{USERMAP_UID}}x,{{USERMAP_UID}}:{{USERMAP_GID}} 0644 0755\n",
			want: []Rule{
				{Path: "/home/exploit", Recurse: true, Account: Account{UID: 1000, HasUID: true, GID: 1001, HasGID: true},
					FileMode: 0o644, DirMode: 0o755, File: file, Line: 1},
				{Path: "/x", Recurse: true, Account: Account{User: "u1000x", FallbackUID: 1000, FallbackGID: 1001, HasFallback: true},
					FileMode: 0o644, DirMode: 0o755, File: file, Line: 2},
			},
		},
		{
			name:  "path is cleaned",
			input: "/srv//app/./x/../data/ 1:1 0600 0700\n",
			want: []Rule{{Path: "/srv/app/data", Recurse: true,
				Account:  Account{UID: 1, HasUID: true, GID: 1, HasGID: true},
				FileMode: 0o600, DirMode: 0o700, File: file, Line: 1}},
		},
		{
			name:  "empty file",
			input: "",
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(file, strings.NewReader(tt.input), usermap)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const file = "/etc/ignity/perms/10-web"
	input := strings.Join([]string{
		"/ok 1:1 0644 0755",                  // 1
		"/too few 0644",                      // 2: 3 fields
		"/srv/x 1000:1000 07x5 0755",         // 3
		"/a b c d e f",                       // 4: 6 fields
		"relative 1:1 0644 0755",             // 5
		"/x maybe 1:1 0644 0755",             // 6
		"/x :1000 0644 0755",                 // 7
		"/x daemon: 0644 0755",               // 8
		"/x a:b:c 0644 0755",                 // 9
		"/x a,b:c 0644 0755",                 // 10
		"/x a,5 0644 0755",                   // 11
		"/x a,1:2,3:4 0644 0755",             // 12
		"/x 4294967295:0 0644 0755",          // 13
		"/x 1:1 12345 0755",                  // 14
		"/x 1:1 64 0755",                     // 15
		"/x 1:1 0644 0800",                   // 16
		"/x {{NOPE}}:1 0644 0755",            // 17
		"/x {{USERMAP_UID:1 0644 0755",       // 18
		"/x {{SPACY}}:1 0644 0755",           // 19
		"# a comment is fine",                // 20
		"/x true 1:1 0644 +755",              // 21
		"/x 99999999999999999999:1 644 0755", // 22
	}, "\n")
	vars := map[string]string{"USERMAP_UID": "1000", "SPACY": "1 2"}
	rules, err := Parse(file, strings.NewReader(input), vars)
	if rules != nil {
		t.Errorf("Parse returned rules %v with errors", rules)
	}
	if err == nil {
		t.Fatal("Parse: no error")
	}
	want := []string{
		file + `:2: want "path account fmode dmode" or "path recurse account fmode dmode", got 3 fields`,
		file + `:3: bad file mode "07x5" (want octal like 0644)`,
		file + `:4: want "path account fmode dmode" or "path recurse account fmode dmode", got 6 fields`,
		file + `:5: bad path "relative" (want an absolute path)`,
		file + `:6: bad recurse "maybe" (want true or false)`,
		file + `:7: bad account ":1000": empty user (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:8: bad account "daemon:": empty group (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:9: bad account "a:b:c": more than one ":" (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:10: bad account "a,b:c": fallback "b:c" is not numeric uid:gid (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:11: bad account "a,5": fallback "5" is not uid:gid (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:12: bad account "a,1:2,3:4": fallback "1:2,3:4" is not uid:gid (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:13: bad account "4294967295:0": uid 4294967295 out of range (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
		file + `:14: bad file mode "12345" (want octal like 0644)`,
		file + `:15: bad file mode "64" (want octal like 0644)`,
		file + `:16: bad dir mode "0800" (want octal like 0755)`,
		file + `:17: unknown variable "NOPE" in "{{NOPE}}:1"`,
		file + `:18: unterminated "{{" in "{{USERMAP_UID:1"`,
		file + `:19: variable "SPACY" expands to "1 2", which holds whitespace`,
		file + `:21: bad dir mode "+755" (want octal like 0755)`,
		file + `:22: bad account "99999999999999999999:1": uid 99999999999999999999 out of range (want uid:gid, user, user:group, each optionally followed by ,uid:gid)`,
	}
	les := lineErrors(t, err)
	if got := errStrs(les); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	for _, le := range les {
		if le.File != file {
			t.Errorf("fileerr.Error.File = %q, want %q", le.File, file)
		}
	}
}

func TestParseUnknownVariableWithoutVars(t *testing.T) {
	_, err := Parse("f", strings.NewReader("/x {{USERMAP_UID}}:{{USERMAP_GID}} 0644 0755\n"), nil)
	if err == nil || !strings.Contains(err.Error(), `f:1: unknown variable "USERMAP_UID"`) {
		t.Fatalf("err = %v, want unknown variable USERMAP_UID at f:1", err)
	}
}

func TestRuleStringRoundTrip(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{name: "ignity", line: "/srv 1000:1000 644 2700", want: "/srv 1000:1000 0644 2700"},
		{name: "s6 true becomes ignity form", line: "/srv true daemon:staff,3:4 0644 0755", want: "/srv daemon:staff,3:4 0644 0755"},
		{name: "s6 false", line: "/srv false daemon 4755 1777", want: "/srv false daemon 4755 1777"},
		{name: "leading zeros in ids", line: "/srv 007:0050 0644 0755", want: "/srv 7:50 0644 0755"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := Parse("f", strings.NewReader(tt.line), nil)
			if err != nil || len(rules) != 1 {
				t.Fatalf("Parse = %v, %v", rules, err)
			}
			if got := rules[0].String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "perms")
	writeFile(t, dir, "20-second", "/b 1:1 0644 0755\n", 0o644)
	writeFile(t, dir, "10-first", "# first\n/a 1:1 0644 0755\n", 0o644)
	writeFile(t, dir, ".10-first.swp", "garbage\n", 0o644)
	mkdir(t, dir, "30-subdir", 0o755)
	writeFile(t, dir, "30-subdir/x", "garbage\n", 0o644)
	symlink(t, "20-second", dir, "40-link")

	rules, err := LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, filepath.Base(r.File)+":"+r.Path)
	}
	want := []string{"10-first:/a", "20-second:/b", "40-link:/b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadDir rules = %q, want %q", got, want)
	}

	t.Run("missing dir", func(t *testing.T) {
		rules, err := LoadDir(filepath.Join(dir, "nope"), nil)
		if rules != nil || err != nil {
			t.Errorf("LoadDir = %v, %v; want nothing", rules, err)
		}
	})
	t.Run("errors in every file", func(t *testing.T) {
		bad := t.TempDir()
		writeFile(t, bad, "10-a", "/ok 1:1 0644 0755\n/x 1:1 bad 0755\n", 0o644)
		writeFile(t, bad, "20-b", "\n\n/y {{X}}:1 0644 0755\n", 0o644)
		rules, err := LoadDir(bad, nil)
		if rules != nil {
			t.Errorf("rules = %v, want none", rules)
		}
		want := []string{
			filepath.Join(bad, "10-a") + `:2: bad file mode "bad" (want octal like 0644)`,
			filepath.Join(bad, "20-b") + `:3: unknown variable "X" in "{{X}}:1"`,
		}
		if got := errStrs(lineErrors(t, err)); !reflect.DeepEqual(got, want) {
			t.Errorf("errors:\n got %q\nwant %q", got, want)
		}
	})
}

// ---- accounts ----

func TestResolve(t *testing.T) {
	users, err := ReadUsers(fakeRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		account  string
		uid, gid int
		err      string // substring; "" means success
	}{
		// s6-overlay's table, with daemon = 2:2.
		{name: "seed daemon", account: "daemon", uid: 2, gid: 2},
		{name: "seed daemon,3:4", account: "daemon,3:4", uid: 2, gid: 2},
		{name: "seed 2:2,3:4", account: "2:2,3:4", uid: 2, gid: 2},
		// The seed's table prints UID=11111 GID=2 for this one and the
		// mirror image for the next: a slip in that README, contradicted by
		// its own daemon:unexisting and unexisting:daemon rows and by
		// s6-envuidgid. The account is user:group on every row here.
		{name: "seed daemon:11111,3:4", account: "daemon:11111,3:4", uid: 2, gid: 11111},
		{name: "seed 11111:daemon,3:4", account: "11111:daemon,3:4", uid: 11111, gid: 2},
		{name: "seed daemon:daemon,3:4", account: "daemon:daemon,3:4", uid: 2, gid: 2},
		{name: "seed daemon:unexisting,3:4", account: "daemon:unexisting,3:4", uid: 2, gid: 4},
		{name: "seed unexisting:daemon,3:4", account: "unexisting:daemon,3:4", uid: 3, gid: 2},
		{name: "seed 11111:11111,3:4", account: "11111:11111,3:4", uid: 11111, gid: 11111},
		{name: "seed nobody fallback", account: "nobody,32768:32768", uid: 32768, gid: 32768},

		{name: "user alone takes its primary group", account: "mysql", uid: 999, gid: 998},
		{name: "numeric uid alone takes the primary group of its entry", account: "999", uid: 999, gid: 998},
		{name: "names both sides", account: "mysql:staff", uid: 999, gid: 50},
		{name: "unknown user alone falls back on both sides", account: "unexisting,3:4", uid: 3, gid: 4},
		{name: "unknown user", account: "unexisting", err: `user "unexisting" not found in /etc/passwd`},
		{name: "unknown group", account: "daemon:nogroup", err: `group "nogroup" not found in /etc/group`},
		{name: "both unknown", account: "ghost:spook", err: `user "ghost" not found in /etc/passwd; group "spook" not found in /etc/group`},
		{name: "numeric uid alone without entry", account: "5000", err: "uid 5000 has no /etc/passwd entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseAccount(tt.account)
			if err != nil {
				t.Fatal(err)
			}
			uid, gid, err := users.Resolve(a)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Resolve(%s) err = %v, want %q", tt.account, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%s): %v", tt.account, err)
			}
			if uid != tt.uid || gid != tt.gid {
				t.Errorf("Resolve(%s) = %d:%d, want %d:%d", tt.account, uid, gid, tt.uid, tt.gid)
			}
		})
	}
}

func TestReadUsersMissingFiles(t *testing.T) {
	users, err := ReadUsers(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid, err := users.Resolve(Account{UID: 7, HasUID: true, GID: 8, HasGID: true}); err != nil || uid != 7 || gid != 8 {
		t.Errorf("numeric account on empty db = %d:%d, %v", uid, gid, err)
	}
	if _, _, err := users.Resolve(Account{User: "daemon"}); err == nil {
		t.Error("named account on empty db resolved")
	}
}

func TestEnsureUser(t *testing.T) {
	const (
		line  = "exploit:x:1000:1000::/home/exploit:/bin/sh\n"
		gline = "exploit:x:1000:\n"
	)
	tests := []struct {
		name               string
		passwd, group      *string // nil: file missing
		noEtc              bool
		wantPwd, wantGroup string
		err                string
	}{
		{name: "no etc at all", noEtc: true, wantPwd: line, wantGroup: gline},
		{name: "files missing", wantPwd: line, wantGroup: gline},
		{name: "appended", passwd: ptr(fakePasswd), group: ptr(fakeGroup),
			wantPwd: fakePasswd + line, wantGroup: fakeGroup + gline},
		{name: "missing final newline", passwd: ptr("root:x:0:0::/root:/bin/sh"), group: ptr("root:x:0:"),
			wantPwd: "root:x:0:0::/root:/bin/sh\n" + line, wantGroup: "root:x:0:\n" + gline},
		{name: "already there", passwd: ptr(fakePasswd + line), group: ptr(fakeGroup + gline),
			wantPwd: fakePasswd + line, wantGroup: fakeGroup + gline},
		{name: "gid taken by another group is kept", passwd: ptr(fakePasswd), group: ptr("users:x:1000:\n"),
			wantPwd: fakePasswd + line, wantGroup: "users:x:1000:\n"},
		{name: "uid taken by another user", passwd: ptr("node:x:1000:1000::/home/node:/bin/sh\n"), group: ptr("node:x:1000:\n"),
			wantPwd: "node:x:1000:1000::/home/node:/bin/sh\n" + line, wantGroup: "node:x:1000:\n"},
		{name: "only the group missing", passwd: ptr(line), group: ptr(""),
			wantPwd: line, wantGroup: gline},
		{name: "user with another uid", passwd: ptr("exploit:x:1001:1000::/:/bin/sh\n"), group: ptr(gline),
			err: `ensure user "exploit": it exists with uid 1001, want 1000`},
		{name: "user with another primary group", passwd: ptr("exploit:x:1000:100::/:/bin/sh\n"), group: ptr(gline),
			err: `ensure user "exploit": it exists with primary group 100, want 1000`},
		{name: "group name with another gid", passwd: ptr(""), group: ptr("exploit:x:2000:\n"),
			err: `ensure user "exploit": group "exploit" exists with gid 2000, want 1000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if !tt.noEtc {
				mkdir(t, root, "etc", 0o755)
			}
			if tt.passwd != nil {
				writeFile(t, root, "etc/passwd", *tt.passwd, 0o644)
			}
			if tt.group != nil {
				writeFile(t, root, "etc/group", *tt.group, 0o644)
			}
			err := EnsureUser(root, "exploit", 1000, 1000)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("EnsureUser err = %v, want %q", err, tt.err)
				}
				// Nothing written on error.
				if tt.passwd != nil && readString(t, root, "etc/passwd") != *tt.passwd {
					t.Error("passwd changed despite the error")
				}
				if tt.group != nil && readString(t, root, "etc/group") != *tt.group {
					t.Error("group changed despite the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureUser: %v", err)
			}
			if got := readString(t, root, "etc/passwd"); got != tt.wantPwd {
				t.Errorf("passwd = %q, want %q", got, tt.wantPwd)
			}
			if got := readString(t, root, "etc/group"); got != tt.wantGroup {
				t.Errorf("group = %q, want %q", got, tt.wantGroup)
			}
			// Idempotent, and what it wrote resolves.
			if err := EnsureUser(root, "exploit", 1000, 1000); err != nil {
				t.Fatalf("second EnsureUser: %v", err)
			}
			if got := readString(t, root, "etc/passwd"); got != tt.wantPwd {
				t.Errorf("second EnsureUser changed passwd to %q", got)
			}
			users, err := ReadUsers(root)
			if err != nil {
				t.Fatal(err)
			}
			if uid, gid, err := users.Resolve(Account{User: "exploit"}); err != nil || uid != 1000 || gid != 1000 {
				t.Errorf("Resolve(exploit) = %d:%d, %v", uid, gid, err)
			}
		})
	}
}

func TestEnsureUserBadInput(t *testing.T) {
	for _, tt := range []struct {
		name, user string
		uid, gid   int
	}{
		{name: "empty", user: "", uid: 1, gid: 1},
		{name: "colon", user: "a:b", uid: 1, gid: 1},
		{name: "newline", user: "a\nroot", uid: 1, gid: 1},
		{name: "numeric name", user: "1000", uid: 1, gid: 1},
		{name: "option-like", user: "-x", uid: 1, gid: 1},
		{name: "negative uid", user: "a", uid: -1, gid: 1},
		{name: "gid 2^32-1", user: "a", uid: 1, gid: 1<<32 - 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := EnsureUser(root, tt.user, tt.uid, tt.gid); err == nil {
				t.Fatal("EnsureUser accepted it")
			}
			if _, err := os.Stat(filepath.Join(root, "etc")); err == nil {
				t.Error("EnsureUser wrote something")
			}
		})
	}
}

// An image's /etc/passwd may be an absolute symlink: it must be read and
// extended inside root, never on the host.
func TestEnsureUserSymlinkedPasswd(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "data/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)
	symlink(t, "/data/passwd", root, "etc/passwd")
	if err := EnsureUser(root, "exploit", 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if got, want := readString(t, root, "data/passwd"), "root:x:0:0::/root:/bin/sh\nexploit:x:1000:1000::/home/exploit:/bin/sh\n"; got != want {
		t.Errorf("data/passwd = %q, want %q", got, want)
	}

	dangling := t.TempDir()
	symlink(t, "/nowhere/passwd", dangling, "etc/passwd")
	if err := EnsureUser(dangling, "exploit", 1000, 1000); err == nil || !strings.Contains(err.Error(), "dangling symlink") {
		t.Errorf("EnsureUser through a dangling symlink: err = %v", err)
	}
}

func ptr(s string) *string { return &s }

func readString(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ---- resolving paths under root ----

func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	mkdir(t, root, "usr/lib", 0o755)
	writeFile(t, root, "usr/lib/f", "", 0o644)
	symlink(t, "usr/lib", root, "lib")              // relative, inside
	symlink(t, "/usr/lib", root, "abslib")          // absolute, re-rooted
	symlink(t, "../../../../../../usr", root, "up") // climbs past root: clamped
	symlink(t, outside, root, "escape")             // host path: re-rooted, so missing
	symlink(t, "loop2", root, "loop1")
	symlink(t, "loop1", root, "loop2")
	symlink(t, "f", root, "usr/lib/flink")
	tests := []struct {
		name       string
		path       string
		followLast bool
		want       string
		err        error
	}{
		{name: "plain", path: "/usr/lib/f", want: "/usr/lib/f"},
		{name: "relative link in the middle", path: "/lib/f", want: "/usr/lib/f"},
		{name: "absolute link in the middle", path: "/abslib/f", want: "/usr/lib/f"},
		{name: "dotdot clamped at root", path: "/../../usr/lib/f", want: "/usr/lib/f"},
		{name: "link climbing past root", path: "/up/lib/f", want: "/usr/lib/f"},
		{name: "last link not followed", path: "/lib/flink", want: "/usr/lib/flink"},
		{name: "last link followed", path: "/lib/flink", followLast: true, want: "/usr/lib/f"},
		{name: "host path does not leak", path: "/escape/x", err: os.ErrNotExist},
		{name: "missing middle", path: "/nope/x", err: os.ErrNotExist},
		{name: "file in the middle", path: "/usr/lib/f/x", err: unix.ENOTDIR},
		{name: "loop", path: "/loop1/x", err: unix.ELOOP},
		{name: "root", path: "/", want: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := imagepath.Resolve(root, tt.path, tt.followLast)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("resolveIn(%s) = %q, %v; want error %v", tt.path, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("resolveIn(%s) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
}

// ---- planning and applying ----

// tree builds an image root with a directory to fix, symlinks inside it that
// lead out of root, and a file outside root that must never change.
func tree(t *testing.T) (root, secret string) {
	t.Helper()
	root = fakeRoot(t)
	outside := t.TempDir()
	secret = filepath.Join(outside, "secret")
	writeFile(t, outside, "secret", "s3cr3t", 0o600)
	mkdir(t, root, "srv/app", 0o700)
	writeFile(t, root, "srv/app/a.txt", "a", 0o600)
	symlink(t, "a.txt", root, "srv/app/link")
	symlink(t, secret, root, "srv/app/out")
	symlink(t, outside, root, "srv/app/outdir")
	mkdir(t, root, "srv/app/sub", 0o700)
	writeFile(t, root, "srv/app/sub/b", "b", 0o640)
	symlink(t, outside, root, "srv/escape")
	return root, secret
}

const treeRules = "/srv/app 4242:4243 0644 0755\n" +
	"/srv/missing 4242:4243 0644 0755\n" +
	"/srv/escape/secret 4242:4243 0644 0755\n" +
	"/srv/escape 4242:4243 0644 0755\n"

func TestPlan(t *testing.T) {
	const file = "/etc/ignity/perms/10-app"
	root, _ := tree(t)
	rules, err := Parse(file, strings.NewReader(treeRules), nil)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ReadUsers(root)
	if err != nil {
		t.Fatal(err)
	}
	changes, warnings, err := Plan(root, rules, users)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := sorted(
		"chown -h 4242:4243 /srv/app",
		"chown -h 4242:4243 /srv/app/a.txt",
		"chown -h 4242:4243 /srv/app/link",
		"chown -h 4242:4243 /srv/app/out",
		"chown -h 4242:4243 /srv/app/outdir",
		"chown -h 4242:4243 /srv/app/sub",
		"chown -h 4242:4243 /srv/app/sub/b",
		"chown -h 4242:4243 /srv/escape",
		"chmod 0644 /srv/app/a.txt",
		"chmod 0644 /srv/app/sub/b",
		"chmod 0755 /srv/app/sub",
		"chmod 0755 /srv/app",
	)
	if got := sorted(strs(changes)...); !reflect.DeepEqual(got, wantChanges) {
		t.Errorf("changes:\n got %q\nwant %q", got, wantChanges)
	}
	wantWarnings := []string{
		file + ":2: /srv/missing: no such file or directory, skipped",
		file + ":3: /srv/escape/secret: no such file or directory, skipped",
		file + ":4: /srv/escape is a symlink: only the link's owner is fixed, its target is left alone",
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantWarnings)
	}
	wantOrder(t, changes)
}

func sorted(xs ...string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

// wantOrder checks the order the kernel needs: an entry's chown before its
// chmod (chown clears setuid and setgid), a directory's chmod after every
// change below it (it may take away the search bit).
func wantOrder(t *testing.T, changes []Change) {
	t.Helper()
	for i, c := range changes {
		for _, later := range changes[i+1:] {
			switch {
			case c.Op == OpChmod && later.Op == OpChown && later.Path == c.Path:
				t.Errorf("chmod of %s before its chown", c.Path)
			case c.Op == OpChmod && strings.HasPrefix(later.Path, c.Path+"/"):
				t.Errorf("chmod of %s before %s below it", c.Path, later)
			}
		}
	}
}

func TestPlanNotRecursive(t *testing.T) {
	root, _ := tree(t)
	rules, err := Parse("f", strings.NewReader("/srv/app false 4242:4243 0644 0750\n/srv/app/a.txt false 4242:4243 0604 0750\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	changes, _, err := Plan(root, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sorted(
		"chown -h 4242:4243 /srv/app",
		"chown -h 4242:4243 /srv/app/a.txt",
		"chmod 0604 /srv/app/a.txt",
		"chmod 0750 /srv/app",
	)
	if got := sorted(strs(changes)...); !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got %q\nwant %q", got, want)
	}
}

func TestPlanAccountErrors(t *testing.T) {
	root, _ := tree(t)
	rules, err := Parse("/etc/ignity/perms/10-x", strings.NewReader(
		"/srv/app mysql 0644 0755\n/srv/app ghost 0644 0755\n/srv/app daemon:nogroup 0644 0755\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ReadUsers(root)
	if err != nil {
		t.Fatal(err)
	}
	changes, _, err := Plan(root, rules, users)
	if changes != nil {
		t.Errorf("changes = %v despite errors", changes)
	}
	want := []string{
		`/etc/ignity/perms/10-x:2: account "ghost": user "ghost" not found in /etc/passwd (create it first, or append a fallback: "ghost,UID:GID")`,
		`/etc/ignity/perms/10-x:3: account "daemon:nogroup": group "nogroup" not found in /etc/group (create it first, or append a fallback: "daemon:nogroup,UID:GID")`,
	}
	if got := errStrs(lineErrors(t, err)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestPlanLaterRuleWins(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "d", 0o755)
	writeFile(t, root, "d/f", "", 0o644)
	uid, gid := os.Getuid(), os.Getgid()
	rules := []Rule{
		{Path: "/d", Recurse: true, Account: Account{UID: uid, HasUID: true, GID: gid, HasGID: true}, FileMode: 0o600, DirMode: 0o700},
		{Path: "/d/f", Account: Account{UID: uid, HasUID: true, GID: gid, HasGID: true}, FileMode: 0o644, DirMode: 0o700},
	}
	changes, _, err := Plan(root, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	// f is already what the last rule asks: only the directory changes.
	if got, want := strs(changes), []string{"chmod 0700 /d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
}

// chown(2) clears setuid/setgid on files: a file needing a chown gets its
// chmod back even when its mode looked right.
func TestPlanSetuidSurvivesChown(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "bin/tool", "", 0o755)
	if err := os.Chmod(filepath.Join(root, "bin/tool"), os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	rules, err := Parse("f", strings.NewReader("/bin/tool 4242:4243 4755 0755\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	changes, _, err := Plan(root, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chown -h 4242:4243 /bin/tool", "chmod 4755 /bin/tool"}
	if got := strs(changes); !reflect.DeepEqual(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	if os.Geteuid() != 0 {
		t.Skip("applying a chown needs root")
	}
	if err := (&Fixer{Root: root}).Run(rules); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(root, "bin/tool")); st.Mode&0o7777 != 0o4755 || st.Uid != 4242 {
		t.Errorf("after Apply: mode %04o uid %d, want 4755 4242", st.Mode&0o7777, st.Uid)
	}
}

// The changes go through Chown and Chmod, by directory descriptor and
// name ("" for a directory walked); a failure does not stop the rest, and
// every failure is returned, naming its change.
func TestFixRecordsCalls(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "srv/x", 0o755)
	writeFile(t, root, "srv/x/a", "", 0o600)
	writeFile(t, root, "srv/x/b", "", 0o600)
	symlink(t, "a", root, "srv/x/link")
	rules := []Rule{{Path: "/srv/x", Recurse: true, Account: Account{UID: 1000, HasUID: true, GID: 1001, HasGID: true}, FileMode: 0o640, DirMode: os.ModeSetgid | 0o700}}
	var calls []string
	boom := errors.New("boom")
	name := func(n string) string {
		if n == "" {
			return "(dir)"
		}
		return n
	}
	f := &Fixer{Root: root,
		Chown: func(dirfd int, n string, uid, gid int) error {
			calls = append(calls, "chown "+name(n)+" "+strconv.Itoa(uid)+":"+strconv.Itoa(gid))
			if n == "link" {
				return boom
			}
			return nil
		},
		Chmod: func(dirfd int, n string, m uint32) error {
			calls = append(calls, "chmod "+name(n)+" "+strconv.FormatUint(uint64(m), 8))
			if n == "a" {
				return unix.EPERM
			}
			return nil
		},
	}
	err := f.Run(rules)
	want := sorted(
		"chown (dir) 1000:1001",
		"chown a 1000:1001", "chmod a 640",
		"chown b 1000:1001", "chmod b 640",
		"chown link 1000:1001",
		"chmod (dir) 2700",
	)
	if got := sorted(calls...); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
	if calls[0] != "chown (dir) 1000:1001" || calls[len(calls)-1] != "chmod (dir) 2700" {
		t.Errorf("calls %q: want the directory chowned first and chmoded last", calls)
	}
	var fails *Failures
	if !errors.As(err, &fails) || fails.Count != 2 || fails.OnlyDenied() {
		t.Fatalf("err = %v, want *Failures with 2 failures, not all EPERM", err)
	}
	if !errors.Is(err, boom) || !errors.Is(err, unix.EPERM) {
		t.Errorf("err = %v, want both failures", err)
	}
	for _, w := range []string{"chown -h 1000:1001 /srv/x/link: boom", "chmod 0640 /srv/x/a: operation not permitted"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %q, want it to hold %q", err, w)
		}
	}
}

// Only the first failures are kept, the rest counted.
func TestFailuresBounded(t *testing.T) {
	var f Failures
	for range maxKept + 5 {
		f.add(unix.EPERM)
	}
	if f.Count != maxKept+5 || len(f.Errs) != maxKept || !f.OnlyDenied() {
		t.Errorf("Count %d, kept %d, OnlyDenied %v; want %d, %d, true", f.Count, len(f.Errs), f.OnlyDenied(), maxKept+5, maxKept)
	}
	if !strings.HasSuffix(f.Error(), "\n(and 5 more)") {
		t.Errorf("Error() = %q, want it to end with the count left out", f.Error())
	}
}

// chmod works unprivileged on one's own files: plan, apply for real, and
// find nothing left to do.
func TestApplyChmodThenNothingLeft(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "data", 0o777)
	mkdir(t, root, "data/sub", 0o777)
	writeFile(t, root, "data/a", "", 0o666)
	writeFile(t, root, "data/sub/b", "", 0o600)
	symlink(t, "a", root, "data/link")
	rules := []Rule{{Path: "/data", Recurse: true,
		Account:  Account{UID: os.Getuid(), HasUID: true, GID: os.Getgid(), HasGID: true},
		FileMode: 0o640, DirMode: os.ModeSetgid | 0o750}}
	changes, _, err := Plan(root, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sorted("chmod 0640 /data/a", "chmod 0640 /data/sub/b", "chmod 2750 /data/sub", "chmod 2750 /data")
	if got := sorted(strs(changes)...); !reflect.DeepEqual(got, want) {
		t.Fatalf("changes = %q, want %q", got, want)
	}
	wantOrder(t, changes)
	if err := (&Fixer{Root: root}).Run(rules); err != nil {
		t.Fatal(err)
	}
	for rel, mode := range map[string]uint32{"data": 0o2750, "data/sub": 0o2750, "data/a": 0o640, "data/sub/b": 0o640} {
		if st := lstat(t, filepath.Join(root, rel)); st.Mode&0o7777 != mode {
			t.Errorf("%s mode = %04o, want %04o", rel, st.Mode&0o7777, mode)
		}
	}
	again, _, err := Plan(root, rules, nil)
	if err != nil || len(again) != 0 {
		t.Errorf("second Plan = %q, %v; want nothing", strs(again), err)
	}
}

// As root: the whole tree is re-owned, symlinks themselves, nothing outside
// root changes, and a second plan is empty.
func TestApplyChownAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to other users needs root (CAP_CHOWN); run the tests as root to cover it")
	}
	root, secret := tree(t)
	before := lstat(t, secret)
	rules, err := Parse("f", strings.NewReader(treeRules), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Fixer{Root: root}).Run(rules); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"srv/app", "srv/app/a.txt", "srv/app/link", "srv/app/out", "srv/app/outdir", "srv/app/sub", "srv/app/sub/b", "srv/escape"} {
		if st := lstat(t, filepath.Join(root, rel)); st.Uid != 4242 || st.Gid != 4243 {
			t.Errorf("%s owner = %d:%d, want 4242:4243", rel, st.Uid, st.Gid)
		}
	}
	if after := lstat(t, secret); after.Uid != before.Uid || after.Gid != before.Gid || after.Mode != before.Mode {
		t.Errorf("file outside root changed: %d:%d %o -> %d:%d %o", before.Uid, before.Gid, before.Mode, after.Uid, after.Gid, after.Mode)
	}
	// Line 4 gave the link /srv/escape to uid 4242: line 3's path now
	// goes through a symlink another uid owns, and is refused.
	again, _, err := Plan(root, rules, nil)
	if len(again) != 0 || err == nil || !strings.HasPrefix(err.Error(), "f:3: /srv/escape/secret: refused: /srv/escape is a symlink") {
		t.Errorf("second Plan = %q, %v; want nothing, and line 3 refused", strs(again), err)
	}
}

func TestDefaultChmodRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "target", "", 0o600)
	symlink(t, "target", dir, "link")
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	err = chmodAt(dirfd, "link", 0o777)
	if err == nil {
		t.Fatal("chmod through a symlink succeeded")
	}
	if st := lstat(t, filepath.Join(dir, "target")); st.Mode&0o7777 != 0o600 {
		t.Errorf("target mode = %04o, want 0600", st.Mode&0o7777)
	}
	if err := chmodAt(dirfd, "target", 0o1640); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(dir, "target")); st.Mode&0o7777 != 0o1640 {
		t.Errorf("target mode = %04o, want 1640", st.Mode&0o7777)
	}
}

func TestChangeString(t *testing.T) {
	tests := []struct {
		name string
		c    Change
		want string
	}{
		{name: "chown", c: Change{Op: OpChown, Path: "/srv/x", UID: 1000, GID: 1000}, want: "chown -h 1000:1000 /srv/x"},
		{name: "chmod", c: Change{Op: OpChmod, Path: "/srv/x/a", Mode: 0o640}, want: "chmod 0640 /srv/x/a"},
		{name: "chmod setgid", c: Change{Op: OpChmod, Path: "/d", Mode: os.ModeSetgid | 0o700}, want: "chmod 2700 /d"},
		{name: "quoted", c: Change{Op: OpChmod, Path: "/it's here", Mode: 0o644}, want: `chmod 0644 '/it'\''s here'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// ---- fuzzing ----

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/var/lib/mysql 1000:1000 0600 0700\n",
		"/var/lib/mysql true mysql 0600 0700\n",
		"/var/log/x false nobody,32768:32768 0644 2700\n",
		"# c\n\n/home/u {{USERMAP_UID}}:{{USERMAP_GID}} 644 755\r\n",
		"/x {{NOPE}} 0644 0755\n/y 1:1 07x5 0755",
	} {
		f.Add(s)
	}
	vars := map[string]string{"USERMAP_UID": "1000", "USERMAP_GID": "1001"}
	f.Fuzz(func(t *testing.T, data string) {
		rules, err := Parse("fuzz", strings.NewReader(data), vars)
		lines := strings.Count(data, "\n") + 1
		if err != nil {
			if rules != nil {
				t.Fatalf("rules %v returned with error", rules)
			}
			for _, le := range lineErrors(t, err) {
				if le.File != "fuzz" || le.Line < 1 || le.Line > lines {
					t.Fatalf("fileerr.Error %q outside 1..%d", le, lines)
				}
			}
			return
		}
		for _, r := range rules {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("rule line %d outside 1..%d", r.Line, lines)
			}
			again, err := Parse("again", strings.NewReader(r.String()), nil)
			if err != nil || len(again) != 1 {
				t.Fatalf("re-parsing %q: %v, %v", r.String(), again, err)
			}
			a := again[0]
			a.File, a.Line = r.File, r.Line
			if !reflect.DeepEqual(a, r) {
				t.Fatalf("round trip of %q:\n got %+v\nwant %+v", r.String(), a, r)
			}
		}
	})
}

// fix-attrs.d without S6_FIX_ATTRS_HIDDEN=1: a recursion leaves dot files
// and dot directories, with what they hold, alone; the rule's own path is
// fixed even when it is a dot name.
func TestPlanSkipHidden(t *testing.T) {
	for _, tt := range []struct {
		name   string
		skip   bool
		hidden bool // the hidden entries are in the plan
	}{{"hidden skipped", true, false}, {"hidden fixed", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mkdir(t, root, "data", 0o755)
			writeFile(t, root, "data/seen", "x", 0o644)
			writeFile(t, root, "data/.env", "x", 0o644)
			mkdir(t, root, "data/.git", 0o755)
			writeFile(t, root, "data/.git/config", "x", 0o644)
			mkdir(t, root, ".top", 0o755)
			rules, err := Parse("/etc/fix-attrs.d/10", strings.NewReader("/data true 4242:4243 0600 0700\n/.top true 4242:4243 0600 0700\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rules {
				rules[i].SkipHidden = tt.skip
			}
			changes, _, err := Plan(root, rules, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(strs(changes), "\n")
			for _, p := range []string{"/data/seen", "chmod 0700 /data\n", "/.top"} {
				if !strings.Contains(got+"\n", p) {
					t.Errorf("plan lacks %s:\n%s", p, got)
				}
			}
			for _, p := range []string{"/data/.env", "/data/.git", "/data/.git/config"} {
				if strings.Contains(got, p) != tt.hidden {
					t.Errorf("plan has %s: %v, want %v:\n%s", p, !tt.hidden, tt.hidden, got)
				}
			}
		})
	}
}
