package check

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
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
			var le *envload.LineError
			if errors.As(e, &le) {
				c.add(Error, le.File, le.Line, "%s", le.Msg) // names and positions only
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

// badKnob reports e, an error of config.Parse naming a knob as
// `NAME="value": why`, where the value was set. A value set in an env file
// is not quoted: only why it is wrong is.
func (c *checker) badKnob(e error, eff map[string]setting) {
	name, _, _ := strings.Cut(e.Error(), "=")
	s, ok := eff[name]
	if !ok || s.path == envPath {
		c.add(Error, envPath, 0, "%v", e)
		return
	}
	why := "see the Knobs table of ignity's README"
	if inner := errors.Unwrap(e); inner != nil {
		why = inner.Error()
	} else if rest, ok := strings.CutPrefix(e.Error(), fmt.Sprintf("%s=%q: ", name, s.value)); ok {
		why = rest
	}
	c.add(Error, s.path, s.line, "bad value of %s: %s", name, why)
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
