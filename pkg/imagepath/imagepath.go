// Package imagepath resolves paths inside an image's root directory the
// way the kernel would after chroot into it: symlinks are followed, an
// absolute target starts again at the root and ".." never climbs above it,
// so no answer names anything outside the root. check (which looks at the
// image as the container will see it) and perms' account files walk paths
// this way. It follows every symlink and answers with a path the kernel
// will resolve again: fit for reading a tree nobody else changes, never for
// changing one another uid owns (perms' rules are applied through file
// descriptors instead).
package imagepath

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxLinks bounds the symlinks followed while resolving one path, like the
// kernel's own limit (40) for a single path walk.
const MaxLinks = 40

// Resolve resolves p, an absolute path inside the image whose top is the
// host directory root, to a clean in-image path whose directory part holds
// no symlink. It walks the way the kernel would inside chroot(root):
// an absolute symlink target starts again at root, and ".." never climbs
// above it, so no answer names anything outside root. The last component is
// followed only when followLast is set; otherwise it may itself be a symlink
// and is returned as is, unchecked.
//
// Errors are *fs.PathError naming an in-image path, so fs.ErrNotExist and
// unix.ENOTDIR can be tested with errors.Is. The answer is only as good as
// the tree stays unchanged after the call: ignity calls this at boot or at
// image build, before anything else runs.
func Resolve(root, p string, followLast bool) (string, error) {
	return (&Resolver{Root: root}).Resolve(p, followLast)
}

// A Resolver resolves paths inside Root as Resolve does, and remembers the
// directories it walked through, so that many paths under the same
// directories (a check of a hundred service dirs) cost one lstat for each
// new component instead of one for each component. Use one only while the
// tree does not change.
type Resolver struct {
	Root string
	dirs map[string]bool // in-image paths known to be directories, not symlinks
}

// NewResolver returns a Resolver for the image at root.
func NewResolver(root string) *Resolver {
	return &Resolver{Root: root, dirs: map[string]bool{}}
}

// Resolve is the package's Resolve, inside r.Root.
func (r *Resolver) Resolve(p string, followLast bool) (string, error) {
	root := r.Root
	rest := strings.Split(p, "/")
	cur := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		last := !hasName(rest)
		if last && !followLast {
			cur = next
			break
		}
		if r.dirs[next] {
			cur = next
			continue
		}
		host := filepath.Join(root, next)
		var st unix.Stat_t
		if err := unix.Lstat(host, &st); err != nil {
			return "", &fs.PathError{Op: "lstat", Path: next, Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			links++
			if links > MaxLinks {
				return "", &fs.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
			}
			target, err := os.Readlink(host)
			if err != nil {
				return "", &fs.PathError{Op: "readlink", Path: next, Err: errors.Unwrap(err)}
			}
			if target == "" {
				return "", &fs.PathError{Op: "readlink", Path: next, Err: unix.ENOENT}
			}
			if path.IsAbs(target) {
				cur = "/"
			}
			rest = append(strings.Split(target, "/"), rest...)
		case unix.S_IFDIR:
			cur = next
			if r.dirs != nil {
				r.dirs[next] = true
			}
		default:
			if !last {
				return "", &fs.PathError{Op: "lstat", Path: next, Err: unix.ENOTDIR}
			}
			cur = next
		}
	}
	return cur, nil
}

// hasName reports whether the components left still name something, so that
// "a/b/." and "a/b/" both end at b.
func hasName(rest []string) bool {
	for _, c := range rest {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}
