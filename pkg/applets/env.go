package applets

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
)

// WithEnv is with-env: it execs argv with the merged environment of
// /run/ignity/envs. Where the envdir does not exist (at image build time)
// argv gets the current environment.
func WithEnv(l layout.Layout, argv []string) error {
	vars, err := envload.ReadDir(l.RunEnvs())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("read %s as uid %d: %w (it is readable only by the container's user: call with-env before s6-setuidgid)", l.RunEnvs(), os.Getuid(), err)
	case err != nil:
		return err
	}
	return Exec(argv, layout.ChildEnv(envload.Apply(os.Environ(), vars)))
}

// LoadEnvfile is load-envfile: it execs argv with the dotenv text of r
// applied to the current environment.
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
