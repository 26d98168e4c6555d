package check

// s6-overlay's programs that ignity does not ship. A script moved from
// s6-overlay that calls one fails where it does, with a bare "not found":
// check names it, the file and the line, with the ignity way. A program
// the image has itself (s6-portable-utils installed from the
// distribution) is no problem.

import (
	"bufio"
	"io"
	"path"
	"strings"

	"github.com/ignity/ignity/pkg/layout"
)

// NotShipped says why ignity does not ship the s6-overlay program name,
// and what to do instead; "" when ignity ships it or it is not one of
// s6-overlay's.
func NotShipped(name string) string {
	switch {
	case strings.HasPrefix(name, "s6-rc-"):
		return "s6-rc's tools: ignity has no compiled service database; its s6-rc applet lists and changes services, and ignity status shows them"
	case name == "s6-linux-init" || strings.HasPrefix(name, "s6-linux-init-"):
		return "s6-linux-init: ignity is the init; stop the container with /run/s6/basedir/bin/halt or s6-svscanctl -t /run/service"
	}
	if why, ok := notShipped[name]; ok {
		return why
	}
	return ""
}

const (
	portable = "s6-portable-utils: use the image's own tool (echo, cat, sleep, mkdir, ...), or install s6-portable-utils in the image"
	linux    = "s6-linux-utils: use the image's own tool (mount, hostname, ps, chroot, ...), or install s6-linux-utils in the image"
)

var notShipped = map[string]string{
	"fix-attrs":          "s6-overlay's fix-attrs: ignity applies /etc/fix-attrs.d itself at boot; for lines at build time, pipe them to fix-perms",
	"logutil-newfifo":    "s6-overlay v2's logutil-newfifo: create the FIFO with mkfifo (or s6-mkfifodir), and read it with logutil-service -f FIFO",
	"s6-basename":        portable,
	"s6-cat":             portable,
	"s6-cut":             portable,
	"s6-dirname":         portable,
	"s6-dumpenv":         portable,
	"s6-expr":            portable,
	"s6-grep":            portable,
	"s6-head":            portable,
	"s6-hiercopy":        portable,
	"s6-linkname":        portable,
	"s6-ln":              portable,
	"s6-ls":              portable,
	"s6-maximumtime":     portable,
	"s6-mkfifo":          portable,
	"s6-nice":            portable,
	"s6-nuke":            portable,
	"s6-pause":           portable,
	"s6-printenv":        portable,
	"s6-quote":           portable,
	"s6-quote-filter":    portable,
	"s6-rename":          portable,
	"s6-seq":             portable,
	"s6-sleep":           portable,
	"s6-sort":            portable,
	"s6-sync":            portable,
	"s6-tail":            portable,
	"s6-touch":           portable,
	"s6-uniquename":      portable,
	"s6-unquote":         portable,
	"s6-unquote-filter":  portable,
	"s6-update-symlinks": portable,
	"s6-chroot":          linux,
	"s6-freeramdisk":     linux,
	"s6-hostname":        linux,
	"s6-logwatch":        linux,
	"s6-mount":           linux,
	"s6-pivotchroot":     linux,
	"s6-ps":              linux,
	"s6-swapoff":         linux,
	"s6-swapon":          linux,
	"s6-umount":          linux,
	"s6-devd":            linux,
	"s6-fillurandompool": linux,
}

// maxScript is how much of a script calls reads: scripts are small, and
// a large file is data.
const maxScript = 256 << 10

// calls names, for the script p (its file at the in-image path
// resolved), each s6-overlay program it calls that ignity does not ship
// and the image does not have: an Error for `ignity check`, a Warning at
// boot (the script may call it only on a path never taken). Comment
// lines are skipped; each program is named once per script, at its first
// line.
func (c *checker) calls(p, resolved string) {
	f, err := c.im.open(resolved)
	if err != nil {
		return // program() said why
	}
	defer f.Close()
	sev := Warning
	if c.atBuild {
		sev = Error
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(io.LimitReader(f, maxScript))
	sc.Buffer(make([]byte, 64<<10), maxScript)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		for _, word := range strings.FieldsFunc(line, notWordByte) {
			name := path.Base(word)
			why := NotShipped(name)
			if why == "" || seen[name] || c.inImage(name) {
				continue
			}
			seen[name] = true
			c.add(sev, p, n, "calls %s, which ignity does not ship (%s)", name, why)
		}
	}
}

// notWordByte splits a script line into the words that may name a
// program: shell and execline separators, quotes, braces, redirections.
func notWordByte(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("._-/+", r)
}

// inImage reports whether the image has an executable name in a
// directory of the PATH programs get at boot, or in /command.
func (c *checker) inImage(name string) bool {
	for _, dir := range append(append([]string{}, c.pathDirs...), layout.CommandDir) {
		if !path.IsAbs(dir) {
			continue
		}
		if e, ok, err := c.im.look(path.Join(dir, name)); ok && err == nil && e.resolved != "" &&
			e.info.Mode().IsRegular() && e.info.Mode().Perm()&0o111 != 0 {
			return true
		}
	}
	return false
}
