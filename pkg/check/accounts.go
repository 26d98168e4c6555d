package check

import (
	"errors"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/perms"
)

// perms parses every perms file with {{USERMAP_UID}} and {{USERMAP_GID}}
// replaced from cfg and checks that each rule's account resolves in the
// image's /etc/passwd and /etc/group, as they will be at boot: preboot
// first creates USER with USERMAP_UID:USERMAP_GID unless those are root's.
// A rule's path may not exist yet (a volume, a directory made by an init
// script): that is no problem here. A USER that preboot cannot create, one
// the image already has with other ids, is an Error: the boot stops there.
//
// With IGNITY_SKIP_PERMS=1 ignity reads no perms file, so what is wrong in
// them is only a Warning.
func (c *checker) perms(cfg config.Config) {
	sev := Error
	if cfg.SkipPerms {
		sev = Warning
	}
	vars := cfg.PermVars()
	var rules []perms.Rule
	// s6-overlay's fix-attrs.d holds the same lines (see perms.Parse).
	files := append(c.configFiles(c.im.inImage(c.l.EtcPerms())), c.configFiles(c.im.inImage(c.l.EtcFixAttrs()))...)
	for _, p := range files {
		f, err := c.im.open(p)
		if err != nil {
			c.fail(p, err)
			continue
		}
		rs, err := perms.Parse(p, f, vars)
		f.Close()
		rules = append(rules, rs...)
		for _, e := range flatten(err) {
			var le *fileerr.Error
			if errors.As(e, &le) {
				c.add(sev, le.File, le.Line, "%v", le.Err)
				continue
			}
			c.fail(p, e)
		}
	}
	creates := !cfg.SkipPerms && (cfg.User != "root" || cfg.UID != 0 || cfg.GID != 0)
	if len(rules) == 0 && !creates {
		return
	}
	users, err := perms.ReadUsers(c.l.Root)
	if err != nil {
		c.add(sev, "/etc/passwd", 0, "read the image's accounts: %v", err)
		return
	}
	if creates {
		if uid, gid, ok := users.User(cfg.User); ok && (uid != cfg.UID || gid != cfg.GID) {
			c.add(Error, envPath, 0, "USER %s exists in /etc/passwd as %d:%d but USERMAP_UID:USERMAP_GID ask for %d:%d: ignity cannot create it and refuses to boot (make them match, or name another USER)",
				cfg.User, uid, gid, cfg.UID, cfg.GID)
		}
	}
	for _, r := range rules {
		a := r.Account
		if creates {
			a = withBootUser(a, users, cfg)
		}
		if _, _, err := users.Resolve(a); err != nil {
			c.add(sev, r.File, r.Line, "account %q: %v (create it in the image first, or append a fallback: %q)",
				r.Account.String(), err, r.Account.String()+",UID:GID")
		}
	}
}

// withBootUser returns a as it resolves once preboot has created the
// container user (cfg.User, cfg.UID, cfg.GID) with perms.EnsureUser: its
// name, its uid's primary group and a group of its name resolve to those
// ids when the image does not define them already.
//
// EnsureUser names the new group after the user only when no group has
// the gid yet; this does not look that far, so a rule naming that group
// may pass here and fail at boot in that one case.
func withBootUser(a perms.Account, users *perms.Users, cfg config.Config) perms.Account {
	noGroup := !a.HasGID && a.Group == ""
	if !a.HasUID && a.User == cfg.User {
		if _, _, ok := users.User(a.User); !ok {
			a.User, a.UID, a.HasUID = "", cfg.UID, true
			if noGroup {
				a.GID, a.HasGID = cfg.GID, true
			}
		}
	}
	if a.HasUID && a.UID == cfg.UID && noGroup && !a.HasGID {
		if _, _, err := users.Resolve(perms.Account{UID: a.UID, HasUID: true}); err != nil {
			a.GID, a.HasGID = cfg.GID, true // the uid's only passwd line will be USER's
		}
	}
	if !a.HasGID && a.Group == cfg.User {
		if _, _, err := users.Resolve(perms.Account{HasUID: true, Group: a.Group}); err != nil {
			a.Group, a.GID, a.HasGID = "", cfg.GID, true
		}
	}
	return a
}
