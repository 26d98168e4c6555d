package services

import (
	"encoding/json"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/execline"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/layout"
)

// Unit is one definition the boot starts: a longrun or a oneshot. It is
// also what the later stages read back from the recorded plan
// (runstate.State.Plan): hence the JSON names.
type Unit struct {
	Name   string `json:"name"`
	Type   Type   `json:"type"` // Longrun or Oneshot
	Source Source `json:"source"`
	Dir    string `json:"dir"` // in-image path of the definition
	Host   string `json:"host"`
	// Deps are the units it waits for: its own dependencies, with
	// bundles replaced by their members, then, in s6-overlay's layout,
	// the units of the phase before its own (user, services.d, user2).
	Deps  []string `json:"deps"`
	Level int      `json:"level"` // 0 for a unit without Deps, else 1 + the highest of its Deps'

	Notify      bool          `json:"notify,omitempty"`
	TimeoutUp   time.Duration `json:"timeout_up"` // NoTimeout when no file sets it
	TimeoutDown time.Duration `json:"timeout_down"`
	Up          string        `json:"up,omitempty"`
	Down        string        `json:"down,omitempty"` // a oneshot's down line
	UpFrom      string        `json:"up_from,omitempty"`
	DownFrom    string        `json:"down_from,omitempty"` // its file, for messages
	// Logger is the consumer a producer-for pipeline feeds (s6-rc's
	// pipelines), which runs as this longrun's log/ service; "" for none.
	// LoggerHost is the host path of its definition, copied to log/.
	Logger     string `json:"logger,omitempty"`
	LoggerHost string `json:"logger_host,omitempty"`
	// Feeds is the consumer of a funnel (a pipeline with several
	// producers) this longrun's stdout goes to, through one FIFO; Fed
	// marks that consumer, which reads the FIFO as its stdin. "" and
	// false outside a funnel.
	Feeds string `json:"feeds,omitempty"`
	Fed   bool   `json:"fed,omitempty"`
}

// Plan is the start: every unit, by level then name. A unit of level n
// starts once each of its Deps, all of lower levels, counts as started.
type Plan struct {
	Units []Unit `json:"units"`
	// Unused are the in-image dirs of the definitions that do not start:
	// in s6-overlay's layout, those neither in the user nor the user2
	// bundle, nor a dependency of one of their members.
	Unused []string `json:"unused,omitempty"`
	byName map[string]int
}

// UnmarshalJSON reads a plan back as MakePlan made it, Get included.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type fields Plan // without this method
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*p = Plan(f)
	p.index()
	return nil
}

func (p *Plan) index() {
	p.byName = make(map[string]int, len(p.Units))
	for i, u := range p.Units {
		p.byName[u.Name] = i
	}
}

// HasDeps reports whether any unit waits for another, a oneshot is to
// run, or a bundle of s6-overlay's starts something: then the boot runs
// the ordered start and the CMD waits for it, as s6-overlay v3 runs the
// CMD once s6-rc has brought its bundles up.
func (p Plan) HasDeps() bool {
	for _, u := range p.Units {
		if len(u.Deps) > 0 || u.Type == Oneshot || u.Source == S6rc {
			return true
		}
	}
	return false
}

// Get returns the unit called name.
func (p Plan) Get(name string) (Unit, bool) {
	i, ok := p.byName[name]
	if !ok {
		return Unit{}, false
	}
	return p.Units[i], true
}

// Levels is the highest level plus one.
func (p Plan) Levels() int {
	n := 0
	for _, u := range p.Units {
		n = max(n, u.Level+1)
	}
	return n
}

// MakePlan builds the start plan of d. Problems are configuration errors:
// an unknown dependency or bundle member, a cycle (named by its path,
// "a -> b -> c -> a"). With any, the plan must not be used.
func MakePlan(d Defs) (Plan, []*fileerr.Error) {
	pl := &planner{d: d, deps: map[string][]string{}}
	// What starts: ignity's services and services.d's, then with s6-rc.d
	// the members of user and user2 and, transitively, their dependencies.
	// Phases: s6-overlay's base bundle (the members images add to it),
	// user, the services.d and ignity services, user2.
	var phases [4][]string
	for _, s := range d.List {
		if s.Source == Ignity || s.Source == ServicesD {
			phases[2] = append(phases[2], s.Name)
		}
	}
	in := map[string]bool{}
	phases[0] = pl.closure(d.Base, in, path.Join(layout.S6rcDir, BaseBundle, "contents.d"))
	phases[1] = pl.closure(d.User, in, path.Join(layout.S6rcDir, UserBundle, "contents.d"))
	for _, n := range phases[2] {
		in[n] = true
	}
	for _, n := range phases[2] {
		pl.expand(n, in)
	}
	phases[3] = pl.closure(d.User2, in, path.Join(layout.S6rcDir, User2Bundle, "contents.d"))
	// services.d and ignity's dependencies that are s6-rc definitions
	// were pulled into their phase's closure by expand: give them it.
	for n := range in {
		if !contains(phases[0], n) && !contains(phases[1], n) && !contains(phases[2], n) && !contains(phases[3], n) {
			phases[2] = append(phases[2], n)
		}
	}
	for i := range phases {
		sort.Strings(phases[i])
	}
	// s6-overlay's order: user after base, services.d after user, user2
	// after all.
	if d.S6rc {
		var prev []string
		for _, ph := range phases {
			if len(ph) == 0 {
				continue
			}
			for _, n := range ph {
				for _, p := range prev {
					if !contains(pl.deps[n], p) {
						pl.deps[n] = append(pl.deps[n], p)
					}
				}
			}
			prev = ph
		}
	}
	var units []string
	for _, ph := range phases {
		units = append(units, ph...)
	}
	pl.cycles(units)
	if len(pl.problems) > 0 {
		return Plan{}, pl.problems
	}
	pl.pipelines(units)
	var plan Plan
	level := map[string]int{}
	var levelOf func(n string) int
	levelOf = func(n string) int {
		if l, ok := level[n]; ok {
			return l
		}
		l := 0
		for _, dep := range pl.deps[n] {
			l = max(l, levelOf(dep)+1)
		}
		level[n] = l
		return l
	}
	for _, n := range units {
		if pl.logger[n] {
			continue
		}
		s, _ := d.Get(n)
		deps := append([]string(nil), pl.deps[n]...)
		sort.Strings(deps)
		var loggerHost string
		if lg, ok := d.Get(pl.loggerOf[n]); ok {
			loggerHost = lg.Host
		}
		plan.Units = append(plan.Units, Unit{
			Name: n, Type: s.Type, Source: s.Source, Dir: s.Dir, Host: s.Host, Deps: deps, Level: levelOf(n),
			Notify: s.Notify, TimeoutUp: s.TimeoutUp, TimeoutDown: s.TimeoutDown,
			Up: s.Up, Down: s.Down, UpFrom: s.UpFrom, DownFrom: s.DownFrom,
			Logger: pl.loggerOf[n], LoggerHost: loggerHost, Feeds: pl.feeds[n], Fed: pl.fed[n],
		})
	}
	sort.SliceStable(plan.Units, func(i, j int) bool {
		a, b := plan.Units[i], plan.Units[j]
		if a.Level != b.Level {
			return a.Level < b.Level
		}
		return a.Name < b.Name
	})
	plan.index()
	for _, s := range d.List {
		if !in[s.Name] && s.Type != Bundle {
			plan.Unused = append(plan.Unused, s.Dir)
		}
	}
	return plan, nil
}

type planner struct {
	d        Defs
	deps     map[string][]string // unit -> units it waits for (bundles expanded)
	logger   map[string]bool     // consumers run as their producer's log/
	loggerOf map[string]string
	feeds    map[string]string // funnel producer -> its consumer
	fed      map[string]bool   // funnel consumers
	problems []*fileerr.Error
}

func (pl *planner) add(p string, format string, args ...any) {
	pl.problems = append(pl.problems, fileerr.Errorf(p, 0, format, args...))
}

// members expands the name n to the units it stands for: itself, or a
// bundle's members (recursively), reporting unknown names as found in
// from. seen guards against bundles containing themselves.
func (pl *planner) members(n, from string, seen map[string]bool) []string {
	s, ok := pl.d.Get(n)
	if !ok {
		if builtin[n] {
			return nil
		}
		pl.add(path.Join(from, n), "no service or bundle %q: define it in %s, %s or %s, or remove this entry", n, layout.IgnityServicesDir, layout.S6rcDir, layout.ServicesDDir)
		return nil
	}
	if s.Type != Bundle {
		return []string{n}
	}
	if seen[n] {
		pl.add(path.Join(s.Dir, "contents.d"), "bundle %q contains itself", n)
		return nil
	}
	seen[n] = true
	var out []string
	for _, m := range s.Contents {
		out = append(out, pl.members(m, path.Join(s.Dir, "contents.d"), seen)...)
	}
	delete(seen, n)
	return out
}

// expand records the dependencies of unit n (once), and of those, adding
// each to in.
func (pl *planner) expand(n string, in map[string]bool) {
	if _, done := pl.deps[n]; done {
		return
	}
	s, _ := pl.d.Get(n)
	deps := []string{}
	for i, dep := range s.Deps {
		from := s.DepsFrom
		if s.Source == Ignity {
			// one file: name it and the line, not a path under it
			from = path.Dir(s.DepsFrom)
			if _, ok := pl.d.Get(dep); !ok && !builtin[dep] {
				pl.problems = append(pl.problems, fileerr.Errorf(s.DepsFrom, s.DepLines[i],
					"dependency %q: no such service or bundle (in %s, %s or %s)", dep, layout.IgnityServicesDir, layout.S6rcDir, layout.ServicesDDir))
				continue
			}
		}
		if dep == LegacyServices {
			// s6-overlay's services.d stage: the order already puts
			// user2 after it; a user member cannot wait for it.
			continue
		}
		for _, m := range pl.members(dep, from, map[string]bool{}) {
			if !contains(deps, m) {
				deps = append(deps, m)
			}
		}
	}
	pl.deps[n] = deps
	for _, dep := range deps {
		in[dep] = true
		pl.expand(dep, in)
	}
}

// closure expands the bundle members names (listed in from) with their
// dependencies, returns those not yet in in, and adds them.
func (pl *planner) closure(names []string, in map[string]bool, from string) []string {
	var roots []string
	for _, n := range names {
		roots = append(roots, pl.members(n, from, map[string]bool{})...)
	}
	before := map[string]bool{}
	for n := range in {
		before[n] = true
	}
	for _, n := range roots {
		in[n] = true
	}
	for _, n := range roots {
		pl.expand(n, in)
	}
	var out []string
	for n := range in {
		if !before[n] {
			out = append(out, n)
		}
	}
	return out
}

// cycles reports each dependency cycle among units once, by its path
// from its smallest name: "a -> b -> c -> a".
func (pl *planner) cycles(units []string) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	seen := map[string]bool{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		deps := append([]string(nil), pl.deps[n]...)
		sort.Strings(deps)
		for _, dep := range deps {
			switch color[dep] {
			case white:
				visit(dep)
			case grey:
				i := len(stack) - 1
				for stack[i] != dep {
					i--
				}
				cyc := rotate(stack[i:])
				key := strings.Join(cyc, " ")
				if !seen[key] {
					seen[key] = true
					s, _ := pl.d.Get(cyc[0])
					where := s.DepsFrom
					if where == "" {
						where = s.Dir
					}
					pl.add(where, "dependency cycle: %s -> %s", strings.Join(cyc, " -> "), cyc[0])
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	sorted := append([]string(nil), units...)
	sort.Strings(sorted)
	for _, n := range sorted {
		if color[n] == white {
			visit(n)
		}
	}
}

// rotate starts the cycle c at its smallest name.
func rotate(c []string) []string {
	m := 0
	for i, n := range c {
		if n < c[m] {
			m = i
		}
	}
	return append(append([]string(nil), c[m:]...), c[:m]...)
}

// pipelines pairs each producer-for longrun with its consumer, which then
// runs as the producer's log/ (s6-svscan pipes the two, as s6-rc's
// pipelines do). A dependency on the consumer becomes one on the
// producer. A consumer with several producers (a funnel: its consumer-for
// names them, or several producer-for name it) is one longrun of its
// own, which reads a FIFO all its producers write to, as s6-rc gives them
// one pipe. Longer pipelines (a consumer that produces too) run unpiped.
func (pl *planner) pipelines(units []string) {
	pl.logger, pl.loggerOf = map[string]bool{}, map[string]string{}
	pl.feeds, pl.fed = map[string]string{}, map[string]bool{}
	producers := map[string][]string{}
	for _, n := range units {
		s, _ := pl.d.Get(n)
		c, ok := pl.d.Get(s.ProducerFor)
		if s.ProducerFor == "" || !ok || c.Type != Longrun || c.ProducerFor != "" || !contains(units, c.Name) {
			continue
		}
		producers[c.Name] = append(producers[c.Name], n)
	}
	for c, ps := range producers {
		cs, _ := pl.d.Get(c)
		if len(ps) == 1 && len(cs.ConsumerFor) <= 1 {
			pl.logger[c], pl.loggerOf[ps[0]] = true, c
			continue
		}
		pl.fed[c] = true
		for _, p := range ps {
			pl.feeds[p] = c
		}
	}
	for n, deps := range pl.deps {
		var out []string
		for _, dep := range deps {
			if pl.logger[dep] {
				for p, c := range pl.loggerOf {
					if c == dep {
						dep = p
					}
				}
			}
			if dep != n && !contains(out, dep) {
				out = append(out, dep)
			}
		}
		pl.deps[n] = out
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DownLines counts the oneshots whose down line runs a program at the
// shutdown (execline.Runs): each counts as a finalize script in the
// shutdown bound.
func (p Plan) DownLines() int {
	n := 0
	for _, u := range p.Units {
		if u.Type == Oneshot && execline.Runs(u.Down) {
			n++
		}
	}
	return n
}
