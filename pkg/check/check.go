// Package check validates an image's ignity configuration without running
// anything: the env files, the knobs of an environment, the perms files and
// the accounts they name, the init and finalize scripts, and the service
// dirs with the s6 files in them. `ignity check` runs it when the image is
// built; /init runs it at boot and refuses to start on an Error.
//
// Run reports every problem it finds, not only the first, sorted by path
// then line. Paths are the image's own ("/etc/ignity/services/web/run"),
// whatever root the tree is read from, so a report reads the same at build
// time and at boot. Everything is read as if chroot'ed to the root:
// symlinks resolve inside it, an absolute target starting again at the
// root, so a usrmerged image's /bin -> usr/bin leads where it will in the
// container.
//
// An Error is what stops the container at boot or keeps a program from
// ever running; a Warning is likely a mistake that stops nothing. No
// message quotes a value read from an env file: env files hold secrets.
package check

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"

	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/imagepath"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/services"
)

// Severity tells whether a Problem stops the container.
type Severity int

const (
	// Warning is probably a mistake, but nothing fails because of it.
	Warning Severity = iota + 1
	// Error stops the container at boot, or keeps a program from running.
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Problem is one thing wrong with the configuration: a row of the report,
// which a caller may reword or demote, not an error. Where it has a
// position it prints as the parsers' *fileerr.Error does.
type Problem struct {
	Path     string // in-image path, or "environment" for the container's environment
	Line     int    // from 1; 0 when the problem is not tied to a line
	Msg      string
	Severity Severity
}

// String prints the problem as Text does, with "warning: " first for a
// warning: the lines of `ignity check`.
func (p Problem) String() string {
	if p.Severity == Warning {
		return "warning: " + p.Text()
	}
	return p.Text()
}

// Text is "path:line: msg", or "path: msg" without a line.
func (p Problem) Text() string {
	e := fileerr.Error{File: p.Path, Line: p.Line, Err: errors.New(p.Msg)}
	return e.Error()
}

// HasError reports whether any of problems is an Error.
func HasError(problems []Problem) bool {
	for _, p := range problems {
		if p.Severity == Error {
			return true
		}
	}
	return false
}

// envPath is the Path of problems found in the container's environment.
const envPath = "environment"

// Run checks the configuration under l.Root with the environment env
// (NAME=value entries: the container's, which overrides the env files as
// it does at boot). With strictKnobs an unknown IGNITY_* variable is an
// Error, as `ignity check` wants; otherwise a Warning, as at boot, where a
// knob of a newer ignity must not stop an older one.
func Run(l layout.Layout, env []string, strictKnobs bool) []Problem {
	found, _ := RunPlan(l, env, strictKnobs)
	return found
}

// RunPlan is Run, and returns the start plan it checked too: /init's,
// which the later stages read from its record. Only valid without an
// Error among the problems.
func RunPlan(l layout.Layout, env []string, strictKnobs bool) ([]Problem, services.Plan) {
	c := &checker{l: l, im: image{root: l.Root, res: imagepath.NewResolver(l.Root)}, atBuild: strictKnobs}
	files := c.envFiles()
	cfg := c.knobs(files, env, strictKnobs)
	c.perms(cfg)
	c.scripts(c.im.inImage(l.EtcInit()))
	c.scripts(c.im.inImage(l.EtcFinalize()))
	from := len(c.out)
	c.scripts(c.im.inImage(l.EtcContInit()))
	c.scripts(c.im.inImage(l.EtcContFinish()))
	c.v2Modes(from)
	c.services()
	c.definitions(cfg.BundleDir, cfg.Stage2Hook != "")
	c.helperLoops()
	c.stopBound(cfg)
	c.v2NonRoot()
	sort.SliceStable(c.out, func(i, j int) bool {
		a, b := c.out[i], c.out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return c.out, c.plan
}

// checker gathers the problems of one Run.
type checker struct {
	l   layout.Layout
	im  image
	out []Problem
	// plan is the start plan of the definitions (see definitions).
	plan services.Plan

	// The PATH programs get at boot, for #!/usr/bin/env lines, and how to
	// name it in a message (it may come from an env file: not quoted then).
	pathDirs []string
	pathFrom string

	// atBuild: `ignity check` rather than /init's check at boot, which
	// follows what /init did before it (see missingBinExeclineb).
	atBuild bool

	// errorsOnly: Program's check before an exec, which keeps the Errors
	// alone; what only warns (calls) is not looked for.
	errorsOnly bool
}

func (c *checker) add(sev Severity, p string, line int, format string, args ...any) {
	c.out = append(c.out, Problem{Path: p, Line: line, Msg: fmt.Sprintf(format, args...), Severity: sev})
}

// fail reports err, which came from reading p, as an Error. A
// *fs.PathError names its own path, which is then used instead.
func (c *checker) fail(p string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		c.add(Error, c.im.inImage(pe.Path), 0, "%s: %v", pe.Op, pe.Err)
		return
	}
	c.add(Error, p, 0, "%v", err)
}

// flatten lists the errors joined in err (errors.Join), or err alone.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// entries lists the in-image dir dir as the stages read a config dir (in
// name order, dot files skipped) and looks each entry up; what cannot be
// listed or looked up is reported, and an entry gone since it was listed
// is left out.
func (c *checker) entries(dir string) []entry {
	names, err := c.im.names(dir)
	if err != nil {
		c.fail(dir, err)
		return nil
	}
	var out []entry
	for _, n := range names {
		p := path.Join(dir, n)
		e, exists, err := c.im.look(p)
		switch {
		case err != nil:
			c.fail(p, err)
		case exists:
			out = append(out, e)
		}
	}
	return out
}

// configFiles lists the files of the in-image config dir dir the way
// perms.LoadDir and envload.LoadDir pick them at boot: in name order, dot
// files skipped, regular files and symlinks to them; directories and other
// entries are ignored. A symlink leading nowhere is an Error: LoadDir fails
// on it at boot. The paths returned are the entries', unresolved.
func (c *checker) configFiles(dir string) []string {
	var out []string
	for _, e := range c.entries(dir) {
		p := e.path
		switch {
		case e.resolved == "":
			c.add(Error, p, 0, "dangling symlink to %q: ignity fails to load it at boot (point it inside the image, or remove it)", e.link)
		case e.info.Mode().IsRegular():
			out = append(out, p)
		}
	}
	return out
}

// Program checks the one program at host path hostPath, under l.Root, as
// Run checks scripts and services: a regular, executable file whose #!
// interpreter or ELF loader is in the image. It returns the Errors only,
// joined, or nil: the stages call it before they execute a program, so
// that a failure names the problem instead of a bare EACCES or ENOENT.
func Program(l layout.Layout, hostPath string) error {
	c := &checker{l: l, im: image{root: l.Root, res: imagepath.NewResolver(l.Root)}, errorsOnly: true}
	p := c.im.inImage(hostPath)
	e, exists, err := c.im.look(p)
	switch {
	case err != nil:
		c.fail(p, err)
	case !exists:
		c.add(Error, p, 0, "not found")
	default:
		c.program(e)
	}
	var errs []error
	for _, pr := range c.out {
		if pr.Severity == Error {
			errs = append(errs, errors.New(pr.Text()))
		}
	}
	return errors.Join(errs...)
}
