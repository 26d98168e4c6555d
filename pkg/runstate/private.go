package runstate

// The private state directory and the rules every access to it follows.
//
// /run/ignity is often writable by other uids: 1777 under docker run
// --tmpfs, 0777 as a Kubernetes emptyDir, 0775 root:0 as older installers made it.
// So nothing of what decides a shutdown, an exit status or a restart lives
// directly there. It lives in one directory, /run/ignity/.state, that
// stage1 creates fresh at each boot (Create), owned by /init's uid and
// writable by nobody else; nothing found under that name before is kept.
// Every access opens the directory with O_NOFOLLOW and checks, through the
// descriptor, that root or the caller's own uid owns it and that neither
// its group nor others may write it; files are opened relative to it, with
// O_NOFOLLOW, and checked the same way. A name another uid made is refused
// (ErrUntrusted), never followed.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// StateDir is the private state directory, relative to the run directory.
const StateDir = ".state"

// ErrUntrusted is the cause of every refusal to use an entry that another
// uid could have made or changed.
var ErrUntrusted = errors.New("not trusted")

// The directory's entries.
const (
	fileBoot     = "boot"     // Boot, readable by every uid: pids and plain knobs
	fileSecret   = "knobs"    // mode 0600: the knobs that may hold a secret
	fileRecord   = "record"   // the reserved record (record.go), readable by every uid
	fileLock     = "lock"     // mode 0600, empty: flock'd around every change of the record
	dirRestarts  = "restarts" // one file per service: Restarts
	dirFailed    = "failed"   // one file per service failed for good: why
	filePlan     = "plan"     // JSON: services.Plan
	dirUnits     = "units"    // one file per unit: its UnitState
	createTries  = 8          // attempts to win the name .state against a racing creator
	privateFile  = 0o600
	readableFile = 0o644
	readableDir  = 0o755
)

// Create makes the private state directory afresh: whatever entry has its
// name is removed (a symlink is removed, not followed: os.RemoveAll works
// through openat), then it is made, owned by this process's uid, mode
// 0755, with its subdirectories, the lock and the reserved record, which
// holds the CMD's stop signal cmdStop (IGNITY_CMD_STOP_SIGNAL; 0 stands
// for SIGTERM) for whoever stops the CMD. stage1 calls it at each boot,
// once it has read the knobs and before anything else writes the state.
func (s State) Create(cmdStop unix.Signal) error {
	dir := s.stateDir()
	var err error
	for range createTries {
		if err = os.RemoveAll(dir); err != nil {
			return fmt.Errorf("create %s: remove the old one: %w", dir, err)
		}
		// Another uid may create the name between the removal and mkdir:
		// then mkdir fails, and the next round removes its entry.
		if err = unix.Mkdir(dir, 0o700); err == nil {
			break
		}
		if err != unix.EEXIST {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err != nil {
		return fmt.Errorf("create %s: another process keeps creating it: %w", dir, err)
	}
	d, err := s.open()
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	defer unix.Close(d)
	// mkdir's mode went through the umask; the mode is set on the
	// descriptor checked above, not on the name.
	if err := unix.Fchmod(d, readableDir); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, sub := range []string{dirRestarts, dirFailed, dirUnits} {
		if err := unix.Mkdirat(d, sub, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Join(dir, sub), err)
		}
		f, err := openIn(d, sub, unix.O_RDONLY|unix.O_DIRECTORY, 0, true)
		if err == nil {
			err = unix.Fchmod(f, readableDir)
			unix.Close(f)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", filepath.Join(dir, sub), err)
		}
	}
	if err := createFile(d, fileLock, privateFile, nil); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Join(dir, fileLock), err)
	}
	r := emptyRecord()
	r.stopsig = int(cmdStop)
	if err := createFile(d, fileRecord, readableFile, r.encode()); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Join(dir, fileRecord), err)
	}
	return nil
}

func (s State) stateDir() string { return filepath.Join(s.dir, StateDir) }

// open opens the private state directory, or fails with ErrUntrusted
// when another uid could have made or changed it.
func (s State) open() (int, error) {
	fd, err := unix.Open(s.stateDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return -1, fmt.Errorf("open %s: a symlink or not a directory: %w", s.stateDir(), ErrUntrusted)
		}
		return -1, fmt.Errorf("open %s: %w", s.stateDir(), err)
	}
	if err := Trusted(fd, s.stateDir(), true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Trusted checks the open entry fd (named path in errors): owned by root
// or by this process's effective uid, not writable by its group or
// others, and a directory (dir) or a regular file.
func Trusted(fd int, path string, dir bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	euid := os.Geteuid()
	switch typ := st.Mode & unix.S_IFMT; {
	case dir && typ != unix.S_IFDIR:
		return fmt.Errorf("check %s: not a directory: %w", path, ErrUntrusted)
	case !dir && typ != unix.S_IFREG:
		return fmt.Errorf("check %s: not a regular file: %w", path, ErrUntrusted)
	case st.Uid != 0 && int(st.Uid) != euid:
		return fmt.Errorf("check %s: owned by uid %d, want root or uid %d: %w", path, st.Uid, euid, ErrUntrusted)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("check %s: writable by its group or others (mode %#o): %w", path, st.Mode&0o7777, ErrUntrusted)
	}
	return nil
}

// openIn opens name relative to the directory d, never through a
// symlink, and checks it (Trusted) unless check is false.
func openIn(d int, name string, flags int, mode uint32, check bool) (int, error) {
	fd, err := unix.Openat(d, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		if err == unix.ELOOP {
			return -1, fmt.Errorf("open %s: a symlink: %w", name, ErrUntrusted)
		}
		return -1, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if check {
		if err := Trusted(fd, name, flags&unix.O_DIRECTORY != 0); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// createFile creates name in d, which must not exist, with mode (whatever
// the umask) and the bytes b.
func createFile(d int, name string, mode uint32, b []byte) error {
	fd, err := openIn(d, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, mode, false)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, mode); err != nil {
		return err
	}
	return writeAll(fd, b, 0)
}

func writeAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// readIn reads the file sub/name (sub "" for the directory itself) of the
// private state directory, checked, at most limit bytes.
func (s State) readIn(sub, name string, limit int) ([]byte, error) {
	d, err := s.open()
	if err != nil {
		return nil, err
	}
	defer unix.Close(d)
	if sub != "" {
		sd, err := openIn(d, sub, unix.O_RDONLY|unix.O_DIRECTORY, 0, true)
		if err != nil {
			return nil, err
		}
		defer unix.Close(sd)
		d = sd
	}
	fd, err := openIn(d, name, unix.O_RDONLY, 0, true)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), filepath.Join(s.stateDir(), sub, name))
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("read %s: longer than %d bytes", f.Name(), limit)
	}
	return b, nil
}

// replace writes b as sub/name (sub "" for the directory itself) of the
// private state directory, with mode, through a temporary file in the
// same directory and a rename: a reader never sees half a file.
func (s State) replace(sub, name string, mode uint32, b []byte) error {
	if name == "" || strings.ContainsRune(name, '/') || strings.HasPrefix(name, ".") {
		return fmt.Errorf("bad name %q", name)
	}
	d, err := s.open()
	if err != nil {
		return err
	}
	defer unix.Close(d)
	if sub != "" {
		sd, err := openIn(d, sub, unix.O_RDONLY|unix.O_DIRECTORY, 0, true)
		if err != nil {
			return err
		}
		defer unix.Close(sd)
		d = sd
	}
	tmp := "." + name + ".new"
	if err := unix.Unlinkat(d, tmp, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", tmp, err)
	}
	if err := createFile(d, tmp, mode, b); err != nil {
		unix.Unlinkat(d, tmp, 0)
		return err
	}
	if err := unix.Renameat(d, tmp, d, name); err != nil {
		unix.Unlinkat(d, tmp, 0)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

// remove removes sub/name of the private state directory, if it exists.
func (s State) remove(sub, name string) error {
	d, err := s.open()
	if err != nil {
		return err
	}
	defer unix.Close(d)
	sd, err := openIn(d, sub, unix.O_RDONLY|unix.O_DIRECTORY, 0, true)
	if err != nil {
		return err
	}
	defer unix.Close(sd)
	if err := unix.Unlinkat(sd, name, 0); err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}
