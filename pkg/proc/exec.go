package proc

// Looking a program up and exec'ing it, as a shell and execvp do: the one
// place ignity maps a program that cannot run to 127 (not found) or 126
// (found, but cannot be executed), with a message that says which.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultPath is where a program is looked up when the environment has no
// PATH, as execvp does with the C library's default search path.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecError is a program that could not be run: Code is 127 when it was
// not found, 126 when it was found but cannot be executed.
type ExecError struct {
	Name string // the program as it was given
	Code int
	Why  string // what a user reads after "NAME: "
	Err  error  // the system call's error, when one failed
}

func (e *ExecError) Error() string { return e.Name + ": " + e.Why }
func (e *ExecError) Unwrap() error { return e.Err }

// PathOf is the PATH of env (the last one wins), DefaultPath when unset.
func PathOf(env []string) string {
	path, set := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, set = v, true
		}
	}
	if !set {
		return DefaultPath
	}
	return path
}

// Lookup finds name as a shell does: a name with a slash is taken as it
// is; any other is searched in path, where the first executable regular
// file wins. A file found but not executable (no x bit for us, a
// directory) is 126; nothing found is 127. An empty entry of path is the
// current directory.
func Lookup(name, path string) (string, error) {
	if name == "" {
		return "", &ExecError{Name: name, Code: 127, Why: "not found (an empty program name)"}
	}
	if strings.Contains(name, "/") {
		return name, executable(name, name)
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := executable(name, p)
		if err == nil {
			return p, nil
		}
		var e *ExecError
		if errors.As(err, &e) && e.Code == 126 && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &ExecError{Name: name, Code: 127, Why: "not found in PATH=" + path}
}

// executable checks that p (found for name) is a regular file we may
// execute.
func executable(name, p string) error {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR):
		return &ExecError{Name: name, Code: 127, Why: "not found", Err: err}
	case err != nil:
		return &ExecError{Name: name, Code: 126, Why: fmt.Sprintf("cannot be executed: %v", unwrapPath(err)), Err: err}
	case st.IsDir():
		return &ExecError{Name: name, Code: 126, Why: "is a directory, not a program", Err: unix.EISDIR}
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		why := "permission denied: not executable (chmod +x it)"
		if st.Mode()&0o111 != 0 {
			why = fmt.Sprintf("permission denied: not executable by uid %d (mode %v, or a noexec mount)", os.Getuid(), st.Mode().Perm())
		}
		return &ExecError{Name: name, Code: 126, Why: why, Err: err}
	}
	return nil
}

// Exec replaces this process with argv[0], looked up in env's PATH, with
// env. A file the kernel cannot execute because it has no #! line and is
// no binary (ENOEXEC) runs with /bin/sh, as execvp does. It returns only
// on failure, with an *ExecError. exec is unix.Exec, or a test's.
func Exec(argv, env []string, exec func(path string, argv, env []string) error) error {
	if len(argv) == 0 {
		return &ExecError{Code: 127, Why: "not found (no program given)"}
	}
	path, err := Lookup(argv[0], PathOf(env))
	if err != nil {
		return err
	}
	err = exec(path, argv, env)
	if errors.Is(err, unix.ENOEXEC) {
		err = exec("/bin/sh", append([]string{"sh", path}, argv[1:]...), env)
		if err != nil {
			return &ExecError{Name: argv[0], Code: 126, Why: fmt.Sprintf("not a binary and has no #! line, and /bin/sh cannot run it: %v", err), Err: err}
		}
	}
	return execFailed(argv[0], path, err)
}

// execFailed explains a failed execve of path.
func execFailed(name, path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		// The file was there a moment ago: the loader or the #! interpreter
		// is missing.
		if interp := interpreter(path); interp != "" {
			return &ExecError{Name: name, Code: 127, Why: fmt.Sprintf("its interpreter %s (the #! line) is not found", interp), Err: err}
		}
		return &ExecError{Name: name, Code: 127, Why: "not found (or its dynamic loader is missing)", Err: err}
	case errors.Is(err, unix.EACCES):
		return &ExecError{Name: name, Code: 126, Why: "permission denied: not executable (chmod +x it, or a noexec mount)", Err: err}
	}
	return &ExecError{Name: name, Code: 126, Why: fmt.Sprintf("cannot be executed: %v", err), Err: err}
}

// interpreter is the program of path's #! line, or "".
func interpreter(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 256)
	n, _ := f.Read(b)
	line, ok := bytes.CutPrefix(b[:n], []byte("#!"))
	if !ok {
		return ""
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if f := strings.Fields(string(line)); len(f) > 0 {
		return f[0]
	}
	return ""
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
