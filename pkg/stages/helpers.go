package stages

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"golang.org/x/sys/unix"
)

// imageConfig is the configuration as the image defines it: the current
// environment over the env files, as at boot.
func imageConfig(l layout.Layout) (config.Config, error) {
	vars, err := envload.LoadDir(l.EtcEnvs())
	if err != nil {
		return config.Config{}, err
	}
	return config.Parse(envload.Merge(vars, os.Environ()))
}

// PrebootCmd is the preboot helper: RUN preboot in a Dockerfile creates
// the user and applies the perms at build time.
func PrebootCmd(l layout.Layout) error {
	cfg, err := imageConfig(l)
	if err != nil {
		return err
	}
	return Preboot(l, cfg, newLogger(cfg.Verbosity))
}

// FixPermsCmd is the fix-perms helper: it applies perms lines from r.
func FixPermsCmd(l layout.Layout, r io.Reader) error {
	cfg, err := imageConfig(l)
	if err != nil {
		return err
	}
	return FixPerms(l, cfg, r, newLogger(cfg.Verbosity))
}

// WithEnv is the with-env helper: it execs argv with the merged
// environment of /run/ignity/envs. Where the envdir does not exist (at
// image build time) argv gets the current environment.
func WithEnv(l layout.Layout, argv []string) error {
	vars, err := envload.ReadDir(l.RunEnvs())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("read %s as uid %d: %w (it is readable only by the container's user: call with-env before s6-setuidgid)", l.RunEnvs(), os.Getuid(), err)
	case err != nil:
		return err
	}
	return Exec(argv, childEnv(envload.Apply(os.Environ(), vars)))
}

// LoadEnvfile is the load-envfile helper: it execs argv with the dotenv
// text of r applied to the current environment.
func LoadEnvfile(r io.Reader, argv []string) error {
	vars, err := envload.Parse("stdin", r)
	if err != nil {
		return err
	}
	env := make([]string, 0, len(vars))
	for _, v := range vars {
		env = append(env, v.Name+"="+v.Value)
	}
	return Exec(argv, envload.Apply(os.Environ(), env))
}

// Exec replaces this process with argv[0], looked up in env's PATH.
func Exec(argv, env []string) error {
	if len(argv) == 0 {
		return errors.New("no program given")
	}
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			os.Setenv("PATH", kv[5:])
		}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return &ExecError{Name: argv[0], Err: err, Code: 127}
	}
	err = unix.Exec(path, argv, env)
	code := 126
	if errors.Is(err, unix.ENOENT) {
		code = 127
	}
	return &ExecError{Name: argv[0], Err: err, Code: code}
}

// ExecError is a failed exec, with the shell's exit code for it.
type ExecError struct {
	Name string
	Err  error
	Code int
}

func (e *ExecError) Error() string { return fmt.Sprintf("exec %s: %v", e.Name, e.Err) }
func (e *ExecError) Unwrap() error { return e.Err }
