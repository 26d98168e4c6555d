package check

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/imagepath"
	"golang.org/x/sys/unix"
)

// image reads the tree under root as the container will see it: every
// path is a path inside the image, and symlinks resolve as under
// chroot(root).
type image struct {
	root string
	res  *imagepath.Resolver // nil: resolve without remembering
}

// host is where the in-image path p lives on this machine.
func (im image) host(p string) string { return filepath.Join(im.root, p) }

// inImage turns a host path under root back into the image's path; other
// paths are returned as they are.
func (im image) inImage(host string) string {
	rel, err := filepath.Rel(im.root, host)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return host
	}
	return path.Join("/", filepath.ToSlash(rel))
}

// resolve follows p, an absolute path inside the image, to the clean path
// it names (see imagepath.Resolve).
func (im image) resolve(p string, followLast bool) (string, error) {
	if im.res != nil {
		return im.res.Resolve(p, followLast)
	}
	return imagepath.Resolve(im.root, p, followLast)
}

// entry is what an in-image path is, looked at the way exec and open will.
type entry struct {
	path     string      // the in-image path asked about, unresolved
	link     string      // its symlink target when it is one, else ""
	resolved string      // where it leads, "" when it leads nowhere
	info     fs.FileInfo // of resolved; nil when it leads nowhere
}

// look describes p. exists is false when p itself is missing (no error:
// the caller decides whether that matters). A symlink leading nowhere
// exists, with an empty resolved; so does a path that cannot be walked
// for another reason, with err set.
func (im image) look(p string) (e entry, exists bool, err error) {
	e.path = p
	lex, err := im.resolve(p, false)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return e, false, nil
	}
	if err != nil {
		return e, true, err
	}
	fi, err := os.Lstat(im.host(lex))
	if errors.Is(err, fs.ErrNotExist) {
		return e, false, nil
	}
	if err != nil {
		return e, true, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if e.link, err = os.Readlink(im.host(lex)); err != nil {
			return e, true, err
		}
	}
	res, err := im.resolve(lex, true)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return e, true, nil // dangling
	}
	if err != nil {
		return e, true, err
	}
	if e.info, err = os.Stat(im.host(res)); err != nil {
		return e, true, err
	}
	e.resolved = res
	return e, true, nil
}

// names lists the entries of the in-image directory dir in name order,
// without the dot files that ignity skips everywhere. A missing dir has
// none.
func (im image) names(dir string) ([]string, error) {
	res, err := im.resolve(dir, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names, err := confdir.Names(im.host(res))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: dir, Err: errors.Unwrap(err)}
	}
	return names, nil
}

// open opens the in-image file p, following symlinks inside the image.
func (im image) open(p string) (*os.File, error) {
	res, err := im.resolve(p, true)
	if err != nil {
		return nil, err
	}
	return os.Open(im.host(res))
}
