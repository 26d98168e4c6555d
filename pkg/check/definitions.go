package check

import (
	"errors"
	"path"
	"strings"

	"github.com/ignity/ignity/pkg/execline"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/services"
)

// definitions checks what pkg/services reads from every source: the
// s6-rc.d definitions (type, up and down lines, the longruns' service
// dirs), services.d's service dirs, and the start plan of all of them
// with ignity's own (unknown dependencies and bundle members, cycles).
// ignity's own service dirs are checked by services.
func (c *checker) definitions(bundleDir string, hook bool) {
	defs, probs := services.Load(c.l.Root, bundleDir)
	for _, p := range probs {
		c.add(Error, p.File, p.Line, "%v", p.Err)
	}
	plan, more := services.MakePlan(defs)
	c.plan = plan
	unused := map[string]bool{}
	for _, dir := range plan.Unused {
		unused[dir] = true
	}
	for _, s := range defs.List {
		from := len(c.out)
		switch {
		case s.Source == services.Ignity:
		case s.Type == services.Longrun:
			if res := c.im.inImage(s.Host); res != "" {
				c.serviceDir(s.Dir, res, "")
			}
		case s.Type == services.Oneshot:
			c.line(s.UpFrom, s.Up)
			if s.DownFrom != "" {
				c.line(s.DownFrom, s.Down)
			}
		}
		if s.Source == services.ServicesD {
			c.v2Modes(from)
		}
		if unused[s.Dir] {
			c.notRun(from)
		}
	}
	for _, p := range more {
		c.add(Error, p.File, p.Line, "%v", p.Err)
	}
	// A stage2 hook runs after this check at boot, and may add to the
	// bundles (linuxserver's docker-mods do): at boot the plan after it
	// decides, and ignity check says what the hook may change.
	if hook && !c.atBuild {
		return
	}
	unless := ""
	if hook {
		unless = ", unless the stage2 hook (IGNITY_STAGE2_HOOK, S6_STAGE2_HOOK) adds it"
	}
	for _, dir := range plan.Unused {
		c.add(Warning, dir, 0, "not started: it is in neither the %s nor the %s bundle, nor a dependency of one of their members (add it to %s/%s/contents.d/)%s",
			services.UserBundle, services.User2Bundle, layout.UserBundlesDir, services.UserBundle, unless)
	}
}

// notRun makes the Errors found since c.out[from] Warnings: they are in a
// definition the boot does not start (hotio's base ships such services,
// started only when a knob adds them to a bundle), which s6-overlay never
// runs either. The boot must not stop for them; the image's author should
// still hear of them.
func (c *checker) notRun(from int) {
	for i := from; i < len(c.out); i++ {
		if c.out[i].Severity == Error {
			c.out[i].Severity = Warning
			c.out[i].Msg += " (not started at boot: no bundle starts it)"
		}
	}
}

// line checks a oneshot's up or down file p: one execline command line
// that lexes, whose program is in the image (a path, or a name found in
// the PATH the boot gives). Only comments is a no-op, and fine.
func (c *checker) line(p, text string) {
	words, err := execline.Lex(text)
	var le *fileerr.Error
	if errors.As(err, &le) {
		c.add(Error, p, le.Line, "%v (execline syntax, as execlineb reads it)", le.Err)
		return
	}
	w, ok := execline.Program(words)
	if !ok {
		return
	}
	if strings.HasPrefix(w.Text, "/") {
		e, exists, err := c.im.look(w.Text)
		switch {
		case err != nil:
			c.fail(w.Text, err)
		case !exists:
			c.add(Error, p, w.Line, "program %s not found in the image", w.Text)
		default:
			c.program(e)
		}
		return
	}
	if strings.Contains(w.Text, "/") {
		c.add(Error, p, w.Line, "program %q: a relative path; execlineb runs it from an unknown directory (use an absolute path)", w.Text)
		return
	}
	for _, d := range c.pathDirs {
		if d == "" {
			continue
		}
		if e, exists, err := c.im.look(path.Join(d, w.Text)); err == nil && exists && e.resolved != "" && !e.info.IsDir() {
			return
		}
	}
	c.add(Error, p, w.Line, "program %q not found in %s", w.Text, c.pathFrom)
}
