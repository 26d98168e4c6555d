package perms

import (
	"errors"
	"github.com/ignity/ignity/pkg/imagepath"
	"io/fs"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// hostFile finds where the in-image file p lives on the host, following
// symlinks inside root (an image's /etc/passwd may be one). exists is false
// when there is no such file, and host is then where it would be created.
// A symlink whose target is missing is an error rather than "missing": the
// host kernel would follow it out of root on open.
func hostFile(root, p string) (host string, exists bool, err error) {
	dir, err := imagepath.Resolve(root, path.Dir(p), true)
	if errors.Is(err, fs.ErrNotExist) {
		return filepath.Join(root, p), false, nil
	}
	if err != nil {
		return "", false, err
	}
	lexical := path.Join(dir, path.Base(p))
	resolved, err := imagepath.Resolve(root, lexical, true)
	if errors.Is(err, fs.ErrNotExist) {
		var st unix.Stat_t
		if unix.Lstat(filepath.Join(root, lexical), &st) == nil {
			return "", false, &fs.PathError{Op: "open", Path: lexical, Err: errors.New("dangling symlink")}
		}
		return filepath.Join(root, lexical), false, nil
	}
	if err != nil {
		return "", false, err
	}
	return filepath.Join(root, resolved), true, nil
}
