package check

// What real s6-overlay images do that ignity handles, or names, at build
// time (the README's "Migrating from s6-overlay"): v2's scripts left
// without their x bit, a shutdown bound set long on purpose, and v2's
// non-root preparation.

import (
	"os"
	"path"
	"syscall"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/layout"
)

// notExecutable is program's message for a file without an x bit.
const notExecutable = "not executable: chmod +x it"

// v2Modes turns the "not executable" Errors found since c.out[from], in
// /etc/cont-init.d, /etc/cont-finish.d and /etc/services.d, into what
// they are under ignity: s6-overlay v2 made those files executable at
// every boot, and so does stage2 (it says so once). At build time a
// Warning, so that the image can be fixed; at boot nothing.
func (c *checker) v2Modes(from int) {
	out := c.out[:from]
	for _, p := range c.out[from:] {
		if p.Severity != Error || p.Msg != notExecutable {
			out = append(out, p)
			continue
		}
		if !c.atBuild {
			continue
		}
		p.Severity = Warning
		p.Msg = "not executable: ignity makes it executable at boot, as s6-overlay v2 did (chmod +x it in the image, which a read-only root needs)"
		out = append(out, p)
	}
	c.out = out
}

// dockerStop is docker stop's default wait before SIGKILL.
const dockerStop = 10 * time.Second

// stopBound warns, at build time, when the knobs set a shutdown bound
// longer than docker stop waits: an image may set a long grace on
// purpose (hotio: S6_SERVICES_GRACETIME=180000), so the boot says it only
// when the defaults go past it (stages' stopBound: too many finalize
// scripts), and this check when the knobs lengthen it past it.
func (c *checker) stopBound(cfg config.Config) {
	if !c.atBuild {
		return
	}
	n := c.finalizers()
	bound := cfg.StopBound(n)
	if bound > dockerStop && bound > defaultBound(n, c.l.Overlay()) {
		c.add(Warning, envPath, 0, "a shutdown may take up to %v (IGNITY_SERVICES_GRACETIME, IGNITY_KILL_FINALIZE_MAXTIME x %d finalize and cont-finish.d scripts and oneshot down lines, IGNITY_KILL_GRACETIME): more than docker stop's default 10 s; run it with docker stop -t (compose: stop_grace_period)", bound, n)
	}
}

// defaultBound is the shutdown bound of the default knobs (the layout's),
// which the boot itself warns about.
func defaultBound(n int, overlay bool) time.Duration {
	return config.DefaultFor(overlay).StopBound(n)
}

// finalizers counts what a shutdown runs one after another, each bounded
// by IGNITY_KILL_FINALIZE_MAXTIME: the finalize and cont-finish.d
// scripts, and the down lines of the start plan's oneshots.
func (c *checker) finalizers() int {
	n := 0
	for _, d := range []string{c.l.EtcFinalize(), c.l.EtcContFinish()} {
		names, _ := c.im.names(c.im.inImage(d))
		n += len(names)
	}
	return n + c.plan.DownLines()
}

// v2NonRoot names s6-overlay v2's non-root preparation, RUN chown -R
// USER /var/run/s6: under ignity that path is a symlink into /run/ignity,
// and chown -R changes the symlink alone. What /init needs, run as that
// user, is /run/ignity itself, which it creates its tree in.
func (c *checker) v2NonRoot() {
	if !c.atBuild {
		return
	}
	run, err := os.Lstat(c.l.Run())
	if err != nil || run.Mode().Perm()&0o002 != 0 {
		return // any uid may boot there (the installer's 1777)
	}
	rst, ok := run.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	for _, p := range []string{layout.VarRunS6, "/run/s6"} {
		res, err := c.im.resolve(p, false)
		if err != nil {
			continue
		}
		st, err := os.Lstat(c.im.host(res))
		if err != nil {
			continue
		}
		s, ok := st.Sys().(*syscall.Stat_t)
		if !ok || s.Uid == 0 || s.Uid == rst.Uid {
			continue
		}
		c.add(Warning, p, 0, "owned by uid %d (s6-overlay v2's non-root preparation, chown -R USER /var/run/s6?): under ignity it is a symlink, and /init run as uid %d needs %s itself: RUN chown %d %s",
			s.Uid, s.Uid, path.Clean(c.im.inImage(c.l.Run())), s.Uid, path.Clean(c.im.inImage(c.l.Run())))
		return
	}
}
