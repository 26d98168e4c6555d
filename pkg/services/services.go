// Package services is the one model of an image's service definitions,
// read as data from every source ignity knows, and of the start plan
// built from them:
//
//   - /etc/ignity/services/<name>/: s6 service dirs, with ignity's optional
//     file dependencies (one name per line, # comments);
//   - /etc/s6-overlay/s6-rc.d/<name>/: s6-overlay v3's definitions (type
//     longrun, oneshot or bundle; dependencies.d/, contents.d/, or s6-rc's
//     older dependencies and contents files; up, down,
//     producer-for/consumer-for/pipeline-name), started through the user
//     and user2 bundles (also /etc/s6-overlay/user-bundles.d/<bundle>/contents.d/),
//     and those images add to s6-overlay's own tree,
//     /package/admin/s6-overlay-VERSION/etc/s6-rc/sources (its base bundle
//     first);
//   - /etc/services.d/<name>/: s6-overlay v2's (and behance docker-base's)
//     service dirs, each a directory or a symlink to one elsewhere.
//
// Nothing here runs anything: check, the stages and status read the same
// Defs and Plan. Paths in the problems and in Service.Dir are the image's
// own; the tree is read from Root as if chroot'ed to it (symlinks resolve
// inside it).
package services

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/imagepath"
	"github.com/ignity/ignity/pkg/layout"
)

// Type is a definition's kind, as s6-rc's type file spells it.
type Type string

const (
	Longrun Type = "longrun" // a supervised process: an s6 service dir
	Oneshot Type = "oneshot" // an up (and optional down) command line, run once
	Bundle  Type = "bundle"  // a name for a set of definitions (contents.d/)
)

// Source is where a definition was read.
type Source int

const (
	Ignity    Source = iota // /etc/ignity/services
	S6rc                    // /etc/s6-overlay/s6-rc.d
	ServicesD               // /etc/services.d
)

// The bundles s6-overlay v3 starts, in order, around the services.d
// services (its legacy-services), and the names of its own stages that a
// definition may depend on: they are done before any definition starts
// (base: fix-attrs.d and cont-init.d), or stand for the services.d set.
const (
	BaseBundle     = "base"
	UserBundle     = "user"
	User2Bundle    = "user2"
	LegacyServices = "legacy-services"
)

// builtin are s6-overlay's own definitions: depending on one is allowed
// and met before the user's start (legacy-services: see Plan).
var builtin = map[string]bool{BaseBundle: true, "fix-attrs": true, "legacy-cont-init": true, LegacyServices: true}

// Longruns go into s6-svscan's scandir under their names. s6-svscan
// skips a name starting with '.' (so does every source here, silently,
// as s6 does: a dot name is how a service is set aside) and, without
// -L, one longer than 251 bytes, saying only "name too long". ignity's
// own per-service state (runstate's .restarts/NAME, written through a
// temporary .NAME.new within NAME_MAX, 255 bytes) takes 5 bytes more:
// MaxName is the longest name a longrun may have.
const (
	svscanNameMax = 251
	MaxName       = 255 - len("..new")
)

// NoTimeout is a Service's TimeoutUp or TimeoutDown when no file sets one.
const NoTimeout time.Duration = -1

// Service is one definition.
type Service struct {
	Name   string
	Type   Type
	Source Source
	Dir    string // in-image path of the definition, as listed ("/etc/services.d/web")
	Host   string // host path of what it resolves to, to read or copy from

	Deps     []string // dependency names, as written
	DepsFrom string   // in-image path that declares them, for messages
	DepLines []int    // for ignity's dependencies file: the line of each of Deps
	Contents []string // a bundle's members

	Notify      bool          // has notification-fd: counts once ready, not up
	TimeoutUp   time.Duration // timeout-up (ms), or NoTimeout; 0 = no limit
	TimeoutDown time.Duration // timeout-down (ms), or NoTimeout; 0 = no limit
	Up, Down    string        // a oneshot's command lines (execline syntax)
	UpFrom      string        // in-image path of up, for messages
	DownFrom    string

	ProducerFor  string
	ConsumerFor  []string // one name, or several for a funnel (s6-rc's pipelines)
	PipelineName string
}

// Defs are every definition of an image.
type Defs struct {
	List   []Service // in source order (ignity, s6-rc.d, services.d), then name order
	S6rc   bool      // /etc/s6-overlay/s6-rc.d exists: s6-overlay v3's order applies
	User   []string  // members of the user bundle, from every place they are listed
	User2  []string
	Base   []string // members of s6-overlay's base bundle an image added (layout.AdminSources)
	byName map[string]int
}

// Get returns the definition called name.
func (d Defs) Get(name string) (Service, bool) {
	i, ok := d.byName[name]
	if !ok {
		return Service{}, false
	}
	return d.List[i], true
}

// Load reads every definition under root (the image's top). Problems are
// what makes a definition unusable, each naming its file; a definition
// with one is still listed when its name and type are known.
//
// bundleDir (IGNITY_RUNTIME_BUNDLEDIR, an in-image path; "" for none)
// holds more members of the user and user2 bundles, in
// bundleDir/BUNDLE/contents.d.
func Load(root, bundleDir string) (Defs, []*fileerr.Error) {
	r := &reader{root: root, res: imagepath.NewResolver(root), bundleDir: bundleDir}
	d := Defs{byName: map[string]int{}}
	r.ignity(&d)
	r.s6rc(&d)
	r.servicesD(&d)
	return d, r.problems
}

type reader struct {
	root      string
	bundleDir string
	res       *imagepath.Resolver
	problems  []*fileerr.Error
}

func (r *reader) add(p string, line int, format string, args ...any) {
	r.problems = append(r.problems, fileerr.Errorf(p, line, format, args...))
}

func (r *reader) host(p string) string { return filepath.Join(r.root, filepath.FromSlash(p)) }

// names lists the entries of the in-image dir p in name order, skipping
// dot names; a missing dir has none.
func (r *reader) names(p string) []string {
	res, err := r.res.Resolve(p, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.add(p, 0, "%v", err)
		return nil
	}
	names, err := confdir.Names(r.host(res))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.add(p, 0, "read: %v", err)
		return nil
	}
	return names
}

// dir resolves the in-image path p to a directory, reporting why not.
// quiet leaves the report to the caller's own checks (ignity's service
// dirs: pkg/check and the install name what is wrong with them).
func (r *reader) dir(p string, quiet bool) (string, bool) {
	res, err := r.res.Resolve(p, true)
	if err != nil {
		if !quiet {
			r.add(p, 0, "dangling or unreadable: %v", err)
		}
		return "", false
	}
	st, err := os.Stat(r.host(res))
	switch {
	case err == nil && st.IsDir():
		return r.host(res), true
	case quiet:
	case err != nil:
		r.add(p, 0, "%v", err)
	default:
		r.add(p, 0, "not a directory: a definition is a directory")
	}
	return "", false
}

func (r *reader) define(d *Defs, s Service) {
	if i, ok := d.byName[s.Name]; ok {
		r.add(s.Dir, 0, "service %q is also defined as %s: rename one of them", s.Name, d.List[i].Dir)
		return
	}
	if s.Type == Longrun && len(s.Name) > MaxName {
		r.add(s.Dir, 0, "a service name of %d bytes is too long: s6-svscan skips names over %d bytes, and ignity keeps a service's state in files named after it (.NAME.new), so %d at most; shorten it", len(s.Name), svscanNameMax, MaxName)
	}
	d.byName[s.Name] = len(d.List)
	d.List = append(d.List, s)
}

// ignity reads /etc/ignity/services: longruns, each with an optional
// dependencies file.
func (r *reader) ignity(d *Defs) {
	r.longruns(d, layout.IgnityServicesDir, Ignity, func(s *Service) {
		if _, err := os.Stat(filepath.Join(s.Host, "dependencies")); err == nil {
			s.DepsFrom = path.Join(s.Dir, "dependencies")
			s.Deps, s.DepLines = r.depsFile(s.DepsFrom, filepath.Join(s.Host, "dependencies"))
		}
	})
}

// longruns defines the service dirs of the in-image dir, read from src,
// and more of each (nil: nothing more) beside a longrun's own files. A
// bad entry of /etc/ignity/services is left for pkg/check and the install
// to name; another source's is reported here.
func (r *reader) longruns(d *Defs, dir string, src Source, more func(s *Service)) {
	for _, n := range r.names(dir) {
		p := path.Join(dir, n)
		h, ok := r.dir(p, src == Ignity)
		if !ok {
			continue
		}
		s := Service{Name: n, Type: Longrun, Source: src, Dir: p, Host: h}
		r.longrunFiles(&s)
		if more != nil {
			more(&s)
		}
		r.define(d, s)
	}
}

// depsFile reads ignity's dependencies file: one name per line, blank
// lines and # comments (whole line or after the name) ignored.
func (r *reader) depsFile(p, host string) ([]string, []int) {
	f, err := os.Open(host)
	if err != nil {
		r.add(p, 0, "%v", err)
		return nil, nil
	}
	defer f.Close()
	var out []string
	var lines []int
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		t = strings.TrimSpace(t)
		switch {
		case t == "":
		case strings.ContainsAny(t, " \t/"):
			r.add(p, line, "bad service name %q: want one name per line, without spaces or '/'", t)
		default:
			out = append(out, t)
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		r.add(p, 0, "read: %v", err)
	}
	return out, lines
}

// longrunFiles reads the s6 files the dependency engine needs.
func (r *reader) longrunFiles(s *Service) {
	_, err := os.Stat(filepath.Join(s.Host, "notification-fd"))
	s.Notify = err == nil
	s.TimeoutUp = r.millis(s, "timeout-up")
	s.TimeoutDown = NoTimeout
}

// millis reads the first line of the file name of s as milliseconds.
func (r *reader) millis(s *Service, name string) time.Duration {
	b, err := os.ReadFile(filepath.Join(s.Host, name))
	if err != nil {
		return NoTimeout
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, err := strconv.ParseUint(strings.TrimSpace(line), 10, 31)
	if err != nil {
		r.add(path.Join(s.Dir, name), 1, "want a whole number of milliseconds (0 = no limit), got %q", cut(line))
		return NoTimeout
	}
	return time.Duration(n) * time.Millisecond
}

func cut(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func (r *reader) s6rc(d *Defs) {
	if _, err := r.res.Resolve(layout.S6rcDir, true); err == nil {
		if st, err := os.Stat(r.host(layout.S6rcDir)); err == nil && st.IsDir() {
			d.S6rc = true
		}
	}
	r.s6rcDir(d, layout.S6rcDir, false)
	for _, dir := range r.adminSources() {
		if len(r.names(dir)) > 0 {
			d.S6rc = true
		}
		r.s6rcDir(d, dir, true)
	}
	r.pipelineBundles(d)
	d.User = r.members(d, UserBundle)
	d.User2 = r.members(d, User2Bundle)
	d.Base = r.members(d, BaseBundle)
}

// adminSources lists s6-overlay's own source directories that exist in
// the image, each once: /package/admin/s6-overlay/etc/s6-rc/sources and
// /package/admin/s6-overlay-VERSION/etc/s6-rc/sources (the version read
// from the directory's name, as images write it:
// s6-overlay-${S6_OVERLAY_VERSION}).
func (r *reader) adminSources() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range r.names(layout.AdminDir) {
		if n != "s6-overlay" && !strings.HasPrefix(n, "s6-overlay-") {
			continue
		}
		p := path.Join(layout.AdminDir, n, layout.AdminSources)
		res, err := r.res.Resolve(p, true)
		if err != nil || seen[res] {
			continue
		}
		if st, err := os.Stat(r.host(res)); err != nil || !st.IsDir() {
			continue
		}
		seen[res] = true
		out = append(out, p)
	}
	return out
}

// s6rcDir reads the definitions of an s6-rc source directory. In
// s6-overlay's own (admin), images add members to its bundles (base,
// user, user2, top) without their type file: a directory there with
// contents.d and no type is a bundle, and a bundle defined in both
// places has the members of both.
func (r *reader) s6rcDir(d *Defs, dir string, admin bool) {
	for _, n := range r.names(dir) {
		p := path.Join(dir, n)
		h, ok := r.dir(p, false)
		if !ok {
			continue
		}
		s := Service{Name: n, Source: S6rc, Dir: p, Host: h}
		b, err := os.ReadFile(filepath.Join(h, "type"))
		// s6-overlay's own tarball ships user/type and user2/type
		// (bundle): images ship only user/contents.d/. In s6-overlay's
		// own sources, images add members to its bundles the same way.
		if err != nil && (n == UserBundle || n == User2Bundle || admin && isDir(filepath.Join(h, "contents.d"))) {
			b, err = []byte(Bundle), nil
		}
		if err != nil {
			r.add(p, 0, "no type file: s6-rc wants type holding longrun, oneshot or bundle")
			continue
		}
		t := strings.TrimSpace(string(b))
		switch Type(t) {
		case Longrun:
			s.Type = Longrun
			r.longrunFiles(&s)
			// A missing run: pkg/check's service dir check names it.
			s.ProducerFor = r.word(&s, "producer-for")
			s.ConsumerFor = strings.Fields(r.word(&s, "consumer-for"))
			s.PipelineName = r.word(&s, "pipeline-name")
		case Oneshot:
			s.Type = Oneshot
			s.TimeoutUp = r.millis(&s, "timeout-up")
			s.TimeoutDown = r.millis(&s, "timeout-down")
			up, err := os.ReadFile(filepath.Join(h, "up"))
			if err != nil {
				r.add(p, 0, "oneshot without up: s6-rc runs its up file (one execline command line)")
			}
			s.Up, s.UpFrom = string(up), path.Join(p, "up")
			if down, err := os.ReadFile(filepath.Join(h, "down")); err == nil {
				s.Down, s.DownFrom = string(down), path.Join(p, "down")
			}
		case Bundle:
			s.Type = Bundle
			s.Contents = r.list(p, "contents")
		default:
			r.add(path.Join(p, "type"), 1, "unknown type %q: want longrun, oneshot or bundle", cut(t))
			continue
		}
		if s.Type != Bundle {
			s.Deps = r.list(p, "dependencies")
			s.DepsFrom = path.Join(p, "dependencies.d")
			if !isDir(filepath.Join(h, "dependencies.d")) && len(s.Deps) > 0 {
				s.DepsFrom = path.Join(p, "dependencies")
			}
		}
		if n == UserBundle || n == User2Bundle || n == BaseBundle {
			if s.Type != Bundle {
				r.add(path.Join(p, "type"), 1, "%s is s6-overlay's bundle of services to start: want type bundle, got %s", n, s.Type)
				continue
			}
		}
		if i, ok := d.byName[n]; ok && admin && s.Type == Bundle && d.List[i].Type == Bundle {
			d.List[i].Contents = append(d.List[i].Contents, s.Contents...)
			continue
		}
		r.define(d, s)
	}
}

// pipelineBundles makes the bundle s6-rc makes of each pipeline, named by
// its last consumer's pipeline-name, holding the whole pipeline: the
// consumer and, back through consumer-for, every producer.
func (r *reader) pipelineBundles(d *Defs) {
	for _, s := range append([]Service(nil), d.List...) {
		if s.Source != S6rc || s.PipelineName == "" {
			continue
		}
		if _, ok := d.Get(s.PipelineName); ok {
			continue
		}
		b := Service{Name: s.PipelineName, Type: Bundle, Source: S6rc, Dir: path.Join(s.Dir, "pipeline-name"), Host: s.Host}
		seen := map[string]bool{}
		for queue := []string{s.Name}; len(queue) > 0; queue = queue[1:] {
			n := queue[0]
			if seen[n] {
				continue
			}
			seen[n] = true
			b.Contents = append(b.Contents, n)
			if p, ok := d.Get(n); ok {
				queue = append(queue, p.ConsumerFor...)
			}
		}
		r.define(d, b)
	}
}

// list reads the names of a definition's dependencies or contents as
// s6-rc does: the entries of NAME.d/ or, where that directory is absent,
// the file NAME, one name per line (s6-rc's older format).
func (r *reader) list(def, name string) []string {
	if d := path.Join(def, name+".d"); r.exists(d) {
		return r.names(d)
	}
	p := path.Join(def, name)
	if !r.exists(p) {
		return nil
	}
	out, _ := r.depsFile(p, r.host(p))
	return out
}

// exists reports whether the in-image path p leads somewhere.
func (r *reader) exists(p string) bool {
	res, err := r.res.Resolve(p, true)
	if err != nil {
		return false
	}
	_, err = os.Stat(r.host(res))
	return err == nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// members lists bundle's members from s6-rc.d/bundle/contents.d and from
// user-bundles.d/bundle/contents.d, each once, in name order.
func (r *reader) members(d *Defs, bundle string) []string {
	seen := map[string]bool{}
	var out []string
	var from []string
	if s, ok := d.Get(bundle); ok {
		from = s.Contents
	}
	from = append(from, r.names(path.Join(layout.UserBundlesDir, bundle, "contents.d"))...)
	if r.bundleDir != "" {
		from = append(from, r.names(path.Join(r.bundleDir, bundle, "contents.d"))...)
	}
	for _, n := range from {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// word reads the one-word file name of s, or "".
func (r *reader) word(s *Service, name string) string {
	b, err := os.ReadFile(filepath.Join(s.Host, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// servicesD reads s6-overlay v2's /etc/services.d: longruns.
func (r *reader) servicesD(d *Defs) {
	r.longruns(d, layout.ServicesDDir, ServicesD, nil)
}
