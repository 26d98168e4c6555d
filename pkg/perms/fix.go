package perms

// How a fix stays inside its rule's tree.
//
// Perms run as root over trees that other uids own (a home, a volume), and
// those uids may be running while /init walks. Everything is therefore done
// through file descriptors, never through a path the kernel would resolve
// again:
//
//   - A rule's path is resolved one component at a time from the image's
//     root with fstatat/openat(O_NOFOLLOW), holding each directory open.
//     A symlink met there is followed only when it is safe (see safeLink):
//     root owns it, and the directory holding it belongs to root and is
//     writable by no group and no other. Anything else could have been put
//     there by another uid, so the rule is refused.
//   - Below the rule's path, nothing is followed. A directory is entered
//     by openat(O_NOFOLLOW|O_DIRECTORY) from its parent's descriptor and
//     changed through its own descriptor (fchown, fchmod); any other entry
//     is changed by (parent descriptor, name) with AT_SYMLINK_NOFOLLOW, so
//     a symlink swapped in at any moment gets at most its own owner fixed.
//     A directory renamed away while it is walked is walked where it went.
//   - Directories are read in batches and nothing is remembered of an
//     entry once it is done: memory stays flat in the number of files.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/ignity/ignity/pkg/fileerr"
	"golang.org/x/sys/unix"
)

// batch is how many names are read from a directory at a time.
const batch = 256

// maxLinks bounds the symlinks followed in one rule's path, as the
// kernel's own limit (40) does for one path walk.
const maxLinks = 40

// Fixer applies rules to the tree under Root.
type Fixer struct {
	Root  string
	Users *Users // resolves account names; nil when every rule is numeric
	// DryRun reports the changes without making them.
	DryRun bool
	// Change, when set, is told each change before it is made.
	Change func(Change)
	// Warn, when set, is told each warning as "file:line: message".
	Warn func(string)

	// Chown and Chmod make the changes; nil uses the kernel. name "" means
	// the descriptor itself (a directory being walked); otherwise they act
	// on the entry name in the directory dirfd and never follow a symlink.
	Chown func(dirfd int, name string, uid, gid int) error
	Chmod func(dirfd int, name string, mode uint32) error

	// between, for tests, is called with the in-image path of an entry
	// after its directory's batch was read and before it is looked at, and
	// again once it was seen to be a directory, before it is entered.
	between func(p string, dir bool)

	trusted int // the uid besides root whose symlinks are safe: ours
	fails   Failures
}

// target is a rule whose path was resolved: the entry name in the
// directory dir (an O_PATH descriptor), reached as path in the image.
type target struct {
	rule     Rule
	uid, gid int
	dir      int
	name     string
	path     string
	isDir    bool // a directory when resolved: it may cover others' entries
	ok       bool // resolved and present; a skipped rule covers nothing
}

// Run applies rules in order, a later rule winning over an earlier one on
// the entries both cover: an entry is changed once, to what the last rule
// covering it asks, and only where it differs.
//
// An account that does not resolve is an error naming its rule, and then
// nothing is changed. A rule whose path is missing is skipped with a
// warning; a rule whose path holds an unsafe symlink is refused with a
// warning and counted as a failure. Failures to change an entry do not
// stop the run; they are returned together as *Failures.
//
// Each entry is chowned before it is chmoded, because chown(2) clears
// setuid and setgid on files; a directory is chmoded after all it holds,
// so that an unprivileged run does not lose the search bit it walks by.
func (f *Fixer) Run(rules []Rule) error {
	f.trusted = os.Geteuid()
	f.fails = Failures{}
	var errs []error
	targets := make([]target, len(rules))
	for i, r := range rules {
		uid, gid, err := f.Users.Resolve(r.Account)
		if err != nil {
			errs = append(errs, fileerr.Errorf(r.File, r.Line, "account %q: %v (create it first, or append a fallback: %q)", r.Account.String(), err, r.Account.String()+",UID:GID"))
		}
		targets[i] = target{rule: r, uid: uid, gid: gid, dir: -1}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	rootfd, err := unix.Open(f.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: f.Root, Err: err}
	}
	defer unix.Close(rootfd)
	defer func() {
		for _, t := range targets {
			if t.dir >= 0 {
				unix.Close(t.dir)
			}
		}
	}()
	// Every path first, so that a rule knows which entries later ones
	// cover; the descriptors held keep what each path resolved to.
	for i := range targets {
		f.resolve(rootfd, &targets[i])
	}
	for i := range targets {
		if targets[i].ok {
			f.fixTarget(&targets[i], coverers(targets[i], targets[i+1:]))
		}
	}
	if f.fails.Count > 0 {
		fails := f.fails
		return &fails
	}
	return nil
}

// ---- resolving a rule's path ----

// frame is one directory of the path being resolved: an O_PATH
// descriptor and the name it was reached by.
type frame struct {
	fd   int
	name string
}

// resolve walks t.rule.Path from rootfd as the kernel would inside
// chroot(root), with the unsafe-symlink rule on top, and fills t.
func (f *Fixer) resolve(rootfd int, t *target) {
	r := t.rule
	skip := func(msg string) {
		f.warn(fmt.Sprintf("%s:%d: %s: %s, skipped", r.File, r.Line, r.Path, msg))
	}
	top, err := unix.Openat(rootfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		f.fail(fileerr.Errorf(r.File, r.Line, "%s: open %s: %v", r.Path, f.Root, err))
		return
	}
	stack := []frame{{fd: top}}
	defer func() {
		for _, fr := range stack {
			unix.Close(fr.fd)
		}
	}()
	here := func() string {
		var names []string
		for _, fr := range stack[1:] {
			names = append(names, fr.name)
		}
		return "/" + strings.Join(names, "/")
	}
	rest := strings.Split(r.Path, "/")
	links := 0
	for {
		c := ""
		for len(rest) > 0 && c == "" {
			c, rest = rest[0], rest[1:]
			if c == "." {
				c = ""
			}
		}
		if c == ".." {
			if len(stack) > 1 {
				unix.Close(stack[len(stack)-1].fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := stack[len(stack)-1]
		if c == "" || !hasName(rest) {
			// The rule's own entry: never followed.
			name := c
			if name == "" {
				name = "."
			}
			var st unix.Stat_t
			if err := unix.Fstatat(cur.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if err == unix.ENOENT || err == unix.ENOTDIR {
					skip(err.Error())
					return
				}
				f.fail(fileerr.Errorf(r.File, r.Line, "%s: lstat: %v", r.Path, err))
				return
			}
			dup, err := unix.FcntlInt(uintptr(cur.fd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				f.fail(fileerr.Errorf(r.File, r.Line, "%s: %v", r.Path, err))
				return
			}
			t.dir, t.name, t.ok = dup, name, true
			t.path = path.Join(here(), c)
			t.isDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
			return
		}
		var st unix.Stat_t
		err := unix.Fstatat(cur.fd, c, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			fd, oerr := unix.Openat(cur.fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if oerr == nil {
				stack = append(stack, frame{fd: fd, name: c})
				continue
			}
			// Swapped between the two calls: look at it again.
			err = unix.Fstatat(cur.fd, c, &st, unix.AT_SYMLINK_NOFOLLOW)
		}
		switch {
		case err == unix.ENOENT:
			skip(err.Error())
			return
		case err != nil:
			f.fail(fileerr.Errorf(r.File, r.Line, "%s: lstat %s: %v", r.Path, path.Join(here(), c), err))
			return
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			// A directory again: open it on the next turn, a bounded
			// number of times, as a symlink counts.
			if links++; links > maxLinks {
				skip(unix.ELOOP.Error())
				return
			}
			rest = append([]string{c}, rest...)
			continue
		case st.Mode&unix.S_IFMT != unix.S_IFLNK:
			skip(unix.ENOTDIR.Error())
			return
		}
		link := path.Join(here(), c)
		dest, err := readlinkat(cur.fd, c)
		if err != nil {
			f.fail(fileerr.Errorf(r.File, r.Line, "%s: readlink %s: %v", r.Path, link, err))
			return
		}
		if why := f.unsafeLink(cur.fd, &st); why != "" {
			msg := fmt.Sprintf("%s: refused: %s is a symlink (to %s) %s; ignity follows a symlink in a rule's path only when root owns it and its directory, and no group or other may write that directory", r.Path, link, dest, why)
			f.warn(fmt.Sprintf("%s:%d: %s", r.File, r.Line, msg))
			f.fail(fileerr.Errorf(r.File, r.Line, "%s", msg))
			return
		}
		if links++; links > maxLinks {
			skip(unix.ELOOP.Error())
			return
		}
		if dest == "" {
			skip(unix.ENOENT.Error())
			return
		}
		if strings.HasPrefix(dest, "/") {
			for _, fr := range stack[1:] {
				unix.Close(fr.fd)
			}
			stack = stack[:1]
		}
		rest = append(strings.Split(dest, "/"), rest...)
	}
}

// unsafeLink says why the symlink lst in the directory dirfd may have been
// made or replaced by another uid, or "" when it cannot have been. The rule
// is systemd-tmpfiles' "unsafe path transition", made stricter: the link's
// owner and the directory's must be root (or the uid ignity runs as), and
// the directory must be writable by no group and no other, sticky or not
// (the group may hold other uids, as group 0 does under OpenShift).
func (f *Fixer) unsafeLink(dirfd int, lst *unix.Stat_t) string {
	var dst unix.Stat_t
	if err := unix.Fstat(dirfd, &dst); err != nil {
		return fmt.Sprintf("whose directory cannot be checked (%v)", err)
	}
	switch {
	case !f.trust(int(lst.Uid)):
		return fmt.Sprintf("owned by uid %d", lst.Uid)
	case !f.trust(int(dst.Uid)):
		return fmt.Sprintf("in a directory owned by uid %d", dst.Uid)
	case dst.Mode&0o022 != 0:
		return fmt.Sprintf("in a directory of mode %04o, which others may write", dst.Mode&0o7777)
	}
	return ""
}

func (f *Fixer) trust(uid int) bool { return uid == 0 || uid == f.trusted }

// readlinkat reads the symlink name in dirfd, whatever its length.
func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// hasName reports whether the components left still name something, so
// that "a/b/." and "a/b/" both end at b.
func hasName(rest []string) bool {
	for _, c := range rest {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}

// ---- which later rule covers an entry ----

// coverers are the later targets that may cover entries of t: those
// whose path is t's, above it or below it.
func coverers(t target, later []target) []*target {
	var out []*target
	for i := range later {
		l := &later[i]
		if l.ok && (within(l.path, t.path) || within(t.path, l.path)) {
			out = append(out, l)
		}
	}
	return out
}

// within reports whether p is top or below it.
func within(p, top string) bool {
	return p == top || top == "/" || strings.HasPrefix(p, top+"/")
}

// covers reports whether t fixes the entry p itself, and whether it fixes
// all of p's tree too.
func (t *target) covers(p string) (entry, tree bool) {
	if p == t.path {
		return true, t.rule.Recurse && t.isDir && !t.rule.SkipHidden
	}
	if !t.rule.Recurse || !t.isDir || !within(p, t.path) {
		return false, false
	}
	if t.rule.SkipHidden {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, t.path), "/")
		for _, c := range strings.Split(rel, "/") {
			if strings.HasPrefix(c, ".") {
				return false, false
			}
		}
		return true, false
	}
	return true, true
}

// ---- walking ----

// walk is the state of one rule's fix.
type walk struct {
	*target
	later []*target
}

// coveredLater reports whether a later rule fixes p, and all below it.
func (w *walk) coveredLater(p string) (entry, tree bool) {
	for _, l := range w.later {
		e, t := l.covers(p)
		entry, tree = entry || e, tree || t
	}
	return entry, tree
}

// fixTarget fixes the entry a rule resolved to, and what it holds when
// the rule recurses.
func (f *Fixer) fixTarget(t *target, later []*target) {
	w := &walk{target: t, later: later}
	if t.rule.Recurse && t.isDir {
		f.enter(w, t.dir, t.name, t.path)
		return
	}
	var st unix.Stat_t
	if err := unix.Fstatat(t.dir, t.name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		f.warn(fmt.Sprintf("%s:%d: %s is a symlink: only the link's owner is fixed, its target is left alone", t.rule.File, t.rule.Line, t.rule.Path))
	}
	if entry, _ := w.coveredLater(t.path); !entry {
		f.fixEntry(w, t.dir, t.name, t.path)
	}
}

// enter fixes the directory name in dirfd and everything below it, unless
// it is no longer a directory, in which case it fixes what is there.
func (f *Fixer) enter(w *walk, dirfd int, name, p string) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ELOOP || err == unix.ENOTDIR:
		// Replaced since it was seen: never entered, fixed as it is now.
		if entry, _ := w.coveredLater(p); !entry {
			f.fixEntry(w, dirfd, name, p)
		}
		return
	case err == unix.ENOENT:
		return
	case err != nil:
		f.fail(fmt.Errorf("open %s: %w", p, err))
		return
	}
	dir := os.NewFile(uintptr(fd), p)
	defer dir.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.fail(fmt.Errorf("stat %s: %w", p, err))
		return
	}
	entry, tree := w.coveredLater(p)
	if !entry {
		f.chown(w, fd, "", p, &st)
	}
	if !tree {
		for {
			names, err := dir.Readdirnames(batch)
			for _, n := range names {
				if w.rule.SkipHidden && strings.HasPrefix(n, ".") {
					continue
				}
				f.child(w, fd, n, path.Join(p, n))
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				f.fail(fmt.Errorf("read %s: %w", p, err))
				break
			}
		}
	}
	if !entry {
		f.chmod(w, fd, "", p, &st, false)
	}
}

// child fixes the entry name of the directory dirfd, entering it when it
// is a directory.
func (f *Fixer) child(w *walk, dirfd int, name, p string) {
	if f.between != nil {
		f.between(p, false)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err != unix.ENOENT {
			f.fail(fmt.Errorf("lstat %s: %w", p, err))
		}
		return
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if f.between != nil {
			f.between(p, true)
		}
		f.enter(w, dirfd, name, p)
		return
	}
	if entry, _ := w.coveredLater(p); !entry {
		f.fixEntry(w, dirfd, name, p)
	}
}

// fixEntry fixes the entry name of dirfd without entering it.
func (f *Fixer) fixEntry(w *walk, dirfd int, name, p string) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err != unix.ENOENT {
			f.fail(fmt.Errorf("lstat %s: %w", p, err))
		}
		return
	}
	chowned := f.chown(w, dirfd, name, p, &st)
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		f.chmod(w, dirfd, name, p, &st, chowned)
	}
}

// chown gives the entry the rule's owner when it has another, and says
// whether it did.
func (f *Fixer) chown(w *walk, dirfd int, name, p string, st *unix.Stat_t) bool {
	if int(st.Uid) == w.uid && int(st.Gid) == w.gid {
		return false
	}
	c := Change{Op: OpChown, Path: p, UID: w.uid, GID: w.gid}
	if f.Change != nil {
		f.Change(c)
	}
	if f.DryRun {
		return true
	}
	do := f.Chown
	if do == nil {
		do = chownAt
	}
	if err := do(dirfd, name, w.uid, w.gid); err != nil && err != unix.ENOENT {
		f.fail(fmt.Errorf("%s: %w", c, err))
		return false
	}
	return true
}

// chmod gives the entry the rule's mode when it has another; chowned says
// the kernel may just have cleared its setuid and setgid bits.
func (f *Fixer) chmod(w *walk, dirfd int, name, p string, st *unix.Stat_t, chowned bool) {
	want := unixMode(w.rule.FileMode)
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		want = unixMode(w.rule.DirMode)
	}
	if st.Mode&0o7777 == want && !(chowned && want&0o6000 != 0) {
		return
	}
	c := Change{Op: OpChmod, Path: p, Mode: FileMode(want)}
	if f.Change != nil {
		f.Change(c)
	}
	if f.DryRun {
		return
	}
	do := f.Chmod
	if do == nil {
		do = chmodAt
	}
	if err := do(dirfd, name, want); err != nil && err != unix.ENOENT {
		f.fail(fmt.Errorf("%s: %w", c, err))
	}
}

func (f *Fixer) warn(msg string) {
	if f.Warn != nil {
		f.Warn(msg)
	}
}

func (f *Fixer) fail(err error) { f.fails.add(err) }

// ---- the kernel calls ----

// chownAt sets owner and group of the entry name in dirfd (of dirfd
// itself for ""), never following a symlink.
func chownAt(dirfd int, name string, uid, gid int) error {
	if name == "" {
		return unix.Fchown(dirfd, uid, gid)
	}
	return unix.Fchownat(dirfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
}

// errSymlink is returned when asked to chmod a symlink.
var errSymlink = errors.New("is a symlink, not following it")

// chmodAt sets the mode of the entry name in dirfd (of dirfd itself for
// ""), and refuses a symlink. fchmodat2 (Linux 6.6) does that in one call;
// where it is missing or a seccomp profile hides it (ENOSYS, EPERM, or
// EOPNOTSUPP from x/sys), the entry is pinned with an O_PATH descriptor and
// changed through /proc/self/fd, which names that very inode; without
// /proc, a directory or a regular file is opened and changed by fchmod.
func chmodAt(dirfd int, name string, mode uint32) error {
	if name == "" {
		return unix.Fchmod(dirfd, mode)
	}
	err := unix.Fchmodat(dirfd, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	switch err {
	case nil:
		return nil
	case unix.ENOSYS, unix.EOPNOTSUPP, unix.EPERM:
	default:
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return errSymlink
	}
	err = unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
	if err != unix.ENOENT {
		return err
	}
	var flags int
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		flags = unix.O_RDONLY | unix.O_DIRECTORY
	case unix.S_IFREG:
		flags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY
	default:
		return errors.New("cannot change its mode safely without fchmodat2 or /proc")
	}
	ofd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ofd)
	var ost unix.Stat_t
	if err := unix.Fstat(ofd, &ost); err != nil {
		return err
	}
	if ost.Dev != st.Dev || ost.Ino != st.Ino {
		return errors.New("replaced while being changed")
	}
	return unix.Fchmod(ofd, mode)
}
