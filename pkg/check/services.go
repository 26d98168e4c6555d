package check

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ignity/ignity/pkg/config"
	"golang.org/x/sys/unix"
)

// s6Files are the names s6-supervise 2.13 gives a meaning to in a service
// dir (s6's servicedir.html), in the order suggestions prefer.
var s6Files = []string{
	"run", "finish", "down", "log",
	"notification-fd", "lock-fd", "timeout-kill", "timeout-finish", "max-death-tally", "down-signal",
	"flag-newpidns", "health", "supervise", "event", "template", "instance", "instances", "data", "env",
	// ignity's own (README "Restarts", "Dependencies").
	"essential", "keep-leftovers", "max-deaths", "dependencies",
	// s6-rc's, in an s6-overlay v3 definition.
	"type", "dependencies.d", "contents.d", "producer-for", "consumer-for", "pipeline-name", "timeout-up", "timeout-down", "up", "down", "flag-essential",
}

// unread are service dir files of other s6 versions: s6 2.13, which
// ignity ships, ignores them.
var unread = map[string]string{
	"nosetsid": "s6 2.11 no longer reads nosetsid: s6-supervise always starts the service as a session leader; remove it",
}

// services checks every service dir of /etc/ignity/services. An entry may
// be a symlink to a dir elsewhere (the services-available pattern): ignity
// copies what it leads to.
func (c *checker) services() {
	for _, e := range c.entries(c.im.inImage(c.l.EtcServices())) {
		p := e.path
		switch {
		case e.resolved == "":
			c.add(Error, p, 0, "dangling symlink to %q: the service dir it names is not in the image", e.link)
		case !e.info.IsDir():
			c.add(Error, p, 0, "not a directory: a service is a directory holding a run program")
		default:
			c.serviceDir(p, e.resolved, "")
		}
	}
}

// serviceDir checks the service dir shown as dir, found at res in the
// image; sub is "" for a service and "log" for its logger, which lives in
// it.
func (c *checker) serviceDir(dir, res, sub string) {
	names, err := c.im.names(res)
	if err != nil {
		c.fail(dir, err)
		return
	}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
	}
	look := func(name string) (entry, bool) {
		e, ok, err := c.im.look(path.Join(res, name))
		e.path = path.Join(dir, name)
		if err != nil {
			c.fail(e.path, err)
			return e, false
		}
		if ok && c.escapes(e, sub) {
			return e, false
		}
		return e, ok
	}

	if e, ok := look("run"); ok {
		c.program(e)
	} else if !present["run"] {
		c.add(Error, dir, 0, "no run program: s6 starts a service by executing its run file (add an executable run)")
	}
	if e, ok := look("finish"); ok {
		c.program(e)
	}
	// health: ignity health runs it (executable, its #! interpreter present).
	if e, ok := look("health"); ok && sub == "" {
		c.program(e)
	}
	if sub == "" && present["log"] {
		if e, ok := look("log"); ok {
			switch {
			case e.resolved == "":
				c.add(Error, e.path, 0, "dangling symlink to %q", e.link)
			case !e.info.IsDir():
				c.add(Error, e.path, 0, "not a directory: a logger is a service dir with its own run program")
			default:
				c.serviceDir(e.path, e.resolved, "log")
			}
		}
	}

	fds := map[string]uint64{}
	c.firstLines([]string{"notification-fd", "lock-fd", "timeout-kill", "timeout-finish", "max-death-tally", "down-signal"}, present, look, func(name string, e entry, v string) {
		if n, ok := c.s6Value(e.path, name, v); ok && strings.HasSuffix(name, "-fd") {
			fds[name] = n
		}
	})
	if n, ok := fds["notification-fd"]; ok {
		if l, ok := fds["lock-fd"]; ok && l == n {
			c.add(Error, path.Join(dir, "notification-fd"), 0, "same fd as lock-fd (%d): s6 refuses to start the service; pick another", n)
		}
	}

	if sub == "" {
		c.ignityFiles(dir, present, look)
	}

	for _, n := range names {
		if why, ok := unread[n]; ok {
			c.add(Warning, path.Join(dir, n), 0, "%s", why)
			continue
		}
		if s := suggestFile(n); s != "" && s != n && !present[s] {
			c.add(Warning, path.Join(dir, n), 0, "s6 does not read %s: did you mean %s?", n, s)
		}
	}
}

// escapes reports, as an Error, a relative symlink of a service dir that
// climbs out of it: ignity runs a copy of the dir under /run/ignity, where
// the same target leads elsewhere.
func (c *checker) escapes(e entry, sub string) bool {
	if e.link == "" || path.IsAbs(e.link) {
		return false
	}
	if t := path.Join(sub, e.link); t != ".." && !strings.HasPrefix(t, "../") {
		return false
	}
	c.add(Error, e.path, 0, "relative symlink to %q leads out of the service dir: ignity runs a copy of the dir under /run/ignity, where it leads elsewhere (use an absolute target)", e.link)
	return true
}

// firstLine returns the first line of the s6 control file e, which s6
// reads up to its first newline.
func (c *checker) firstLine(e entry) (string, bool) {
	switch {
	case e.resolved == "":
		c.add(Error, e.path, 0, "dangling symlink to %q", e.link)
		return "", false
	case !e.info.Mode().IsRegular():
		c.add(Error, e.path, 0, "not a regular file")
		return "", false
	}
	f, err := c.im.open(e.resolved)
	if err != nil {
		c.fail(e.path, err)
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		c.fail(e.path, err)
		return "", false
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(b), true
}

// s6Value checks v, the first line of the s6 control file name at p, the
// way s6-supervise reads it: a plain decimal number, nothing around it,
// or a signal for down-signal. n is the number read, when it is one.
func (c *checker) s6Value(p, name, v string) (n uint64, ok bool) {
	n, err := strconv.ParseUint(v, 10, 32)
	isUint := err == nil
	switch name {
	case "notification-fd":
		if !isUint {
			c.add(Error, p, 0, "want an integer >= 3 (the fd the service writes its readiness line to), %s", got(v))
			return 0, false
		}
		if n < 3 {
			c.add(Warning, p, 0, "fd %d is the service's %s, which s6 replaces with the readiness pipe: want an integer >= 3, unless the daemon reports readiness there on purpose", n, [...]string{"stdin", "stdout", "stderr"}[n])
		}
	case "lock-fd":
		if !isUint {
			c.add(Error, p, 0, "want an unsigned integer (the fd the service holds its lock on), %s", got(v))
			return 0, false
		}
	case "timeout-kill", "timeout-finish":
		if !isUint {
			c.add(Error, p, 0, "want a whole number of milliseconds (0 or more), %s", got(v))
			return 0, false
		}
	case "max-death-tally":
		if !isUint || n > 4096 {
			c.add(Error, p, 0, "want an integer from 0 to 4096, %s", got(v))
			return 0, false
		}
	case "down-signal":
		if !isSignal(v) {
			c.add(Error, p, 0, "want a signal name like TERM or SIGTERM, or a number from 1 to 64, %s", got(v))
			return 0, false
		}
	}
	return n, isUint
}

// got describes a bad value of an s6 control file, cut short: those files
// hold numbers, never secrets.
func got(v string) string {
	if v == "" {
		return "got an empty line"
	}
	if len(v) > 20 {
		v = v[:20] + "..."
	}
	return fmt.Sprintf("got %q", v)
}

// isSignal reports whether s6 reads v as a signal it can send: a name,
// with or without SIG, in any case (skalibs' sig0_scan), or a number of a
// Linux signal.
func isSignal(v string) bool {
	u := strings.ToUpper(v)
	u = strings.TrimPrefix(u, "SIG")
	if n, err := strconv.ParseUint(u, 10, 8); err == nil {
		return n >= 1 && n <= 64
	}
	switch u {
	case "IOT", "POLL":
		return true
	}
	return u != "" && unix.SignalNum("SIG"+u) != 0
}

// suggestFile returns the s6 file name likely meant by a file name s6
// does not read, or "".
func suggestFile(name string) string {
	if slices.Contains(s6Files, name) {
		return ""
	}
	// run.sh for run: an extension on a program's name.
	if base, ext, ok := strings.Cut(name, "."); ok && (ext == "sh" || ext == "bash" || ext == "txt") {
		for _, k := range s6Files {
			if normalizeFile(base) == k {
				return k
			}
		}
	}
	limit := func(k string) int {
		if len(k) <= 4 {
			return 1
		}
		return 2
	}
	return closest(strings.ToLower(name), s6Files, limit, normalizeFile)
}

// normalizeFile folds the spellings people try for s6's names:
// notification_fd, Timeout-Kill.
func normalizeFile(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', ' ', '.':
			return '-'
		}
		return r
	}, strings.ToLower(s))
}

// firstLines calls fn with the first line of each file of names that the
// service dir has (present, look), once it reads as one line (firstLine
// reports what does not).
func (c *checker) firstLines(names []string, present map[string]bool, look func(string) (entry, bool), fn func(name string, e entry, v string)) {
	for _, name := range names {
		if !present[name] {
			continue
		}
		e, ok := look(name)
		if !ok {
			continue
		}
		if v, ok := c.firstLine(e); ok {
			fn(name, e, v)
		}
	}
}

// ignityFiles checks the files ignity reads in a service dir: essential
// and keep-leftovers are flags (regular files, content ignored),
// max-deaths holds "DEATHS SECONDS".
func (c *checker) ignityFiles(dir string, present map[string]bool, look func(string) (entry, bool)) {
	c.firstLines([]string{"essential", "keep-leftovers", "max-deaths"}, present, look, func(name string, e entry, v string) {
		if name != "max-deaths" {
			return
		}
		if _, _, err := config.ParseMaxDeaths(v); err != nil {
			c.add(Error, e.path, 0, "%v", err)
		}
	})
	if present["essential"] && present["max-deaths"] {
		c.add(Warning, path.Join(dir, "max-deaths"), 0, "an essential service never reaches its crash-loop limit: its first death stops the container")
	}
}
