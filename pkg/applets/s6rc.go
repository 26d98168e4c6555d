package applets

// s6-rc's command line, for the scripts and operators of images made for
// s6-overlay: list and listall print service names, change brings
// services up or down, on ignity's services model (pkg/services) and
// its live state: a longrun is up when its s6-supervise in the live
// scandir (/run/ignity/services-state) wants it up, a oneshot when its
// up line completed (the ordered start's record, or an earlier change).
// ignity has no compiled database: the definitions are read where the
// boot reads them.
//
// Exit codes, as s6-rc's: 0 ok; 1 a transition failed; 2 the -t timeout
// passed; 3 an unknown service name; 4 the definitions are invalid; 100
// usage (and an option ignity's s6-rc does not support); 111 system
// failure.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/execline"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
)

const s6rcUsage = "s6-rc [ -v verbosity ] [ -t timeout ] [ -a ] [ -u | -d ] help|list|listall|change [ servicenames... ]"

// The exit codes of s6-rc beyond 0, 100 and 111.
const (
	rcFailed  = 1
	rcTimeout = 2
	rcUnknown = 3
	rcInvalid = 4
)

// unitDown records a oneshot that s6-rc -d change took down: neither
// started (stage3 would run its down line again) nor failed.
const unitDown runstate.UnitState = "down"

// S6rc runs s6-rc with args under l, writing what it prints to stdout
// and its messages to stderr.
func S6rc(l layout.Layout, args []string, stdout, stderr io.Writer) error {
	o, err := parseOpts(args, "uadb", "vt", "lnpDE")
	if err != nil {
		return usage(stderr, "s6-rc", s6rcUsage, err)
	}
	rc := &rc{l: l, st: runstate.New(l.Run()), stdout: stdout, stderr: stderr, verbosity: 1}
	for _, s := range o.seen {
		switch s.c {
		case 'u':
			rc.down = false
		case 'd':
			rc.down = true
		case 'v', 't':
			n, err := strconv.ParseUint(s.arg, 10, 31)
			if err != nil {
				return usage(stderr, "s6-rc", s6rcUsage, fmt.Errorf("-%c: want a number, got %q", s.c, s.arg))
			}
			if s.c == 'v' {
				rc.verbosity = int(n)
			} else if n > 0 {
				rc.deadline = time.Now().Add(time.Duration(n) * time.Millisecond)
			}
		}
	}
	if len(o.rest) == 0 {
		return usage(stderr, "s6-rc", s6rcUsage, errors.New("no subcommand"))
	}
	sub, names := o.rest[0], o.rest[1:]
	if sub == "help" {
		fmt.Fprintf(stdout, "usage: %s\n", s6rcUsage)
		return nil
	}
	if sub != "list" && sub != "listall" && sub != "change" {
		return usage(stderr, "s6-rc", s6rcUsage, fmt.Errorf("subcommand %q is not supported by ignity's s6-rc (help, list, listall, change)", sub))
	}
	// The boot's knobs, read once: the user bundle's dir, where /init
	// found one.
	bundleDir := ""
	if cfg, err := rc.st.Config(); err == nil {
		bundleDir = cfg.BundleDir
	}
	if err := rc.load(bundleDir); err != nil {
		return err
	}
	sel, err := rc.selection(names, o.has('a'))
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if rc.down {
			sel = rc.invert(sel)
		}
		return rc.print(sel)
	case "listall":
		return rc.print(rc.closure(sel))
	}
	return rc.change(rc.closure(sel))
}

// rc is one s6-rc run.
type rc struct {
	l         layout.Layout
	st        runstate.State
	stdout    io.Writer
	stderr    io.Writer
	down      bool // -d: down (change), reverse dependencies (listall), inverted (list)
	verbosity int
	deadline  time.Time // -t; zero for none

	defs  services.Defs
	atoms []string            // every longrun and oneshot, in name order
	deps  map[string][]string // atom -> the atoms it depends on
}

// load reads the definitions, with the user bundle's in bundleDir, and
// the dependencies between atoms.
func (r *rc) load(bundleDir string) error {
	defs, probs := services.Load(r.l.Root, bundleDir)
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintf(r.stderr, "s6-rc: fatal: invalid service definition: %v\n", p)
		}
		return ExitCode(rcInvalid)
	}
	r.defs, r.deps = defs, map[string][]string{}
	for _, s := range defs.List {
		if s.Type == services.Bundle {
			continue
		}
		r.atoms = append(r.atoms, s.Name)
		var deps []string
		for _, d := range s.Deps {
			m, _ := r.members(d, map[string]bool{})
			deps = append(deps, m...)
		}
		r.deps[s.Name] = deps
	}
	sort.Strings(r.atoms)
	return nil
}

// members resolves name to the atoms it stands for. s6-overlay's own
// stages (base, legacy-services, ...) stand for none: ignity has run
// them before any definition starts. ok is false for an unknown name.
func (r *rc) members(name string, seen map[string]bool) ([]string, bool) {
	switch name {
	case services.UserBundle:
		return r.bundle(r.defs.User, seen), true
	case services.User2Bundle:
		return r.bundle(r.defs.User2, seen), true
	case "base", "fix-attrs", "legacy-cont-init", services.LegacyServices:
		return nil, true
	}
	s, ok := r.defs.Get(name)
	switch {
	case !ok:
		return nil, false
	case s.Type != services.Bundle:
		return []string{name}, true
	case seen[name]:
		return nil, true
	}
	seen[name] = true
	return r.bundle(s.Contents, seen), true
}

func (r *rc) bundle(names []string, seen map[string]bool) []string {
	var out []string
	for _, n := range names {
		m, _ := r.members(n, seen)
		out = append(out, m...)
	}
	return out
}

// selection resolves names, adding the active atoms with -a.
func (r *rc) selection(names []string, active bool) (map[string]bool, error) {
	sel := map[string]bool{}
	for _, n := range names {
		m, ok := r.members(n, map[string]bool{})
		if !ok {
			fmt.Fprintf(r.stderr, "s6-rc: fatal: unknown service name %s\n", n)
			return nil, ExitCode(rcUnknown)
		}
		for _, a := range m {
			sel[a] = true
		}
	}
	if active {
		for _, a := range r.atoms {
			if r.isUp(a) {
				sel[a] = true
			}
		}
	}
	return sel, nil
}

func (r *rc) invert(sel map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, a := range r.atoms {
		if !sel[a] {
			out[a] = true
		}
	}
	return out
}

// closure is sel with its dependencies (up), or its dependents (-d).
func (r *rc) closure(sel map[string]bool) map[string]bool {
	out := map[string]bool{}
	var visit func(a string)
	visit = func(a string) {
		if out[a] {
			return
		}
		out[a] = true
		for _, b := range r.atoms {
			if !r.down {
				continue
			}
			for _, d := range r.deps[b] {
				if d == a {
					visit(b)
				}
			}
		}
		if !r.down {
			for _, d := range r.deps[a] {
				visit(d)
			}
		}
	}
	for _, a := range r.atoms {
		if sel[a] {
			visit(a)
		}
	}
	return out
}

func (r *rc) print(sel map[string]bool) error {
	var b strings.Builder
	for _, a := range r.atoms {
		if sel[a] {
			b.WriteString(a + "\n")
		}
	}
	if _, err := io.WriteString(r.stdout, b.String()); err != nil {
		return fatal(r.stderr, "s6-rc", exitSystem, "unable to write to stdout: %v", err)
	}
	return nil
}

// order lists the atoms of set so that each comes after its
// dependencies (up) or before them (down), by name among equals.
func (r *rc) order(set map[string]bool) []string {
	var out []string
	done := map[string]bool{}
	var visit func(a string)
	visit = func(a string) {
		if done[a] {
			return
		}
		done[a] = true
		for _, d := range r.deps[a] {
			if set[d] {
				visit(d)
			}
		}
		out = append(out, a)
	}
	for _, a := range r.atoms {
		if set[a] {
			visit(a)
		}
	}
	if r.down {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// change brings every atom of set up (dependencies first) or down
// (dependents first), one at a time; a failure stops the atoms that
// need it and is reported, as s6-rc does, by exit 1 once the rest is
// done.
func (r *rc) change(set map[string]bool) error {
	failed := map[string]bool{}
	for _, a := range r.order(set) {
		blocked := false
		for _, b := range r.atoms {
			if r.down && failed[b] && contains(r.deps[b], a) || !r.down && failed[b] && contains(r.deps[a], b) {
				blocked = true
			}
		}
		if blocked {
			failed[a] = true
			continue
		}
		if r.isUp(a) != r.down {
			continue
		}
		if err := r.transition(a); err != nil {
			var code ExitCode
			if errors.As(err, &code) {
				return err
			}
			what := "start"
			if r.down {
				what = "stop"
			}
			fmt.Fprintf(r.stderr, "s6-rc: warning: unable to %s service %s: %v\n", what, a, err)
			failed[a] = true
		}
	}
	if len(failed) > 0 {
		return ExitCode(rcFailed)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isUp tells s6-rc's state of the atom a.
func (r *rc) isUp(a string) bool {
	s, _ := r.defs.Get(a)
	if s.Type == services.Oneshot {
		return r.st.Condition(a, "", time.Now()).Unit == runstate.UnitStarted
	}
	c := r.st.Condition(a, filepath.Join(r.l.Scandir(), a), time.Now())
	return c.Supervised() && c.Status.WantUp
}

// transition brings a up or down, within its own timeout and -t.
func (r *rc) transition(a string) error {
	s, _ := r.defs.Get(a)
	verb, done := "starting", "started"
	if r.down {
		verb, done = "stopping", "stopped"
	}
	if r.verbosity >= 2 {
		fmt.Fprintf(r.stderr, "s6-rc: info: service %s: %s\n", a, verb)
	}
	var err error
	if s.Type == services.Oneshot {
		err = r.oneshot(s)
	} else {
		err = r.longrun(s)
	}
	if err == nil && r.verbosity >= 2 {
		fmt.Fprintf(r.stderr, "s6-rc: info: service %s successfully %s\n", a, done)
	}
	return err
}

// bound is the deadline of one transition: its own timeout (0 or none:
// no limit) and -t, whichever comes first. timedOut tells, once passed,
// whether it was -t's.
func (r *rc) bound(own time.Duration) (deadline time.Time, global bool) {
	if own > 0 {
		deadline = time.Now().Add(own)
	}
	if !r.deadline.IsZero() && (deadline.IsZero() || r.deadline.Before(deadline)) {
		return r.deadline, true
	}
	return deadline, false
}

func (r *rc) timeout(global bool, format string, args ...any) error {
	if global {
		fmt.Fprintf(r.stderr, "s6-rc: fatal: timed out: %s\n", fmt.Sprintf(format, args...))
		return ExitCode(rcTimeout)
	}
	return fmt.Errorf("timed out: "+format, args...)
}

// oneshot runs s's up (or down) line with execlineb -P -c and the merged
// environment, as the boot does, and records the new state.
func (r *rc) oneshot(s services.Service) error {
	line, from, own, to := s.Up, s.UpFrom, s.TimeoutUp, runstate.UnitStarted
	if r.down {
		line, from, own, to = s.Down, s.DownFrom, s.TimeoutDown, unitDown
	}
	if r.st.Condition(s.Name, "", time.Now()).Unit == runstate.UnitRunning {
		return errors.New("the boot is running its up line now")
	}
	if execline.Runs(line) {
		env, err := mergedEnv(r.l)
		if err != nil {
			return err
		}
		deadline, global := r.bound(own)
		c := exec.Command(layout.DefaultPrograms.Execlineb, "-P", "-c", line)
		c.Env, c.Stdout, c.Stderr = env, os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			return fatal(r.stderr, "s6-rc", exitSystem, "unable to run %s: %v", from, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- c.Wait() }()
		var timer <-chan time.Time
		if !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			timer = t.C
		}
		select {
		case err = <-exited:
		case <-timer:
			c.Process.Kill()
			<-exited
			return r.timeout(global, "%s did not complete", from)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", from, err)
		}
	}
	if err := r.st.SetUnit(s.Name, to, ""); err != nil {
		return fatal(r.stderr, "s6-rc", exitSystem, "%v", err)
	}
	return nil
}

// mergedEnv is the environment with-env gives: this one with the merged
// envdir applied, if there is one.
func mergedEnv(l layout.Layout) ([]string, error) {
	vars, err := envload.ReadDir(l.RunEnvs())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return layout.ChildEnv(envload.Apply(os.Environ(), vars)), nil
}

// longrun has s6-supervise bring s up (and waits until it is up, or
// ready with notification-fd) or down (and waits until it is down and
// its finish done), creating or removing the down file first as s6-rc
// does. A failed start is followed by s6-svc -d.
func (r *rc) longrun(s services.Service) error {
	dir := filepath.Join(r.l.Scandir(), s.Name)
	if !s6.Supervised(dir) {
		return fmt.Errorf("not supervised in %s: ignity installs a longrun in no bundle nowhere, and a dependent only once the boot has started its dependencies", r.l.InImage(r.l.Scandir()))
	}
	own := time.Duration(0)
	file, cmd := "timeout-up", "u"
	if r.down {
		file, cmd = "timeout-down", "d"
	}
	if b, err := os.ReadFile(filepath.Join(s.Host, file)); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 31); err == nil {
			own = time.Duration(n) * time.Millisecond
		}
	}
	down := filepath.Join(dir, "down")
	var err error
	if r.down {
		err = os.WriteFile(down, nil, 0o644)
	} else if err = os.Remove(down); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return fatal(r.stderr, "s6-rc", exitSystem, "%v", err)
	}
	if err := s6.Send(s6.Control(dir), cmd); err != nil {
		return fatal(r.stderr, "s6-rc", exitSystem, "%v", err)
	}
	_, notify := os.Stat(filepath.Join(dir, "notification-fd"))
	want := "up"
	if notify == nil {
		want = "ready"
	}
	if r.down {
		want = "down"
	}
	deadline, global := r.bound(own)
	pause := 200 * time.Microsecond
	// s6-supervise reads the command after Send returns: until its
	// status says it wants the new state, the old one is no answer.
	taken := false
	for {
		st, err := s6.ReadStatus(dir)
		if err != nil {
			return fatal(r.stderr, "s6-rc", exitSystem, "%v", err)
		}
		if st.WantUp != r.down {
			taken = true
		}
		switch {
		case !taken && !r.down:
		case r.down && !st.WantUp && st.Pid == 0 && !st.Finishing:
			return nil
		case !r.down && !st.WantUp:
			return errors.New("it was taken down, or failed for good, before it was " + want)
		case !r.down && want == "up" && st.Up(), !r.down && want == "ready" && st.Ready():
			return nil
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			if !r.down {
				s6.Send(s6.Control(dir), "d")
			}
			return r.timeout(global, "service %s not %s", s.Name, want)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}
