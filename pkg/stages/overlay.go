package stages

// The stages' steps that are s6-overlay's (pkg/overlay): each gives the
// stage's layout, configuration, logger and run state to its function.

import (
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/overlay"
)

// compatPaths makes s6-overlay's runtime paths (overlay.Paths).
func (b *stage1) compatPaths() error {
	return overlay.Paths(b.sys.Layout, b.sys.Exe, b.st, b.log)
}

// stage2Hook runs IGNITY_STAGE2_HOOK (overlay.Hook), then re-reads the
// environment it may have changed.
func (b *stage2) stage2Hook() error {
	if b.cfg.Stage2Hook == "" {
		return nil
	}
	if err := overlay.Hook(b.sys.Layout.Root, b.cfg.Stage2Hook, b.env, b.term, container.Policy(b.cfg, b.log)); err != nil {
		return err
	}
	return b.reloadEnv()
}

// fixAttrs applies /etc/fix-attrs.d (overlay.FixAttrs).
func (b *stage2) fixAttrs() error {
	return overlay.FixAttrs(b.sys.Layout, b.cfg, b.log)
}

// exitcodeFile warns about an exit code file that decides nothing
// (overlay.CheckExitcode).
func (d *stage3) exitcodeFile() error {
	return overlay.CheckExitcode(d.st)
}
