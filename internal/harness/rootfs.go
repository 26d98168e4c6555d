package harness

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Root is a throw-away root filesystem on the host.
type Root struct {
	// Dir is the host directory that becomes "/" when booted.
	Dir string
}

// cacheDir is where built base root filesystems are kept across runs.
func cacheDir() (string, error) {
	if d := os.Getenv("IGNITY_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "ignity"), nil
}

// BaseDir returns the cached base root filesystem of kind b, building it with
// scripts/mkrootfs.sh on first use under <cache>/rootfs/<kind>. The tree is
// shared by every test binary: treat it as read-only (NewRoot layers a
// writable copy over it). A base is rebuilt when mkrootfs.sh changes.
func BaseDir(t testing.TB, b Base) string {
	t.Helper()
	if b != Busybox && b != Debian && b != BusyboxArm64 {
		t.Fatalf("harness: unknown base %q", b)
	}
	mod, err := ModuleRoot()
	if err != nil {
		t.Fatalf("find module root: %v", err)
	}
	script := filepath.Join(mod, "scripts", "mkrootfs.sh")
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatalf("read base builder: %v", err)
	}
	sum := sha256.Sum256(src)
	stamp := hex.EncodeToString(sum[:])

	cache, err := cacheDir()
	if err != nil {
		skip(t, "no cache directory for base root filesystems (set IGNITY_CACHE): %v", err)
		return ""
	}
	top := filepath.Join(cache, "rootfs")
	if err := os.MkdirAll(top, 0o755); err != nil {
		t.Fatalf("create rootfs cache: %v", err)
	}
	dir := filepath.Join(top, string(b))
	stampFile := dir + ".stamp"

	// Parallel test binaries (go test ./...) share the cache: one builds,
	// the others block on the lock and then find the finished tree.
	lock, err := os.OpenFile(dir+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("open rootfs lock: %v", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	if got, err := os.ReadFile(stampFile); err == nil && string(got) == stamp {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	retireBase(t, top, b)
	tmp, err := os.MkdirTemp(top, "."+string(b)+".build-")
	if err != nil {
		t.Fatalf("create build dir: %v", err)
	}
	build := filepath.Join(tmp, "root")
	start := time.Now()
	out, err := exec.Command("/bin/sh", script, string(b), build).CombinedOutput()
	if err != nil {
		// A failed debootstrap may leave /proc or /sys mounted in the tree.
		unmountUnder(tmp)
		os.RemoveAll(tmp)
		t.Fatalf("build %s base: %s %s %s: %v\n%s", b, script, b, build, err, out)
	}
	if err := os.Rename(build, dir); err != nil {
		t.Fatalf("install %s base: %v", b, err)
	}
	os.RemoveAll(tmp)
	if err := os.WriteFile(stampFile, []byte(stamp), 0o644); err != nil {
		t.Fatalf("write %s: %v", stampFile, err)
	}
	t.Logf("built %s base root filesystem in %v: %s", b, time.Since(start).Round(time.Millisecond), dir)
	return dir
}

// retireBase moves an outdated base out of the way and removes leftovers.
// Running tests of other binaries may still have the old tree as an overlay's
// lower layer, which must not change under them: it is renamed now and
// deleted by a rebuild at least an hour later.
func retireBase(t testing.TB, top string, b Base) {
	t.Helper()
	dir := filepath.Join(top, string(b))
	if _, err := os.Lstat(dir); err == nil {
		old := filepath.Join(top, fmt.Sprintf(".%s.old-%d", b, time.Now().Unix()))
		if err := os.Rename(dir, old); err != nil {
			t.Fatalf("retire outdated base: %v", err)
		}
	}
	olds, _ := filepath.Glob(filepath.Join(top, "."+string(b)+".old-*"))
	for _, d := range olds {
		var sec int64
		_, err := fmt.Sscanf(filepath.Base(d), "."+string(b)+".old-%d", &sec)
		if err == nil && time.Since(time.Unix(sec, 0)) > time.Hour {
			os.RemoveAll(d)
		}
	}
	// Build directories are only created under the lock: any left are from
	// an interrupted build.
	builds, _ := filepath.Glob(filepath.Join(top, "."+string(b)+".build-*"))
	for _, d := range builds {
		unmountUnder(d)
		os.RemoveAll(d)
	}
}

// NewRoot returns a fresh copy of base b in a test temporary directory with
// the release tarball extracted into it by GNU tar; tarball "" means none
// (the bare base). Everything is removed when the test ends.
func NewRoot(t testing.TB, b Base, tarball string) *Root {
	t.Helper()
	return newRoot(t, b, tarball, false)
}

// newRoot is NewRoot; forceCopy skips the overlay and copies the base.
func newRoot(t testing.TB, b Base, tarball string, forceCopy bool) *Root {
	t.Helper()
	base := BaseDir(t, b)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Runs before t.TempDir's removal (cleanups run last-in first-out).
	t.Cleanup(func() { unmountUnder(dir) })
	// Tests modify files in place, so the base is never shared writable
	// (no hard links). An overlay copies up only what a test changes; a
	// full copy of the Debian base takes seconds, the overlay a millisecond.
	// Where overlayfs is unavailable (e.g. /tmp itself on an overlay) the
	// tree is copied.
	if forceCopy || mountOverlay(base, tmp, dir) != nil {
		if out, err := exec.Command("cp", "-a", "--reflink=auto", base+"/.", dir).CombinedOutput(); err != nil {
			t.Fatalf("copy base %s: %v\n%s", base, err, out)
		}
	}
	// "/" must be searchable by the unprivileged users tests run as.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if tarball != "" {
		if out, err := exec.Command("tar", "-xzf", tarball, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("extract %s into root: %v\n%s", tarball, err, out)
		}
	}
	return &Root{Dir: dir}
}

// mountOverlay mounts base, read-only, under a writable layer kept in tmp at
// dir. The mount is in the host's namespace: NewRoot's cleanup detaches it.
func mountOverlay(base, tmp, dir string) error {
	upper, work := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	// Commas and colons separate overlay options and layers.
	if strings.ContainsAny(base+upper+work, ",:") {
		return fmt.Errorf("overlay: a path contains a comma or colon: %s %s", base, tmp)
	}
	opts := "lowerdir=" + base + ",upperdir=" + upper + ",workdir=" + work
	return unix.Mount("overlay", dir, "overlay", 0, opts)
}

// Path returns the host path of p, a path inside the root. Symbolic links in
// the directories leading to p resolve inside the root (an absolute link
// target means the root's "/"), so the result never escapes Dir; the last
// element is not resolved, so Lstat sees a link as a link.
func (r *Root) Path(p string) string {
	dir, name := filepath.Split(filepath.Clean("/" + p))
	return filepath.Join(r.resolve(dir), name)
}

// resolve follows every symbolic link in p (a path inside the root) the way
// the kernel would after chroot, and returns the host path.
func (r *Root) resolve(p string) string {
	var done []string // resolved components inside the root
	todo := strings.Split(p, "/")
	for links := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		host := filepath.Join(append([]string{r.Dir}, append(done, c)...)...)
		target, err := os.Readlink(host)
		if err != nil || links >= 255 {
			// Not a link (or missing, or a loop): take it literally.
			done = append(done, c)
			continue
		}
		links++
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(append([]string{r.Dir}, done...)...)
}

// WriteFile writes content to path inside the root with exactly mode,
// creating missing parent directories 0755. An existing symbolic link at path
// is replaced, not followed.
func (r *Root) WriteFile(t testing.TB, path string, mode os.FileMode, content string) {
	t.Helper()
	host := r.Path(path)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if fi, err := os.Lstat(host); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if err := os.Remove(host); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	if err := os.WriteFile(host, []byte(content), mode.Perm()); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	// Chmod applies the bits the umask removed, and setuid/sticky bits.
	if err := os.Chmod(host, mode); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// unmountUnder detaches every mount of the host's namespace at or below dir,
// deepest first. Boots mount only inside their own namespace; this catches
// what a crashed builder or a test's own mounts left behind.
func unmountUnder(dir string) {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		unix.Unmount(mounts[i], unix.MNT_DETACH)
	}
}

// mountsUnder lists mount points at or below dir in mount order.
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &v); err == nil {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
