package harness

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Init()
	os.Exit(m.Run())
}

// ---- unprivileged: plan, paths, options ----

func TestPlanOrderAndStrings(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Debian's /var/run is an absolute link; it must resolve inside the root.
	if err := os.Symlink("/run", filepath.Join(root, "var/run")); err != nil {
		t.Fatal(err)
	}
	steps, err := plan(&childSpec{
		Root:     root,
		Argv:     []string{"/init"},
		ReadOnly: true,
		Tmpfs:    []string{"/var/run/ignity:size=64k,mode=1777,noexec"},
		TTY:      "/dev/pts/7",
	})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range steps {
		lines = append(lines, s.String())
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"mount -o rec,private /",
		"mount --bind -o rec " + root + " " + root,
		"mount -t proc -o nosuid,nodev,noexec proc " + root + "/proc",
		"mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs " + root + "/dev",
		"mount --bind /dev/null " + root + "/dev/null",
		"ln -s /proc/self/fd " + root + "/dev/fd",
		"mount --bind /dev/pts/7 " + root + "/dev/pts/7",
		"mount --bind /dev/pts/7 " + root + "/dev/console",
		"mount -t tmpfs -o nosuid,nodev,noexec,size=64k,mode=1777 tmpfs " + root + "/run/ignity",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if first := lines[0]; first != "mount -o rec,private /" {
		t.Errorf("first step = %q, want the private remount before any mount", first)
	}
	if last := lines[len(lines)-1]; last != "mount -o remount,bind,ro "+root {
		t.Errorf("last step = %q, want the read-only remount after every other mount", last)
	}
}

func TestPlanRejectsRelativeTmpfs(t *testing.T) {
	if _, err := plan(&childSpec{Root: t.TempDir(), Tmpfs: []string{"run"}}); err == nil {
		t.Fatal("plan accepted a relative tmpfs path")
	}
}

func TestRootPathResolvesInsideRoot(t *testing.T) {
	r := &Root{Dir: t.TempDir()}
	for _, d := range []string{"usr/bin", "run", "var"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "var/run": "/run", "loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(r.Dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ in, want string }{
		{"/etc/ignity/init/10-x", "/etc/ignity/init/10-x"},
		{"bin/sh", "/usr/bin/sh"},
		{"/var/run/ignity/x", "/run/ignity/x"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"/bin", "/bin"}, // the last element stays a link
		{"/loop/x", "/loop/x"},
	}
	for _, tt := range tests {
		if got := r.Path(tt.in); got != r.Dir+tt.want {
			t.Errorf("Path(%q) = %q, want %q", tt.in, got, r.Dir+tt.want)
		}
	}
}

func TestParseUser(t *testing.T) {
	tests := []struct {
		in       string
		uid, gid int
		ok       bool
	}{
		{"1000:1000", 1000, 1000, true},
		{"0:0", 0, 0, true},
		{"65534", 65534, 0, true},
		{"nobody", 0, 0, false},
		{"1000:", 0, 0, false},
		{"-1:0", 0, 0, false},
	}
	for _, tt := range tests {
		uid, gid, err := parseUser(tt.in)
		if (err == nil) != tt.ok || uid != tt.uid || gid != tt.gid {
			t.Errorf("parseUser(%q) = %d, %d, %v; want %d, %d, ok=%v", tt.in, uid, gid, err, tt.uid, tt.gid, tt.ok)
		}
	}
}

func TestTmpfsOptions(t *testing.T) {
	flags, data := tmpfsOptions("size=64k,noexec,mode=1777,suid")
	if got := strings.Join(mountFlagNames(flags), ","); got != "nodev,noexec" {
		t.Errorf("flags = %s, want nodev,noexec", got)
	}
	if data != "size=64k,mode=1777" {
		t.Errorf("data = %q", data)
	}
}

// ---- booting as PID 1 (root) ----

// bare returns a fresh busybox root with no tarball.
func bare(t *testing.T) *Root {
	t.Helper()
	RequireRoot(t)
	t.Parallel()
	return NewRoot(t, Busybox, "")
}

func TestBootShellIsPID1WithItsExitCode(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{}, "/bin/sh", "-c", `echo $$; readlink /proc/1/exe; exit 3`)
	if res.ExitCode != 3 || res.Signaled || res.TimedOut {
		t.Fatalf("want exit code 3, got %v", res)
	}
	if res.Stdout != "1\n/bin/busybox\n" {
		t.Fatalf("want PID 1 running /bin/busybox, got stdout %q\n%v", res.Stdout, res)
	}
}

func TestBootSeparatesStdoutAndStderr(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{}, "/bin/sh", "-c", `echo out; echo err >&2`)
	if res.ExitCode != 0 || res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Fatalf("want out/err split, got stdout %q stderr %q\n%v", res.Stdout, res.Stderr, res)
	}
}

func TestBootEnvIsExactlyOptionsEnv(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{}, "/bin/env")
	if want := "PATH=" + defaultPATH + "\n"; res.Stdout != want {
		t.Errorf("default env = %q, want %q", res.Stdout, want)
	}
	res = r.Boot(t, Options{Env: []string{"A=1", "B=two words"}}, "/bin/env")
	if res.Stdout != "A=1\nB=two words\n" {
		t.Errorf("env = %q, want A and B only", res.Stdout)
	}
}

func TestBootLooksUpArgv0InPATH(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{}, "echo", "found")
	if res.ExitCode != 0 || res.Stdout != "found\n" {
		t.Fatalf("want echo found via PATH, got %v", res)
	}
}

// TestBootSignalStateIsFresh checks that PID 1 starts with nothing blocked
// or ignored even when the test binary itself ignores a signal (as under
// nohup): execve would carry such an ignore over.
func TestBootSignalStateIsFresh(t *testing.T) {
	r := bare(t)
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	res := r.Boot(t, Options{}, "/bin/cat", "/proc/self/status")
	for _, field := range []string{"SigBlk", "SigIgn", "SigCgt"} {
		re := regexp.MustCompile(`(?m)^` + field + `:\s*0+$`)
		if !re.MatchString(res.Stdout) {
			t.Errorf("PID 1's %s is not empty:\n%s", field, res.Stdout)
		}
	}
}

// The kernel delivers a signal from outside to a namespace's PID 1 only if
// PID 1 has a handler for it: an unhandled SIGTERM is dropped.
func TestPID1WithoutHandlerSurvivesTermAfter(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{TermAfter: 50 * time.Millisecond}, "/bin/sleep", "1")
	if res.ExitCode != 0 || res.Signaled {
		t.Fatalf("want sleep to ignore SIGTERM as PID 1 and exit 0, got %v", res)
	}
	if res.Elapsed < time.Second {
		t.Fatalf("sleep 1 ended after %v", res.Elapsed)
	}
}

func TestPID1WithTrapHandlesTERM(t *testing.T) {
	r := bare(t)
	p := r.Start(t, Options{}, "/bin/sh", "-c", `trap 'exit 5' TERM; echo ready; sleep 10 & wait`)
	p.WaitOutput(t, "ready", 5*time.Second)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if res := p.Wait(); res.ExitCode != 5 {
		t.Fatalf("want the TERM trap's exit 5, got %v", res)
	}
	if res := p.Wait(); res.ExitCode != 5 {
		t.Fatalf("second Wait = %v", res)
	}
}

func TestPID1TermAfterWithTrap(t *testing.T) {
	r := bare(t)
	// The trap is set long before TermAfter; sleep in the background so the
	// shell is in wait, where a trapped signal interrupts it.
	res := r.Boot(t, Options{TermAfter: 300 * time.Millisecond}, "/bin/sh", "-c", `trap 'exit 5' TERM; sleep 10 & wait`)
	if res.ExitCode != 5 || res.Elapsed > 5*time.Second {
		t.Fatalf("want exit 5 soon after TermAfter, got %v", res)
	}
}

func TestTTYIsControllingTerminal(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{TTY: true}, "/bin/sh", "-c", `tty; [ -t 0 ] && [ -t 1 ] && echo ok; echo $(cat /proc/self/stat | cut -d" " -f6,7) > /dev/tty`)
	if res.ExitCode != 0 {
		t.Fatalf("want exit 0, got %v", res)
	}
	if !regexp.MustCompile(`(?m)^/dev/pts/\d+\r$`).MatchString(res.Output) || !strings.Contains(res.Output, "ok\r\n") {
		t.Fatalf("want a /dev/pts name and ok, got %v", res)
	}
	// Field 6 is the session (PID 1 leads it), field 7 the terminal: non-zero.
	if m := regexp.MustCompile(`(?m)^1 (\d+)\r$`).FindStringSubmatch(res.Output); m == nil || m[1] == "0" {
		t.Fatalf("want session 1 with a controlling terminal, got %v", res)
	}
}

func TestTTYCtrlCReachesPID1(t *testing.T) {
	r := bare(t)
	p := r.Start(t, Options{TTY: true}, "/bin/sh", "-c", `trap 'echo got-INT; exit 7' INT; echo ready; sleep 10 & wait`)
	p.WaitOutput(t, "ready", 5*time.Second)
	if err := p.WriteTTY([]byte("\x03")); err != nil {
		t.Fatal(err)
	}
	p.WaitOutput(t, "got-INT", 5*time.Second)
	if res := p.Wait(); res.ExitCode != 7 {
		t.Fatalf("want exit 7 from the INT trap, got %v", res)
	}
}

func TestTTYStdin(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{TTY: true, Stdin: strings.NewReader("typed\n")}, "/bin/sh", "-c", `read line; echo "got $line"`)
	if !strings.Contains(res.Output, "got typed") {
		t.Fatalf("want the typed line back, got %v", res)
	}
}

func TestReadOnlyRootWithTmpfs(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{ReadOnly: true, Tmpfs: []string{"/run/ignity:size=64k,mode=1777"}}, "/bin/sh", "-c", `
		touch /written && echo root-writable
		echo hi > /run/ignity/f && cat /run/ignity/f
		stat -c %a /run/ignity
		echo dev > /dev/null && echo dev-ok
		grep -Eq "^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ro[, ]" /proc/self/mountinfo && echo root-ro
	`)
	if strings.Contains(res.Stdout, "root-writable") {
		t.Errorf("writing / succeeded on a read-only root\n%v", res)
	}
	if res.Stdout != "hi\n1777\ndev-ok\nroot-ro\n" {
		t.Errorf("want the tmpfs writable with mode 1777, /dev usable and / read-only, got %v", res)
	}
	if _, err := os.Stat(r.Path("/written")); err == nil {
		t.Errorf("/written exists on the host")
	}
	// The read-only mount lived in the child's namespace only.
	if err := os.WriteFile(r.Path("/after"), nil, 0o644); err != nil {
		t.Errorf("root not writable from the host after the boot: %v", err)
	}
}

func TestUserDropsToUIDGID(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{User: "1000:1000"}, "/bin/sh", "-c", `id -u; id -g; id -G; grep CapEff /proc/self/status`)
	if !strings.HasPrefix(res.Stdout, "1000\n1000\n1000\nCapEff:\t0000000000000000\n") {
		t.Fatalf("want uid, gid and groups 1000 with no capabilities, got %v", res)
	}
}

func TestStdinReachesPID1(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{Stdin: strings.NewReader("line one\nline two\n")}, "/bin/cat")
	if res.ExitCode != 0 || res.Stdout != "line one\nline two\n" {
		t.Fatalf("want stdin echoed, got %v", res)
	}
	res = r.Boot(t, Options{}, "/bin/cat")
	if res.ExitCode != 0 || res.Output != "" {
		t.Fatalf("want /dev/null stdin by default, got %v", res)
	}
}

func TestTimeoutKillsPID1AndItsNamespace(t *testing.T) {
	r := bare(t)
	res := r.Boot(t, Options{Timeout: 300 * time.Millisecond}, "/bin/sh", "-c", `sleep 100 & echo started; sleep 100`)
	if !res.TimedOut || !res.Signaled || res.Signal != syscall.SIGKILL || res.ExitCode != 137 {
		t.Fatalf("want a SIGKILL timeout with exit code 137, got %v", res)
	}
	if res.Elapsed > 5*time.Second {
		t.Fatalf("timeout took %v", res.Elapsed)
	}
	if !strings.Contains(res.String(), "timed out") {
		t.Fatalf("String() does not say it timed out: %s", res)
	}
}

func TestHostnameIsPrivate(t *testing.T) {
	r := bare(t)
	before, _ := os.Hostname()
	res := r.Boot(t, Options{}, "/bin/sh", "-c", `hostname ignity-harness-test && hostname`)
	if res.Stdout != "ignity-harness-test\n" {
		t.Fatalf("want the new hostname inside, got %v", res)
	}
	if after, _ := os.Hostname(); after != before {
		t.Fatalf("host name changed from %q to %q", before, after)
	}
}

func TestWriteFileCreatesParentsWithMode(t *testing.T) {
	r := bare(t)
	r.WriteFile(t, "/etc/ignity/init/10-x", 0o755, "#!/bin/sh\necho from-init\n")
	fi, err := os.Stat(r.Path("/etc/ignity/init/10-x"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("stat: %v %v", fi, err)
	}
	res := r.Boot(t, Options{}, "/etc/ignity/init/10-x")
	if res.Stdout != "from-init\n" {
		t.Fatalf("want the written script to run, got %v", res)
	}
}

func TestDebianBaseBoots(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	r := NewRoot(t, Debian, "")
	res := r.Boot(t, Options{}, "/bin/sh", "-c", `cat /etc/debian_version`)
	if res.ExitCode != 0 || !regexp.MustCompile(`^12\.\d+\n$`).MatchString(res.Stdout) {
		t.Fatalf("want bookworm's debian_version, got %v", res)
	}
}

func TestBaseDirIsCached(t *testing.T) {
	RequireRoot(t)
	a := BaseDir(t, Busybox)
	fi, err := os.Stat(filepath.Join(a, "bin", "busybox"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("base lacks /bin/busybox: %v", err)
	}
	start := time.Now()
	if b := BaseDir(t, Busybox); b != a {
		t.Fatalf("BaseDir moved: %s then %s", a, b)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cached BaseDir took %v", d)
	}
}

func TestBaseDirRebuildsWhenBuilderChanges(t *testing.T) {
	RequireRoot(t)
	if testing.Short() {
		t.Skip("builds two busybox bases in a private cache (apt-get download); skipped with -short")
	}
	cache := t.TempDir()
	t.Setenv("IGNITY_CACHE", cache)
	first := BaseDir(t, Busybox)
	if first != filepath.Join(cache, "rootfs", "busybox") {
		t.Fatalf("BaseDir = %s, want it under $IGNITY_CACHE/rootfs", first)
	}
	marker := filepath.Join(first, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// As if scripts/mkrootfs.sh had changed since the build.
	if err := os.WriteFile(first+".stamp", []byte("outdated"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again := BaseDir(t, Busybox); again != first {
		t.Fatalf("BaseDir moved: %s then %s", first, again)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("outdated base was not rebuilt")
	}
	// The old tree is kept aside for tests still using it as a lower layer.
	olds, _ := filepath.Glob(filepath.Join(cache, "rootfs", ".busybox.old-*", "marker"))
	if len(olds) != 1 {
		t.Fatalf("want the outdated base retired aside, found %v", olds)
	}
}

// BenchmarkBootTrue measures one boot of /bin/true as PID 1 on each base,
// root creation excluded; median-ms is the median of Result.Elapsed.
func BenchmarkBootTrue(b *testing.B) {
	RequireRoot(b)
	for _, base := range []Base{Busybox, Debian} {
		b.Run(string(base), func(b *testing.B) {
			r := NewRoot(b, base, "")
			var times []time.Duration
			for b.Loop() {
				res := r.Boot(b, Options{}, "/bin/true")
				if res.ExitCode != 0 {
					b.Fatal(res)
				}
				times = append(times, res.Elapsed)
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
		})
	}
}

// writeTarball writes a gzipped tar with a file and a symlink, like a small
// release tarball (no directory entries).
func writeTarball(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ignity-test-x86_64.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	body := "#!/bin/sh\necho from-tarball\nexit 4\n"
	hdrs := []*tar.Header{
		{Name: "usr/bin/fake-init", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg},
		{Name: "init", Linkname: "usr/bin/fake-init", Mode: 0o777, Typeflag: tar.TypeSymlink},
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []io.Closer{tw, zw, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestNewRootExtractsTarball(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	tarball := writeTarball(t)
	for _, tt := range []struct {
		name      string
		forceCopy bool
	}{{"overlay", false}, {"copy", true}} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRoot(t, Busybox, tarball, tt.forceCopy)
			if target, err := os.Readlink(r.Path("/init")); err != nil || target != "usr/bin/fake-init" {
				t.Fatalf("/init: %q, %v", target, err)
			}
			res := r.Boot(t, Options{}, "/init")
			if res.ExitCode != 4 || res.Stdout != "from-tarball\n" {
				t.Fatalf("want the tarball's /init to run, got %v", res)
			}
			// The cached base stays untouched.
			if _, err := os.Lstat(filepath.Join(BaseDir(t, Busybox), "init")); err == nil {
				t.Fatal("the tarball landed in the cached base")
			}
		})
	}
}

// fatalRecorder records a Fatal and ends the calling goroutine, so a test can
// check how a harness call fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalRecorder) Skip(args ...any) {
	f.msg = "skip: " + fmt.Sprint(args...)
	runtime.Goexit()
}

// failure runs fn with a recorder and returns its Fatal or Skip message, ""
// if fn returned normally.
func failure(t testing.TB, fn func(tb testing.TB)) string {
	f := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestSkipBecomesFatalWhenIntegrationRequired(t *testing.T) {
	t.Setenv("IGNITY_REQUIRE_INTEGRATION", "")
	if msg := failure(t, func(tb testing.TB) { skip(tb, "no %s", "engine") }); msg != "skip: no engine" {
		t.Errorf("skip without IGNITY_REQUIRE_INTEGRATION: %q", msg)
	}
	t.Setenv("IGNITY_REQUIRE_INTEGRATION", "1")
	if msg := failure(t, func(tb testing.TB) { skip(tb, "no %s", "engine") }); msg != "no engine (IGNITY_REQUIRE_INTEGRATION=1)" {
		t.Errorf("skip with IGNITY_REQUIRE_INTEGRATION=1: %q", msg)
	}
}

func TestTarballFromEnv(t *testing.T) {
	p := writeTarball(t)
	t.Setenv("IGNITY_TARBALL", p)
	if got := Tarball(t); got != p {
		t.Errorf("Tarball = %q, want $IGNITY_TARBALL %q", got, p)
	}
	t.Setenv("IGNITY_TARBALL", p+".missing")
	if msg := failure(t, func(tb testing.TB) { Tarball(tb) }); !strings.Contains(msg, "IGNITY_TARBALL") {
		t.Errorf("a missing $IGNITY_TARBALL gave %q", msg)
	}
}

func TestModuleRootHasGoMod(t *testing.T) {
	dir, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "scripts", "mkrootfs.sh")); err != nil {
		t.Fatalf("module root %s lacks scripts/mkrootfs.sh: %v", dir, err)
	}
}

func TestStartReportsSetupFailure(t *testing.T) {
	r := bare(t)
	for _, tt := range []struct {
		name string
		o    Options
		argv []string
		want string
	}{
		{"missing argv0", Options{}, []string{"/no/such/init"}, "exec /no/such/init: no such file or directory"},
		{"not in PATH", Options{}, []string{"no-such-cmd"}, `exec "no-such-cmd": not found in PATH`},
		{"bad user", Options{User: "www-data"}, []string{"/bin/true"}, `bad user "www-data"`},
		{"relative tmpfs", Options{Tmpfs: []string{"run"}}, []string{"/bin/true"}, `tmpfs "run": path must be absolute`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := failure(t, func(tb testing.TB) { r.Start(tb, tt.o, tt.argv...) })
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("Start failed with %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestSIGKILLFromOutsideIsReported(t *testing.T) {
	r := bare(t)
	p := r.Start(t, Options{}, "/bin/sleep", "100")
	if p.Pid() <= 0 {
		t.Fatalf("Pid() = %d", p.Pid())
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res := p.Wait()
	if !res.Signaled || res.Signal != syscall.SIGKILL || res.ExitCode != 137 || res.TimedOut {
		t.Fatalf("want killed by SIGKILL (137), not a timeout, got %v", res)
	}
}
