package perms

import (
	"errors"
	"fmt"
	"github.com/ignity/ignity/pkg/imagepath"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Op is the kind of a Change.
type Op int

const (
	// OpChown sets owner and group, on a symlink itself (lchown).
	OpChown Op = iota + 1
	// OpChmod sets the mode bits, setuid/setgid/sticky included. Plan never
	// lists it for a symlink.
	OpChmod
)

// Change is one step of a plan. Path is the in-image path, with no symlink in
// its directory part; Apply joins it to root.
type Change struct {
	Op   Op
	Path string
	UID  int         // OpChown
	GID  int         // OpChown
	Mode os.FileMode // OpChmod
}

// String prints the change as the shell command doing the same, so logs and
// tests read alike: "chown -h 1000:1000 /srv/x", "chmod 0640 /srv/x/a".
func (c Change) String() string {
	switch c.Op {
	case OpChown:
		return fmt.Sprintf("chown -h %d:%d %s", c.UID, c.GID, shellQuote(c.Path))
	case OpChmod:
		return fmt.Sprintf("chmod %04o %s", unixMode(c.Mode), shellQuote(c.Path))
	}
	return fmt.Sprintf("unknown op %d %s", int(c.Op), shellQuote(c.Path))
}

// shellQuote single-quotes s when a shell would split or expand it.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,@%=", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// want is what the rules ask of one path, next to what it is now.
type want struct {
	path     string
	st       unix.Stat_t
	uid, gid int
	mode     uint32 // Unix bits; unused for symlinks
}

func (w *want) kind() uint32 { return w.st.Mode & unix.S_IFMT }

// Plan lists the changes that bring the tree under root in line with rules,
// and only those: a path already right is not touched. rules apply in order,
// a later rule overriding an earlier one on the paths both cover.
//
// A rule's path whose parent symlinks lead nowhere inside root, or which does
// not exist, is skipped with a warning naming the rule. A rule whose path is
// a symlink re-owns the link only. Recursion never follows symlinks. An
// account that does not resolve is an error naming the rule; Plan then
// returns no changes, and every such rule in the error.
//
// Order matters to the kernel and so to the plan: every chown comes first,
// because chown(2) clears setuid and setgid on files (a chown of such a file
// is therefore followed by its chmod even if the mode looked right); then
// the chmods of non-directories; then those of directories, deepest first,
// so that a directory losing its search bit cannot hide its children from an
// unprivileged run.
func Plan(root string, rules []Rule, users *Users) (changes []Change, warnings []string, err error) {
	wants := map[string]*want{}
	var order []string
	var errs []error
	visit := func(r Rule, img string, st *unix.Stat_t, uid, gid int) {
		w, ok := wants[img]
		if !ok {
			w = &want{path: img, st: *st}
			wants[img] = w
			order = append(order, img)
		}
		w.uid, w.gid = uid, gid
		switch w.kind() {
		case unix.S_IFDIR:
			w.mode = unixMode(r.DirMode)
		case unix.S_IFLNK:
		default:
			w.mode = unixMode(r.FileMode)
		}
	}

	for _, r := range rules {
		uid, gid, err := users.Resolve(r.Account)
		if err != nil {
			errs = append(errs, &LineError{File: r.File, Line: r.Line, Msg: fmt.Sprintf("account %q: %v (create it first, or append a fallback: %q)", r.Account.String(), err, r.Account.String()+",UID:GID")})
			continue
		}
		img, st, err := lstatIn(root, r.Path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)) {
				warnings = append(warnings, fmt.Sprintf("%s:%d: %s: %v, skipped", r.File, r.Line, r.Path, pe.Err))
				continue
			}
			errs = append(errs, &LineError{File: r.File, Line: r.Line, Msg: err.Error()})
			continue
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			warnings = append(warnings, fmt.Sprintf("%s:%d: %s is a symlink: only the link's owner is fixed, its target is left alone", r.File, r.Line, r.Path))
			visit(r, img, st, uid, gid)
		case st.Mode&unix.S_IFMT == unix.S_IFDIR && r.Recurse:
			for _, err := range walk(root, img, r.SkipHidden, func(p string, st *unix.Stat_t) { visit(r, p, st, uid, gid) }) {
				errs = append(errs, &LineError{File: r.File, Line: r.Line, Msg: err.Error()})
			}
		default:
			visit(r, img, st, uid, gid)
		}
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}

	var chowns, fileModes, dirModes []Change
	for _, p := range order {
		w := wants[p]
		chown := int(w.st.Uid) != w.uid || int(w.st.Gid) != w.gid
		if chown {
			chowns = append(chowns, Change{Op: OpChown, Path: p, UID: w.uid, GID: w.gid})
		}
		switch w.kind() {
		case unix.S_IFLNK:
		case unix.S_IFDIR:
			if w.st.Mode&0o7777 != w.mode {
				dirModes = append(dirModes, Change{Op: OpChmod, Path: p, Mode: fileMode(w.mode)})
			}
		default:
			cleared := chown && w.mode&0o6000 != 0
			if w.st.Mode&0o7777 != w.mode || cleared {
				fileModes = append(fileModes, Change{Op: OpChmod, Path: p, Mode: fileMode(w.mode)})
			}
		}
	}
	sort.SliceStable(dirModes, func(i, j int) bool {
		return depth(dirModes[i].Path) > depth(dirModes[j].Path)
	})
	changes = append(chowns, fileModes...)
	changes = append(changes, dirModes...)
	return changes, warnings, nil
}

// depth counts the components of a clean absolute path: 0 for "/".
func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// lstatIn resolves the rule path p under root without following its last
// component, and lstats it.
func lstatIn(root, p string) (string, *unix.Stat_t, error) {
	img, err := imagepath.Resolve(root, p, false)
	if err != nil {
		return "", nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, img), &st); err != nil {
		return "", nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	return img, &st, nil
}

// walk calls fn for the directory img (in-image, under root) and everything
// below it, parents before children, in name order. It never follows a
// symlink: entries are lstat'ed, and only real directories are entered.
// Entries vanishing meanwhile are ignored; other failures are returned.
// With skipHidden, entries below img whose name starts with "." are left
// out, directories with all they hold (s6-overlay's fix-attrs.d default).
func walk(root, img string, skipHidden bool, fn func(img string, st *unix.Stat_t)) []error {
	var errs []error
	top := filepath.Join(root, img)
	_ = filepath.WalkDir(top, func(host string, d fs.DirEntry, err error) error {
		rel, rerr := filepath.Rel(top, host)
		if rerr != nil {
			errs = append(errs, rerr)
			return nil
		}
		p := path.Join(img, filepath.ToSlash(rel))
		if skipHidden && d != nil && rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("walk %s: %w", p, errors.Unwrap(err)))
			}
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(host, &st); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, &fs.PathError{Op: "lstat", Path: p, Err: err})
			}
			return nil
		}
		fn(p, &st)
		return nil
	})
	return errs
}

// Ops performs the side effects of Apply. A nil field uses the default,
// which calls the kernel; tests put recorders in.
type Ops struct {
	// Lchown sets owner and group of path, not following a final symlink.
	Lchown func(path string, uid, gid int) error
	// Chmod sets the mode of path and must refuse a final symlink.
	Chmod func(path string, mode os.FileMode) error
}

// Apply performs changes on the tree under root with the default Ops.
func Apply(root string, changes []Change) error {
	return Ops{}.Apply(root, changes)
}

// Apply performs changes in order on the tree under root. It does not stop
// at a failure: it tries every change and returns all failures joined, each
// naming its change.
func (o Ops) Apply(root string, changes []Change) error {
	lchown, chmod := o.Lchown, o.Chmod
	if lchown == nil {
		lchown = unix.Lchown
	}
	if chmod == nil {
		chmod = chmodNoFollow
	}
	var errs []error
	for _, c := range changes {
		host := filepath.Join(root, c.Path)
		var err error
		switch c.Op {
		case OpChown:
			err = lchown(host, c.UID, c.GID)
		case OpChmod:
			err = chmod(host, c.Mode)
		default:
			err = errors.New("unknown operation")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// errSymlink is returned when asked to chmod a symlink.
var errSymlink = errors.New("is a symlink, not following it")

// chmodNoFollow changes the mode of path unless it is a symlink. Linux
// has no chmod that refuses a symlink before fchmodat2 (6.6), and a seccomp
// profile may hide that call (EPERM or ENOSYS), so the fallback lstats
// first; the window between the two calls is harmless at boot, when nothing
// else runs.
func chmodNoFollow(path string, mode os.FileMode) error {
	m := unixMode(mode)
	err := unix.Fchmodat(unix.AT_FDCWD, path, m, unix.AT_SYMLINK_NOFOLLOW)
	switch err {
	case nil:
		return nil
	case unix.ENOSYS, unix.EOPNOTSUPP, unix.EPERM:
	default:
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return errSymlink
	}
	return unix.Fchmodat(unix.AT_FDCWD, path, m, 0)
}
