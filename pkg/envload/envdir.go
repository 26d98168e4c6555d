package envload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/confdir"
	"golang.org/x/sys/unix"
)

// An envdir holds one regular file per variable: the file's name is the
// variable's name, its bytes are the value, exactly (no newline is added or
// stripped, a value may hold newlines). Names starting with '.' are not
// variables: they are skipped on reading, and WriteDir uses such names for
// its temporary siblings.
//
// s6-envdir reads the same layout with -f -n, except that it unsets the
// variable of an empty file; ReadDir gives it an empty value.

// fsys holds the side effects of WriteDir that tests replace.
type fsys struct {
	// writeValue writes a variable's value into its open file.
	writeValue func(f *os.File, value string) error
	// exchange swaps two directories atomically (renameat2
	// RENAME_EXCHANGE). An error matching errors.ErrUnsupported or EINVAL
	// makes WriteDir fall back to two renames.
	exchange func(a, b string) error
}

var host = fsys{
	writeValue: func(f *os.File, value string) error {
		_, err := f.WriteString(value)
		return err
	},
	exchange: exchange,
}

// WriteDir writes env (NAME=value entries, a later duplicate winning) as
// the envdir dir: the directory mode 0700, each file mode 0600, both owned
// by the caller. An existing dir must be empty or hold only regular files
// with variable names, as WriteDir leaves it; it is replaced as a whole.
// The parent of dir must exist.
//
// The replacement is atomic: the files are written into a temporary
// sibling of dir which is then exchanged with dir (or renamed onto it), so
// a failure midway, a full disk for instance, leaves dir as it was and no
// partial envdir anywhere; the error names the variable being written and
// the cause. Nothing is fsynced: the envdir lives on a tmpfs and is rebuilt
// at every boot.
func WriteDir(dir string, env []string) error { return host.writeDir(dir, env) }

func (fs fsys) writeDir(dir string, env []string) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if base == "." || base == ".." || base == string(filepath.Separator) {
		return fmt.Errorf("write envdir %s: not a directory name", dir)
	}
	for _, kv := range env {
		if err := checkEntry(kv); err != nil {
			return fmt.Errorf("write envdir %s: %w", dir, err)
		}
	}
	exists, err := replaceable(dir)
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp(parent, "."+base+".new-")
	if err != nil {
		return fmt.Errorf("write envdir %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o700); err != nil { // MkdirTemp's 0700 went through the umask
		return fmt.Errorf("write envdir %s: %w", dir, err)
	}
	if err := fs.fill(tmp, env); err != nil {
		return fmt.Errorf("write envdir %s: %w", dir, err)
	}

	if !exists {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("write envdir %s: %w", dir, err)
		}
		return nil
	}
	old := tmp // after the exchange, tmp's name holds the old envdir
	switch xerr := fs.exchange(tmp, dir); {
	case xerr == nil:
	case errors.Is(xerr, errors.ErrUnsupported) || errors.Is(xerr, errEINVAL):
		// The filesystem cannot exchange: move the old envdir aside first,
		// leaving dir missing for an instant.
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("write envdir %s: %w", dir, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			if rerr := os.Rename(old, dir); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restore old envdir: %w", rerr))
			}
			return fmt.Errorf("write envdir %s: %w", dir, err)
		}
	default:
		return fmt.Errorf("write envdir %s: %w", dir, xerr)
	}
	if rerr := os.RemoveAll(old); rerr != nil {
		// dir is already the new envdir; only the old one lingers.
		return fmt.Errorf("write envdir %s: written, but removing the old one: %w", dir, rerr)
	}
	return nil
}

// replaceable reports whether dir exists, and fails when it holds anything
// WriteDir would not have written there.
func replaceable(dir string) (exists bool, err error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write envdir: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("write envdir %s: exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("write envdir: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || confdir.Hidden(e.Name()) {
			return false, fmt.Errorf("write envdir %s: refusing to replace it: %q is not a variable file", dir, e.Name())
		}
	}
	return true, nil
}

// fill writes one file per variable into the fresh directory tmp. The
// writes go through an os.Root so no name can reach outside tmp.
func (fs fsys) fill(tmp string, env []string) error {
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if err := fs.writeVar(root, name, value); err != nil {
			return fmt.Errorf("variable %s: %w", name, err)
		}
	}
	return nil
}

func (fs fsys) writeVar(root *os.Root, name, value string) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600) // the umask may have narrowed the mode
	if err == nil {
		err = fs.writeValue(f, value)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ErrUntrusted is the cause of ReadDir's refusal of an envdir that
// another uid could have made or changed.
var ErrUntrusted = errors.New("not trusted")

// ReadDir reads the envdir dir: NAME=value for every regular file whose
// name does not start with '.', with the file's exact bytes as the value,
// sorted by name. Other entries (directories, symlinks) are skipped. A file
// name holding '=' is an error: it cannot be a variable's name. Files are
// opened relative to dir's descriptor, so a concurrent WriteDir swapping
// dir cannot mix two envdirs.
//
// dir itself is opened without following a symlink, and refused
// (ErrUntrusted) unless root or this process's uid owns it and neither
// its group nor others may write it: /run/ignity may be writable by
// other uids, and the environment decides what root's scripts run
// (PATH). WriteDir makes a dir that passes.
func ReadDir(dir string) ([]string, error) {
	d, err := openTrusted(dir)
	if err != nil {
		return nil, fmt.Errorf("read envdir: %w", err)
	}
	defer d.Close()
	// The files are read through an os.Root (no name escapes it), opened
	// by name: sameDir checks that the name still leads to d.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read envdir: %w", err)
	}
	defer root.Close()
	if err := sameDir(d, root); err != nil {
		return nil, fmt.Errorf("read envdir %s: %w", dir, err)
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("read envdir: %w", err)
	}
	entries = confdir.Visible(entries)
	env := make([]string, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if strings.Contains(name, "=") {
			return nil, fmt.Errorf("read envdir %s: file %q: a variable name cannot hold '='", dir, name)
		}
		value, err := root.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read envdir %s: variable %s: %w", dir, name, err)
		}
		env = append(env, name+"="+string(value))
	}
	return env, nil
}

// openTrusted opens the directory dir, not through a symlink, and checks
// its owner and mode (see ReadDir).
func openTrusted(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return nil, fmt.Errorf("%s: a symlink or not a directory: %w", dir, ErrUntrusted)
		}
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	euid := os.Geteuid()
	switch {
	case st.Uid != 0 && int(st.Uid) != euid:
		err = fmt.Errorf("%s: owned by uid %d, want root or uid %d: %w", dir, st.Uid, euid, ErrUntrusted)
	case st.Mode&0o022 != 0:
		err = fmt.Errorf("%s: writable by its group or others (mode %#o): %w", dir, st.Mode&0o7777, ErrUntrusted)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// sameDir checks that root is the directory d: the name was not swapped
// between the check of d and the opening of root.
func sameDir(d *os.File, root *os.Root) error {
	a, err := d.Stat()
	if err != nil {
		return err
	}
	r, err := root.Open(".")
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := r.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(a, b) {
		return fmt.Errorf("replaced while being read: %w", ErrUntrusted)
	}
	return nil
}
