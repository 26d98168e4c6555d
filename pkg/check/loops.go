package check

// A helper that runs itself. s6-overlay's /command/with-contenv is the
// program and /usr/bin/with-contenv the alias; linuxserver images replace
// the alias with a wrapper ending in exec /command/with-contenv "$@". An
// image whose /command/with-contenv leads back to that wrapper (a
// symlink made by the image, or by an older ignity) has it exec itself
// forever at full CPU, and the boot never ends. The same holds for every
// name ignity installs in /command and /usr/bin.

import (
	"bufio"
	"io"
	"path"
	"strings"

	"github.com/ignity/ignity/pkg/layout"
)

// Helpers are the names ignity installs in /usr/bin and /command, each a
// link to its one binary (see scripts/package.sh).
var Helpers = []string{
	"ignity", "with-env", "load-envfile", "fix-perms", "preboot", "with-retries", "logutil-service",
	"with-contenv", "printcontenv", "s6-rc", "s6-echo", "s6-mkdir", "s6-chown", "s6-chmod",
	"s6-rmrf", "s6-true", "s6-false", "s6-env", "s6-format-filter", "s6-test",
}

var helperDirs = []string{layout.CommandDir, "/usr/bin"}

// helperLoops reports each helper replaced by a script that runs the
// helper's own path again, at the line that does it, with the fix.
func (c *checker) helperLoops() {
	helper := map[string]bool{}
	for _, n := range Helpers {
		helper[n] = true
	}
	// Each script once, by the path that is the file itself when one is.
	seen := map[string]bool{}
	for _, links := range []bool{false, true} {
		for _, name := range Helpers {
			for _, dir := range helperDirs {
				p := path.Join(dir, name)
				e, ok, err := c.im.look(p)
				if err != nil || !ok || e.resolved == "" || !e.info.Mode().IsRegular() || (e.link != "") != links || seen[e.resolved] {
					continue
				}
				seen[e.resolved] = true
				c.loopsIn(p, e.resolved, helper)
			}
		}
	}
}

// loopsIn reads the script p (at resolved) for a #! line or a command
// naming a helper that leads back to resolved.
func (c *checker) loopsIn(p, resolved string, helper map[string]bool) {
	f, err := c.im.open(resolved)
	if err != nil {
		return
	}
	defer f.Close()
	head := make([]byte, 2)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "#!" {
		return // not a script: an ELF, or data
	}
	sc := bufio.NewScanner(io.LimitReader(f, maxScript))
	sc.Buffer(make([]byte, 64<<10), maxScript)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text()) // line 1: the #! interpreter
		if n > 1 && strings.HasPrefix(line, "#") {
			continue
		}
		words := strings.FieldsFunc(line, notWordByte)
		for i, w := range words {
			// an absolute path anywhere; a bare name where a command starts
			bare := !strings.Contains(w, "/") && (i == 0 || words[i-1] == "exec")
			if !helper[path.Base(w)] || !(path.IsAbs(w) || bare) {
				continue
			}
			target := w
			if bare {
				if target = c.lookPath(w); target == "" {
					continue
				}
			}
			t, ok, err := c.im.look(target)
			if err != nil || !ok || t.resolved != resolved {
				continue
			}
			fix := "exec " + path.Join(layout.CommandDir, path.Base(w)) + " (ignity's program) instead"
			if target != p {
				fix = "make " + target + " ignity's program again (ln -sf /usr/bin/ignity " + target + "), as ignity's tarball ships it"
			}
			via := target
			if t.link != "" {
				via += " -> " + t.link
			}
			c.add(Error, p, n, "runs %s (%s), which is this script again: it execs itself forever and the boot never ends; %s", w, via, fix)
			return
		}
	}
}

// lookPath is where a bare name is found in the PATH programs get at
// boot, or "".
func (c *checker) lookPath(name string) string {
	for _, dir := range c.pathDirs {
		if !path.IsAbs(dir) {
			continue
		}
		p := path.Join(dir, name)
		if e, ok, err := c.im.look(p); ok && err == nil && e.resolved != "" {
			return p
		}
	}
	return ""
}
