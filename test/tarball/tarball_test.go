// Package tarball_test checks the release tarballs, x86_64 and aarch64, the way users
// consume them: their entries (no directories, nothing setuid, the programs and links
// ignity promises, every ELF file built for the tarball's architecture), their checksum
// files and SHA256SUMS, their reproducibility, their extraction over a usrmerged root,
// and that every program of the x86_64 tarball runs on a root filesystem that has
// nothing but busybox and on Debian. (test/aarch64 boots the aarch64 one under qemu.)
//
// The tarballs are $IGNITY_TARBALL and $IGNITY_TARBALL_AARCH64, or else the newest
// dist/ignity-*-x86_64.tar.gz and dist/ignity-*-aarch64.tar.gz of the module. Without
// one the tests of that architecture skip, or fail when IGNITY_REQUIRE_INTEGRATION=1.
// IGNITY_TEST_REPRODUCIBLE=1 enables the rebuild-and-compare test.
package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
	"github.com/ignity/ignity/internal/modroot"
)

func TestMain(m *testing.M) {
	harness.Init()
	os.Exit(m.Run())
}

// libDir holds the shipped shared libraries and glibc's loader.
const libDir = "usr/lib/ignity/lib/"

// ---- finding and reading the tarball ----

// moduleRoot is the module's root directory; it fails t when there is none.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// arch is one architecture ignity is released for.
type arch struct {
	name    string      // in the tarball's name: ignity-VERSION-NAME.tar.gz
	env     string      // the variable naming the tarball to test
	loader  string      // glibc's loader in libDir
	machine elf.Machine // of every ELF file in the tarball
}

var (
	x86_64  = arch{"x86_64", "IGNITY_TARBALL", "ld-linux-x86-64.so.2", elf.EM_X86_64}
	aarch64 = arch{"aarch64", "IGNITY_TARBALL_AARCH64", "ld-linux-aarch64.so.1", elf.EM_AARCH64}
	arches  = []arch{x86_64, aarch64}
)

// forEachArch runs f as a subtest for each architecture.
func forEachArch(t *testing.T, f func(t *testing.T, a arch)) {
	for _, a := range arches {
		t.Run(a.name, func(t *testing.T) { f(t, a) })
	}
}

// tarballPath returns the tarball of architecture a, skipping the test when there is none.
func tarballPath(t *testing.T, a arch) string {
	t.Helper()
	if p := os.Getenv(a.env); p != "" {
		return p
	}
	matches, err := filepath.Glob(filepath.Join(moduleRoot(t), "dist", "ignity-*-"+a.name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var newest string
	var newestTime time.Time
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err == nil && fi.Mode().IsRegular() && fi.ModTime().After(newestTime) {
			newest, newestTime = m, fi.ModTime()
		}
	}
	if newest == "" {
		if os.Getenv("IGNITY_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("no %s release tarball (%s unset): run task package (IGNITY_REQUIRE_INTEGRATION=1)", a.name, a.env)
		}
		t.Skipf("no %s release tarball (%s unset): run task package", a.name, a.env)
	}
	return newest
}

// entry is one member of the tarball, content included (the whole tarball is a few MB).
type entry struct {
	*tar.Header
	data []byte
}

func (e entry) isELF() bool {
	return e.Typeflag == tar.TypeReg && bytes.HasPrefix(e.data, []byte("\x7fELF"))
}

// release is the parsed tarball.
type release struct {
	arch    arch
	path    string
	entries []entry
	byName  map[string]entry
}

func readRelease(t *testing.T, a arch) *release {
	t.Helper()
	p := tarballPath(t, a)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	r := &release{arch: a, path: p, byName: map[string]entry{}}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", p, h.Name, err)
		}
		e := entry{h, data}
		r.entries = append(r.entries, e)
		r.byName[strings.TrimPrefix(h.Name, "./")] = e
	}
	return r
}

// target returns the tarball path a symlink entry points at.
func target(e entry) string {
	if strings.HasPrefix(e.Linkname, "/") {
		return strings.TrimPrefix(path.Clean(e.Linkname), "/")
	}
	return path.Join(path.Dir(strings.TrimPrefix(e.Name, "./")), e.Linkname)
}

// ---- contents ----

func TestOnlyFilesAndSymlinks(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		for _, e := range readRelease(t, a).entries {
			// A directory entry (bin/, lib/) would replace a usrmerged image's
			// /bin -> usr/bin symlink when GNU tar extracts it at /.
			if e.Typeflag != tar.TypeReg && e.Typeflag != tar.TypeSymlink {
				t.Errorf("%s: entry type %q, want only regular files and symlinks", e.Name, e.Typeflag)
			}
		}
	})
}

// TestNothingUnderUsrmergedLinks: bin, sbin, lib and lib64 are symlinks into
// usr/ on usrmerged images. A tree unpacked from the tarball and COPY'd into
// such an image would replace the symlink with a directory holding only
// what the tarball put there (Docker's COPY does), breaking the image.
func TestNothingUnderUsrmergedLinks(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		for _, e := range readRelease(t, a).entries {
			name := strings.TrimPrefix(e.Name, "./")
			// run/ and var/: a var/run/ directory in a COPY'd tree would
			// replace Debian's /var/run -> /run symlink; s6-overlay's
			// runtime paths are made by /init and the installer instead.
			for _, top := range []string{"bin/", "sbin/", "lib/", "lib64/", "run/", "var/"} {
				if strings.HasPrefix(name, top) {
					t.Errorf("%s: nothing may ship under /%s", e.Name, top)
				}
			}
		}
	})
}

func TestNoPrivilegedOrWritableModes(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		for _, e := range readRelease(t, a).entries {
			if e.Uid != 0 || e.Gid != 0 {
				t.Errorf("%s: owner %d:%d, want 0:0", e.Name, e.Uid, e.Gid)
			}
			if e.Typeflag == tar.TypeSymlink {
				continue // a symlink's own mode means nothing on Linux
			}
			if m := e.Mode; m&(04000|02000|00002) != 0 {
				t.Errorf("%s: mode %#o is setuid, setgid or world-writable", e.Name, m)
			}
		}
	})
}

// TestELFMachine: every ELF file of a tarball is built for its architecture, and
// what the loader runs points at the shipped loader, except the Go binary, which
// is static: a package of the wrong architecture, or a binary patchelf missed,
// would fail only when an image of that architecture boots.
func TestELFMachine(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		r := readRelease(t, a)
		n := 0
		for _, e := range r.entries {
			if !e.isELF() {
				continue
			}
			n++
			name := strings.TrimPrefix(e.Name, "./")
			f, err := elf.NewFile(bytes.NewReader(e.data))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if f.Machine != a.machine || f.Class != elf.ELFCLASS64 {
				t.Errorf("%s: %v %v, want %v ELFCLASS64 in the %s tarball", name, f.Machine, f.Class, a.machine, a.name)
			}
			interp := ""
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					b := make([]byte, p.Filesz)
					if _, err := p.ReadAt(b, 0); err == nil {
						interp = strings.TrimRight(string(b), "\x00")
					}
				}
			}
			switch {
			case name == "usr/bin/ignity" && interp != "":
				t.Errorf("%s: interpreter %q, want none (a static binary)", name, interp)
			case strings.HasPrefix(name, libDir) || name == "usr/bin/ignity":
			case f.Type == elf.ET_EXEC || f.Type == elf.ET_DYN:
				if want := "/" + libDir + a.loader; interp != want {
					t.Errorf("%s: interpreter %q, want %q", name, interp, want)
				}
			}
		}
		if n < 100 {
			t.Errorf("%s holds %d ELF files, want the Go binary, s6, execline and their libraries (over 100)", r.path, n)
		}
	})
}

func TestExpectedEntries(t *testing.T) {
	forEachArch(t, testExpectedEntries)
}

func testExpectedEntries(t *testing.T, a arch) {
	r := readRelease(t, a)
	tests := []struct {
		name string
		link string // symlink target; "" for a regular file
		elf  bool
	}{
		{"init", "usr/bin/ignity", false},
		{"usr/bin/ignity", "", true},
		{"usr/bin/with-env", "ignity", false},
		{"usr/bin/load-envfile", "ignity", false},
		{"usr/bin/fix-perms", "ignity", false},
		{"usr/bin/preboot", "ignity", false},
		{"usr/bin/with-retries", "ignity", false},
		{"usr/bin/logutil-service", "ignity", false},
		{"usr/bin/with-contenv", "ignity", false},
		{"usr/bin/printcontenv", "ignity", false},
		{"command/with-contenv", "/usr/bin/ignity", false},
		{"command/printcontenv", "/usr/bin/ignity", false},
		{"command/logutil-service", "/usr/bin/ignity", false},
		{"command/with-retries", "/usr/bin/ignity", false},
		{"command/s6-rc", "/usr/bin/ignity", false},
		{"command/s6-env", "/usr/bin/ignity", false},
		{"usr/bin/s6-rc", "ignity", false},
		{"usr/bin/s6-echo", "ignity", false},
		{"usr/bin/s6-test", "ignity", false},
		{"command/s6-overlay-suexec", "", false},
		{"command/s6-svscanctl", "/usr/bin/s6-svscanctl", false},
		{"command/s6-setuidgid", "/usr/bin/s6-setuidgid", false},
		{"command/foreground", "/usr/lib/execline/bin/foreground", false},
		{"command/execlineb", "/usr/lib/execline/bin/execlineb", false},
		{"usr/bin/s6-svscan", "", true},
		{"usr/bin/s6-supervise", "", true},
		{"usr/bin/s6-svlisten1", "", true},
		{"usr/bin/s6-ftrigrd", "", true},
		{"usr/bin/s6-svc", "", true},
		{"usr/bin/s6-svscanctl", "", true},
		{"usr/lib/execline/bin/foreground", "", true},
		{"usr/lib/execline/bin/execlineb", "", true},
		{"usr/lib/execline/bin/cd", "execline-cd", false},
		{"usr/bin/execlineb", "", false},
		{libDir + a.loader, "", true},
		{libDir + "libc.so.6", "", true},
		{libDir + "libskarnet.so.2.14", "", true},
		{libDir + "libs6.so.2.13", "", true},
		{libDir + "libexecline.so.2.9", "", true},
		{"usr/lib/ignity/MANIFEST", "", false},
		{"usr/lib/ignity/SIGTERM", "", false},
		{"usr/src/install-ignity.sh", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := r.byName[tt.name]
			switch {
			case !ok:
				t.Fatalf("missing from %s", r.path)
			case tt.link != "" && (e.Typeflag != tar.TypeSymlink || e.Linkname != tt.link):
				t.Errorf("type %q -> %q, want a symlink -> %q", e.Typeflag, e.Linkname, tt.link)
			case tt.link == "" && e.Typeflag != tar.TypeReg:
				t.Errorf("type %q, want a regular file", e.Typeflag)
			case tt.elf && !e.isELF():
				t.Errorf("not an ELF file")
			}
		})
	}
}

// TestManifestNamesEveryPackage: the MANIFEST lists every Debian package of the
// tarball, with the versions and checksums skaware/packages.lock pins for its
// architecture.
func TestManifestNamesEveryPackage(t *testing.T) {
	lock := readLock(t)
	forEachArch(t, func(t *testing.T, a arch) {
		r := readRelease(t, a)
		m, ok := r.byName["usr/lib/ignity/MANIFEST"]
		if !ok {
			t.Fatal("no usr/lib/ignity/MANIFEST")
		}
		got := map[string]string{}
		for i, line := range strings.Split(strings.TrimSpace(string(m.data)), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || len(f[2]) != 64 {
				t.Errorf("MANIFEST:%d: %q, want \"name version sha256\"", i+1, line)
				continue
			}
			got[f[0]] = f[1] + " " + f[2]
		}
		for _, pkg := range []string{"s6", "execline", "libskarnet2.14t64", "libs6-2.13", "libexecline2.9", "libc6"} {
			want, pinned := lock[a.deb()+" "+pkg]
			switch {
			case !pinned:
				t.Errorf("skaware/packages.lock pins no %s for %s", pkg, a.deb())
			case got[pkg] != want:
				t.Errorf("MANIFEST says %s %q, skaware/packages.lock pins %q (%s)", pkg, got[pkg], want, a.deb())
			}
		}
	})
}

// deb is the Debian name of the architecture.
func (a arch) deb() string {
	return map[string]string{"x86_64": "amd64", "aarch64": "arm64"}[a.name]
}

// readLock reads skaware/packages.lock: "arch name" -> "version sha256".
func readLock(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "skaware", "packages.lock"))
	if err != nil {
		t.Fatal(err)
	}
	lock := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 4 && !strings.HasPrefix(f[0], "#") {
			lock[f[2]+" "+f[0]] = f[1] + " " + f[3]
		}
	}
	return lock
}

func TestChecksumFile(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		p := tarballPath(t, a)
		sumFile, err := os.ReadFile(p + ".sha256")
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s  %s\n", fileSHA256(t, p), filepath.Base(p))
		if string(sumFile) != want {
			t.Errorf("%s.sha256 = %q, want %q", p, sumFile, want)
		}
	})
}

// TestSHA256SUMS: one SHA256SUMS beside the tarballs covers them all, and
// sha256sum -c, as a user runs it, verifies it.
func TestSHA256SUMS(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		p := tarballPath(t, a)
		dir := filepath.Dir(p)
		sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%s  %s\n", fileSHA256(t, p), filepath.Base(p)); !strings.Contains(string(sums), want) {
			t.Errorf("%s/SHA256SUMS has no line %q:\n%s", dir, want, sums)
		}
		for _, other := range arches {
			if !strings.Contains(string(sums), "-"+other.name+".tar.gz\n") {
				t.Errorf("%s/SHA256SUMS names no %s tarball:\n%s", dir, other.name, sums)
			}
		}
		cmd := exec.Command("sha256sum", "--check", "--strict", "SHA256SUMS")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum --check SHA256SUMS in %s: %v\n%s", dir, err, out)
		}
	})
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestReproducible rebuilds the tarballs elsewhere and expects the same bytes, per
// architecture.
func TestReproducible(t *testing.T) {
	if os.Getenv("IGNITY_TEST_REPRODUCIBLE") != "1" {
		t.Skip("rebuilds the release; set IGNITY_TEST_REPRODUCIBLE=1")
	}
	dist := t.TempDir()
	cmd := exec.Command("bash", "scripts/package.sh")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "DIST="+dist, "BUILD="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package.sh: %v\n%s", err, out)
	}
	forEachArch(t, func(t *testing.T, a arch) {
		p := tarballPath(t, a)
		again := filepath.Join(dist, filepath.Base(p))
		if got, want := fileSHA256(t, again), fileSHA256(t, p); got != want {
			t.Errorf("rebuilt %s has sha256 %s, %s has %s: the build is not reproducible,"+
				" or %s is stale (sources, the commit or skaware/packages.lock changed since it was built)",
				filepath.Base(p), got, p, want, p)
		}
	})
}

// ---- extraction ----

// TestExtractKeepsUsrmergedLinks extracts the tarball over a usrmerged root with both
// tars users have at hand: /bin, /sbin and /lib must stay symlinks.
func TestExtractKeepsUsrmergedLinks(t *testing.T) {
	forEachArch(t, testExtractKeepsUsrmergedLinks)
}

func testExtractKeepsUsrmergedLinks(t *testing.T, a arch) {
	p := tarballPath(t, a)
	if os.Geteuid() != 0 {
		t.Skip("extracts as root, as an image build does (owners and modes applied); not root")
	}
	tars := []struct {
		name string
		argv []string
	}{
		{"GNU tar", []string{"tar"}},
		{"busybox tar", []string{"busybox", "tar"}},
	}
	links := map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib"}
	for _, tt := range tars {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath(tt.argv[0]); err != nil {
				t.Skipf("%s not installed: %v", tt.name, err)
			}
			dir := t.TempDir()
			for link, dest := range links {
				if err := os.MkdirAll(filepath.Join(dir, dest), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(dest, filepath.Join(dir, link)); err != nil {
					t.Fatal(err)
				}
			}
			argv := append(slices.Clone(tt.argv), "-xzf", p, "-C", dir)
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
			}
			for link, dest := range links {
				got, err := os.Readlink(filepath.Join(dir, link))
				if err != nil || got != dest {
					t.Errorf("/%s is no longer a symlink to %s after extraction (readlink: %q, %v)", link, dest, got, err)
				}
			}
			for _, f := range []string{"usr/bin/execlineb"} {
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil || !fi.Mode().IsRegular() {
					t.Errorf("/%s is not a regular file after extraction: %v", f, err)
				}
			}
		})
	}
}

// ---- every shipped program runs ----

// probe is how a shipped program is run to show that it loads and reaches its main:
// arguments that make it exit at once, and the status it then exits with.
type probe struct {
	args   []string
	status int
}

// usageProbe: skaware programs answer an unknown option (or a missing operand) with
// a usage message and status 100.
var usageProbe = probe{[]string{"-h"}, 100}

// probes lists the programs that answer -h otherwise. A status that changes after
// a repin deserves a look; a loader failure shows as 127 and a crash as a signal.
var probes = map[string]probe{
	"usr/bin/ignity":    {[]string{"--version"}, 0},
	"usr/bin/execlineb": {[]string{"-Pc", "exit 3"}, 3}, // Debian's wrapper script, then execlineb, then exit
	// Take -h as an operand and fail on it with 111.
	"usr/bin/s6-cleanfifodir":     {[]string{"-h"}, 111}, // no fifodir "-h"
	"usr/bin/s6-fghack":           {[]string{"-h"}, 111}, // cannot exec "-h"
	"usr/bin/s6-supervise":        {[]string{"-h"}, 111}, // cannot chdir to "-h"
	"usr/bin/s6-svdt-clear":       {[]string{"-h"}, 111}, // no service "-h"
	"usr/lib/execline/bin/homeof": {[]string{"-h"}, 111}, // no user "-h"
	// Others.
	"usr/bin/s6-svok":    {[]string{"-h"}, 1}, // "-h" is not a supervised service
	"usr/bin/s6-tai64n":  {nil, 0},            // a filter: copies empty stdin and exits
	"usr/bin/s6-ftrigrd": {nil, 111},          // a helper: fails without its client on stdin/stdout
}

func hasProbe(name string) bool {
	_, ok := probes[name]
	return ok
}

// programs lists what to run: every ELF program (libraries aside), the symlinks to
// skaware programs (execline's cd and umask), and the scripts named in probes.
func (r *release) programs(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, e := range r.entries {
		name := strings.TrimPrefix(e.Name, "./")
		switch {
		case e.isELF() && !strings.HasPrefix(name, libDir):
			names = append(names, name)
		case e.Typeflag == tar.TypeSymlink && strings.HasPrefix(name, "command/"):
			// s6-overlay's /command names a program run under its own path
			// here (TestCommandLinks checks where each leads).
		case e.Typeflag == tar.TypeSymlink:
			// ignity's applet links run the Go binary, which the cmd tests cover.
			if dest, ok := r.byName[target(e)]; ok && dest.isELF() && target(e) != "usr/bin/ignity" {
				names = append(names, name)
			}
		case e.Typeflag == tar.TypeReg && hasProbe(name):
			names = append(names, name)
		}
	}
	for name := range probes {
		if _, ok := r.byName[name]; !ok {
			t.Errorf("probes names %s, which the tarball does not ship", name)
		}
	}
	return names
}

// TestProgramsRun runs every program of the x86_64 tarball in a root filesystem that
// has nothing but Debian's busybox-static, and in Debian bookworm minbase, with the
// tarball extracted at its root.
func TestProgramsRun(t *testing.T) {
	r := readRelease(t, x86_64)
	harness.RequireRoot(t)
	programs := r.programs(t)
	for _, base := range []harness.Base{harness.Busybox, harness.Debian} {
		t.Run(string(base), func(t *testing.T) {
			root := harness.NewRoot(t, base, r.path)
			for _, prog := range programs {
				t.Run(prog, func(t *testing.T) {
					p, ok := probes[prog]
					if !ok {
						p = usageProbe
					}
					status, out, err := runIn(root.Dir, "/"+prog, p.args...)
					switch {
					case err != nil:
						t.Fatalf("cannot run: %v\n%s", err, out)
					case strings.Contains(out, "error while loading shared libraries"):
						t.Fatalf("loader failure, status %d:\n%s", status, out)
					case status == 126 || status == 127:
						t.Fatalf("status %d (cannot execute / not found):\n%s", status, out)
					case status != p.status:
						t.Errorf("%s %s: status %d, want %d:\n%s", prog, strings.Join(p.args, " "), status, p.status, out)
					}
				})
			}
		})
	}
}

// TestInstallScript follows the "COPY the tree, RUN /usr/src/install-ignity.sh" path:
// the script must succeed twice and leave /bin/execlineb, /run/ignity and user lookups
// working. The tarball ships nothing under bin/ (a bin/ directory in a COPY'd tree
// replaces a usrmerged /bin symlink), so on the busybox root (/bin a real directory)
// the script must create /bin/execlineb.
func TestInstallScript(t *testing.T) {
	r := readRelease(t, x86_64)
	harness.RequireRoot(t)
	tests := []struct {
		base          harness.Base
		dropExeclineb bool
	}{
		{harness.Busybox, true},
		{harness.Debian, false}, // usrmerged: /bin/execlineb is /usr/bin/execlineb
	}
	for _, tt := range tests {
		t.Run(string(tt.base), func(t *testing.T) {
			root := harness.NewRoot(t, tt.base, r.path)
			if _, err := os.Lstat(root.Path("/bin/execlineb")); tt.dropExeclineb != (err != nil) {
				t.Fatalf("/bin/execlineb before the installer: %v (want it missing: %v)", err, tt.dropExeclineb)
			}
			for run := 1; run <= 2; run++ {
				status, out, err := runIn(root.Dir, "/usr/src/install-ignity.sh")
				if err != nil || status != 0 {
					t.Fatalf("run %d: status %d, %v:\n%s", run, status, err, out)
				}
			}
			for link, target := range map[string]string{
				"/run/s6": "/run/ignity/s6", "/run/service": "/run/ignity/services-state",
				"/run/s6-linux-init-container-results": "/run/ignity/s6-linux-init-container-results",
			} {
				if got, err := os.Readlink(root.Path(link)); err != nil || got != target {
					t.Errorf("%s -> %q (%v), want a symlink to %s", link, got, err, target)
				}
			}
			// Debian's /var/run -> /run stays; busybox gets it.
			if got, err := os.Readlink(root.Path("/var/run")); err != nil || (got != "/run" && got != "../run") {
				t.Errorf("/var/run -> %q (%v), want a symlink to /run", got, err)
			}
			if fi, err := os.Lstat(root.Path("/bin/execlineb")); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("/bin/execlineb is not a regular file: %v", err)
			}
			fi, err := os.Stat(root.Path("/run/ignity"))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if !fi.IsDir() || fi.Mode().Perm() != 0o777 || fi.Mode()&os.ModeSticky == 0 || st.Uid != 0 || st.Gid != 0 {
				t.Errorf("/run/ignity: %v %d:%d, want a directory 1777 owned by 0:0", fi.Mode(), st.Uid, st.Gid)
			}
			status, out, err := runIn(root.Dir, "/usr/bin/s6-setuidgid", "nobody", "/usr/lib/execline/bin/exit", "0")
			if err != nil || status != 0 {
				t.Errorf("s6-setuidgid nobody: status %d, %v:\n%s", status, err, out)
			}
		})
	}
}

// TestVersionNamesRelease: the shipped ignity --version names its version, the
// commit it was built from, the tarball's architecture and the skaware in it, as
// skaware/packages.lock pins it.
func TestVersionNamesRelease(t *testing.T) {
	r := readRelease(t, x86_64)
	harness.RequireRoot(t)
	version, err := os.ReadFile(filepath.Join(moduleRoot(t), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	lock := readLock(t)
	root := harness.NewRoot(t, harness.Busybox, r.path)
	status, out, err := runIn(root.Dir, "/usr/bin/ignity", "--version")
	if err != nil || status != 0 {
		t.Fatalf("ignity --version: status %d, %v:\n%s", status, err, out)
	}
	first, rest, _ := strings.Cut(out, "\n")
	head := regexp.MustCompile(`^ignity (\S+) \(commit ([0-9a-f]{7,40}|unknown), (\S+)\)$`).FindStringSubmatch(first)
	if head == nil || head[1] != strings.TrimSpace(string(version)) || head[3] != "x86_64" {
		t.Errorf("first line %q, want \"ignity %s (commit HASH, x86_64)\"", first, strings.TrimSpace(string(version)))
	}
	s6, _, _ := strings.Cut(lock["amd64 s6"], " ")
	execline, _, _ := strings.Cut(lock["amd64 execline"], " ")
	if want := "skaware: s6 " + s6 + ", execline " + execline + "\n"; !strings.HasPrefix(rest, want) {
		t.Errorf("second line of\n%s\nwant %q", out, want)
	}
}

// runIn runs prog chrooted in dir with a bare environment and empty stdin, and returns
// its exit status and combined output. err reports a program that could not be
// started, was killed by a signal, or outlived its deadline.
func runIn(dir, prog string, args ...string) (status int, out string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, string(b), fmt.Errorf("killed by %v (deadline: %v)", ws.Signal(), ctx.Err())
		}
		return exit.ExitCode(), string(b), nil
	}
	if err != nil {
		return -1, string(b), err
	}
	return 0, string(b), nil
}

// TestCommandLinks: /command holds, for s6-overlay's scripts, a symlink to
// every program the tarball ships at /usr/bin and /usr/lib/execline/bin,
// and to each of ignity's applets; nothing else, and none dangling.
func TestCommandLinks(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		r := readRelease(t, a)
		want := map[string]bool{}
		for _, e := range r.entries {
			name := strings.TrimPrefix(e.Name, "./")
			dir, base := path.Split(name)
			if (dir == "usr/bin/" || dir == "usr/lib/execline/bin/") && base != "execlineb" || name == "usr/lib/execline/bin/execlineb" {
				want["command/"+base] = true
			}
		}
		for _, e := range r.entries {
			name := strings.TrimPrefix(e.Name, "./")
			if !strings.HasPrefix(name, "command/") {
				continue
			}
			if name == "command/s6-overlay-suexec" {
				// a regular file: image builds chmod it (see package.sh)
				if e.Typeflag != tar.TypeReg {
					t.Errorf("%s: want a regular file", name)
				}
				continue
			}
			if !want[name] {
				t.Errorf("%s: not a program the tarball ships", name)
			}
			delete(want, name)
			if _, ok := r.byName[target(e)]; e.Typeflag != tar.TypeSymlink || !ok {
				t.Errorf("%s -> %s: want a symlink to a shipped program", name, e.Linkname)
			}
		}
		for name := range want {
			t.Errorf("%s missing", name)
		}
	})
}
