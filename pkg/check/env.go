package check

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/layout"
	"golang.org/x/sys/unix"
)

// envFiles parses every env file. A bad line is an Error: ignity refuses
// to boot on one. It returns the assignments of the good lines, in the
// order ignity loads them.
func (c *checker) envFiles() []envload.Var {
	var vars []envload.Var
	for _, p := range c.configFiles(c.im.inImage(c.l.EtcEnvs())) {
		f, err := c.im.open(p)
		if err != nil {
			c.fail(p, err)
			continue
		}
		vs, err := envload.Parse(p, f)
		f.Close()
		vars = append(vars, vs...)
		for _, e := range flatten(err) {
			var le *fileerr.Error
			if errors.As(e, &le) {
				c.add(Error, le.File, le.Line, "%v", le.Err) // names and positions only
				continue
			}
			c.fail(p, e)
		}
	}
	return vars
}

// setting is the value a variable has at boot, and where it is set.
type setting struct {
	value string
	path  string // the env file, or envPath
	line  int
}

// knobs checks the variables of the env files and of env as ignity merges
// them at boot (the environment overriding the files): names under the
// IGNITY_ prefix must be knobs, knob values must parse, and every variable
// must fit an envdir and exec. It returns the configuration ignity would
// boot with.
func (c *checker) knobs(files []envload.Var, env []string, strict bool) config.Config {
	unknown := Warning
	if strict {
		unknown = Error
	}
	eff := map[string]setting{}
	var order []string
	set := func(name string, s setting) {
		if _, ok := eff[name]; !ok {
			order = append(order, name)
		}
		eff[name] = s
	}
	for _, v := range files {
		if isUnknownKnob(v.Name) {
			c.add(unknown, v.File, v.Line, "%s", unknownKnob(v.Name))
		}
		set(v.Name, setting{value: v.Value, path: v.File, line: v.Line})
	}
	named := map[string]bool{}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			_, errs := envload.Check([]string{kv})
			for _, e := range errs {
				c.add(Warning, envPath, 0, "%v; ignity leaves it out", e)
			}
			continue
		}
		if isUnknownKnob(name) && !named[name] {
			c.add(unknown, envPath, 0, "%s", unknownKnob(name))
			named[name] = true
		}
		set(name, setting{value: value, path: envPath})
	}

	c.setPath(eff)

	var merged []string
	for _, name := range order {
		s := eff[name]
		kv := name + "=" + s.value
		if _, errs := envload.Check([]string{kv}); len(errs) > 0 {
			for _, e := range errs { // they name the variable, never its value
				c.add(Warning, s.path, s.line, "%v; ignity leaves it out of the environment", e)
			}
			continue
		}
		merged = append(merged, kv)
	}
	c.execRoom(merged, eff)
	cfg, notes, err := config.ParseFor(merged, c.l.Overlay())
	for _, e := range flatten(err) {
		c.badKnob(e, eff)
	}
	for _, n := range notes {
		// At boot, stage1 says these itself once it parses the knobs.
		if n.Level != config.Warn || !c.atBuild {
			continue
		}
		if s, ok := eff[n.Name]; ok && s.path != envPath {
			c.add(Warning, s.path, s.line, "%s", n.Text)
		} else {
			c.add(Warning, envPath, 0, "%s", n.Text)
		}
	}
	return cfg
}

// badKnob reports e, an error of config.Parse (a *config.KnobError),
// where the value was set. A value set in an env file is not quoted: only
// why it is wrong is.
func (c *checker) badKnob(e error, eff map[string]setting) {
	var ke *config.KnobError
	if !errors.As(e, &ke) {
		c.add(Error, envPath, 0, "%v", e)
		return
	}
	s, ok := eff[ke.Name()]
	if !ok || s.path == envPath {
		c.add(Error, envPath, 0, "%v", e)
		return
	}
	c.add(Error, s.path, s.line, "bad value of %s: %v", ke.Name(), ke.Err)
}

// isUnknownKnob reports whether name claims ignity's prefix, in any case,
// without being one of its knobs.
func isUnknownKnob(name string) bool {
	return strings.HasPrefix(strings.ToUpper(name), "IGNITY_") && !config.Known(name)
}

func unknownKnob(name string) string {
	if s := suggestKnob(name); s != "" {
		return fmt.Sprintf("unknown knob %s: did you mean %s?", name, s)
	}
	return fmt.Sprintf("unknown knob %s: ignity has no such setting (see the Knobs table of its README)", name)
}

// suggestKnob returns the knob name most likely meant by name, or "".
func suggestKnob(name string) string {
	upper := strings.ToUpper(name)
	if rest := strings.TrimPrefix(upper, "IGNITY_"); config.Known(rest) {
		return rest // IGNITY_USERMAP_UID for USERMAP_UID
	}
	return closest(upper, config.Names(), func(string) int { return 3 }, squashUnderscores)
}

func squashUnderscores(s string) string { return strings.ReplaceAll(s, "_", "") }

// setPath records the PATH that scripts and services get at boot: the
// merged one, or ignity's default when it is empty, with execline's
// directory appended as ignity does.
func (c *checker) setPath(eff map[string]setting) {
	p, from := layout.DefaultPath, "the default PATH "+layout.DefaultPath
	if s := eff["PATH"]; s.value != "" {
		p = s.value
		from = "PATH " + s.value
		if s.path != envPath {
			from = fmt.Sprintf("the PATH set at %s:%d", s.path, s.line)
		}
	}
	c.pathDirs, c.pathFrom = strings.Split(layout.ProgramPath(p), ":"), from
}

// The room exec gives a program's strings, as Linux's bprm_stack_limits
// (fs/exec.c) computes it: a quarter of the stack limit (RLIMIT_STACK),
// at most 3/4 of _STK_LIM (8 MiB) and at least ARG_MAX (32 pages). The
// argv and envp strings, each with its NUL, and a pointer to each must
// fit in it; execve fails with E2BIG ("argument list too long") when
// they do not.
const (
	execRoomMax = 6 << 20
	execRoomMin = 32 * 4096
	// argvRoom is kept for the program's path and arguments (the CMD's,
	// ignity's own), which the environment shares the room with.
	argvRoom = 4096
)

// stackLimit is this process's RLIMIT_STACK (the one /init and all it
// starts run with, at boot), in bytes.
var stackLimit = func() uint64 {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &r); err != nil {
		return 8 << 20 // Linux's default
	}
	return r.Cur
}

// execLimit is the room exec gives argv and envp with a stack limit of
// stack bytes, and how it came about, for a message.
func execLimit(stack uint64) (int, string) {
	switch q := stack / 4; {
	case q > execRoomMax:
		return execRoomMax, "Linux's cap of 6 MiB"
	case q < execRoomMin:
		return execRoomMin, "Linux's floor of 128 KiB"
	default:
		return int(q), fmt.Sprintf("a quarter of the stack limit, ulimit -s %d", stack/1024)
	}
}

// execSize is what env takes of exec's room: each entry, its NUL and
// its pointer.
func execSize(env []string) int {
	n := 0
	for _, kv := range env {
		n += len(kv) + 1 + 8
	}
	return n
}

// execRoom reports, as an Error, a merged environment (merged, the
// entries Check keeps; eff, where each is set) too big for exec: no
// program could start with it. It counts the environment the stages
// give every program (PATH completed as layout.ChildEnv does) and names
// the biggest variables, where they are set.
func (c *checker) execRoom(merged []string, eff map[string]setting) {
	env := layout.ChildEnv(merged)
	limit, why := execLimit(stackLimit())
	size := execSize(env)
	if size+argvRoom <= limit {
		return
	}
	slices.SortStableFunc(env, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	var biggest []string
	for _, kv := range env[:min(3, len(env))] {
		name, _, _ := strings.Cut(kv, "=")
		where := "the container's environment"
		if s, ok := eff[name]; ok && s.path != envPath {
			where = fmt.Sprintf("%s:%d", s.path, s.line)
		}
		biggest = append(biggest, fmt.Sprintf("%s (%s, %d bytes)", name, where, len(kv)+1))
	}
	c.add(Error, envPath, 0, "the merged environment takes %d bytes (each NAME=value, its NUL and its pointer), over the %d that exec can give it (%s, less %d for the arguments): no program could start; the biggest variables: %s; put large values in files that the programs read",
		size, limit-argvRoom, why, argvRoom, strings.Join(biggest, ", "))
}
