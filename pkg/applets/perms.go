package applets

import (
	"io"
	"os"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/perms"
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

// PrebootCmd is preboot: RUN preboot in a Dockerfile creates the user and
// applies the perms at build time.
func PrebootCmd(l layout.Layout, args []string) error {
	if len(args) > 0 {
		return UsageError("preboot takes no arguments")
	}
	cfg, err := imageConfig(l)
	if err != nil {
		return err
	}
	return perms.Preboot(l, cfg, console.New(cfg.Verbosity))
}

// FixPermsCmd is fix-perms: it applies the perms lines of r.
func FixPermsCmd(l layout.Layout, args []string, r io.Reader) error {
	if len(args) > 0 {
		return UsageError("fix-perms takes no arguments; it reads perms lines on stdin")
	}
	cfg, err := imageConfig(l)
	if err != nil {
		return err
	}
	return FixPerms(l, cfg, r, console.New(cfg.Verbosity))
}

// FixPerms applies perms lines read from r.
func FixPerms(l layout.Layout, cfg config.Config, r io.Reader, log *console.Logger) error {
	rules, err := perms.Parse("stdin", r, cfg.PermVars())
	if err != nil {
		return err
	}
	return perms.Apply(l.Root, rules, log)
}
