package perms

// Applying the perms at boot and at build time (RUN preboot), for the
// stages and the applets alike: the container's user, /run/ignity given
// to it, every file of /etc/ignity/perms, and what a non-root uid may not
// do, said once.

import (
	"errors"
	"fmt"
	"os"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/layout"
)

// Preboot creates the container's user, gives it /run/ignity and applies
// every file of /etc/ignity/perms: at boot, and at image build time
// (RUN preboot) so that the image can then run as that user. Run by
// anyone but root, it skips what only root may do and says so once.
func Preboot(l layout.Layout, cfg config.Config, log *console.Logger) error {
	log.Info("perm", "Applying ownership & permissions fixes")
	root := os.Geteuid() == 0
	// Not said for an image's own account with nothing asked of it: a
	// USER image (USER www-data) without USER/USERMAP_* is fine as it is.
	// An arbitrary uid (OpenShift's) or an account asked for is said.
	if !root && !preparedFor(l, cfg, os.Geteuid()) && (cfg.User != "root" || cfg.UID != 0 || cfg.GID != 0 || !imageAccount(l, os.Geteuid())) {
		log.Warn("running as uid %d, not root and not the image's prepared user (USER=%s, USERMAP_UID=%d): user creation and ownership changes are skipped, perms fixes apply where this uid may make them (prepare the image with RUN preboot and USER)", os.Geteuid(), cfg.User, cfg.UID)
	}
	if root {
		if cfg.User != "root" || cfg.UID != 0 || cfg.GID != 0 {
			if err := EnsureUser(l.Root, cfg.User, cfg.UID, cfg.GID); err != nil {
				return fmt.Errorf("create user %s (USERMAP_UID=%d, USERMAP_GID=%d): %w", cfg.User, cfg.UID, cfg.GID, err)
			}
		}
		// At build time (RUN preboot on an image where only the tarball
		// was extracted) /run/ignity may not exist yet: made here, as the
		// installer makes it (root:0, 0775), it can be given to USER, who
		// could not create it at boot.
		if err := ensureRunDir(l.Run()); err != nil {
			return err
		}
		if err := os.Lchown(l.Run(), cfg.UID, cfg.GID); err != nil {
			return fmt.Errorf("give %s to %d:%d: %w", l.Run(), cfg.UID, cfg.GID, err)
		}
	}
	rules, err := LoadDir(l.EtcPerms(), cfg.PermVars())
	if err != nil {
		return err
	}
	if err := Apply(l.Root, rules, log); err != nil {
		return err
	}
	log.Info("perm", "Ownership & permissions fixes applied")
	return nil
}

// ensureRunDir creates dir, root:0 and mode 0775, when it is missing.
func ensureRunDir(dir string) error {
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o775); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o775); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// imageAccount reports whether uid is an account of the image's
// /etc/passwd.
func imageAccount(l layout.Layout, uid int) bool {
	users, err := ReadUsers(l.Root)
	return err == nil && users.HasUID(uid)
}

// preparedFor reports whether the image was prepared (RUN preboot) for
// uid: it is USERMAP_UID and the USER account exists with it.
func preparedFor(l layout.Layout, cfg config.Config, uid int) bool {
	if uid != cfg.UID {
		return false
	}
	users, err := ReadUsers(l.Root)
	if err != nil {
		return false
	}
	u, _, ok := users.User(cfg.User)
	return ok && u == uid
}

// Apply applies rules under root, warning about missing paths and refused
// ones, and skipping, as a non-root uid, what only root may do. The walk
// streams: nothing is kept of the entries it has fixed.
func Apply(root string, rules []Rule, log *console.Logger) error {
	if len(rules) == 0 {
		return nil
	}
	users, err := ReadUsers(root)
	if err != nil {
		return err
	}
	f := &Fixer{Root: root, Users: users,
		Change: func(c Change) { log.Debug("perm", "%s", c) },
		Warn:   func(w string) { log.Warn("%s", w) },
	}
	err = f.Run(rules)
	var fails *Failures
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &fails):
		return err // an account that does not resolve: nothing was changed
	case os.Geteuid() != 0 && fails.OnlyDenied():
		log.Warn("running as uid %d, not root: %d ownership/permission fixes not allowed, skipped (apply them at build time with RUN preboot)", os.Geteuid(), fails.Count)
		return nil
	}
	return &ApplyError{err}
}

// ApplyError is a failure to make the planned changes: unlike a bad perms
// file, IGNITY_BEHAVIOUR_IF_STAGE2_FAILS may let the boot go on.
type ApplyError struct{ Err error }

func (e *ApplyError) Error() string { return "apply perms: " + e.Err.Error() }
func (e *ApplyError) Unwrap() error { return e.Err }
