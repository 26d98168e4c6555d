// Package layout names every path ignity reads or writes. All of them hang
// off one root, "/" in a container, so tests can run against a temporary
// directory.
package layout

import (
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/proc"
)

// Layout is the set of ignity's paths under Root.
type Layout struct {
	Root string
}

// Default is the layout of a real container.
var Default = Layout{Root: "/"}

func (l Layout) path(p ...string) string {
	return filepath.Join(append([]string{l.Root}, p...)...)
}

// InImage is the path the image sees for host, a path under Root: what
// messages name, so that they read the same in a test's root as in a
// container. Other paths are returned as they are.
func (l Layout) InImage(host string) string {
	rel, err := filepath.Rel(l.path(), host)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return host
	}
	return filepath.Join("/", rel)
}

// The image's own directories ignity uses: /bin, where #! lines look for
// execlineb and sh; /run and /var/run, where s6-overlay v2's /var/run/s6
// is.
func (l Layout) Bin() string    { return l.path("bin") }
func (l Layout) Shell() string  { return l.path("bin/sh") }
func (l Layout) RunDir() string { return l.path("run") }
func (l Layout) VarRun() string { return l.path("var/run") }

// Configuration written by the image author; ignity never modifies it.
func (l Layout) Etc() string         { return l.path("etc/ignity") }
func (l Layout) EtcEnvs() string     { return l.path("etc/ignity/envs") }
func (l Layout) EtcPerms() string    { return l.path("etc/ignity/perms") }
func (l Layout) EtcInit() string     { return l.path("etc/ignity/init") }
func (l Layout) EtcFinalize() string { return l.path("etc/ignity/finalize") }
func (l Layout) EtcServices() string { return l.path(IgnityServicesDir) }

// IgnityServicesDir is the in-image directory of ignity's own service
// definitions (EtcServices is its host path).
const IgnityServicesDir = "/etc/ignity/services"

// Runtime state, rebuilt on every boot.
func (l Layout) Run() string         { return l.path("run/ignity") }
func (l Layout) RunEnvs() string     { return l.path("run/ignity/envs") }
func (l Layout) RunInit() string     { return l.path("run/ignity/init") }
func (l Layout) RunFinalize() string { return l.path("run/ignity/finalize") }
func (l Layout) RunServices() string { return l.path("run/ignity/services") }

// Scandir is the directory s6-svscan supervises: the live service dirs.
// It is a symlink to Servicedirs, made at each boot.
func (l Layout) Scandir() string { return l.path("run/ignity", ScandirName) }

// ScandirName is the scandir's name in /run/ignity (Run).
const ScandirName = "services-state"

// Servicedirs is where the scandir really is. s6-supervise runs each
// service in its dir, so a service's cwd (what /proc/PID/cwd and pwdx
// show) is Servicedirs/NAME: a path with /servicedirs/ in it, as under
// s6-overlay v3 (/run/s6-rc:.../servicedirs/NAME), which linuxserver's
// with-contenv looks for before it applies UMASK.
func (l Layout) Servicedirs() string { return l.path("run/ignity/servicedirs") }

// SvscanDir holds s6-svscan's own control files (signal handlers, finish).
func (l Layout) SvscanDir() string { return l.path("run/ignity/services-state/.s6-svscan") }

// Programs are the skaware programs the stages run. Their paths are
// Debian's, which s6 hard-codes; they are values so that tests can stand
// in for them.
type Programs struct {
	Svscan      string // s6-svscan: PID 1 while the container runs
	Svwait      string // s6-svwait
	Svstat      string // s6-svstat
	Foreground  string // execline's foreground: the CMD's waiter, the restart backoff's wait
	Withstdinas string // execline's withstdinas: the watcher of the CMD's waiter
	Execlineb   string // execlineb: runs s6-rc oneshots' up and down lines
	S6Log       string // s6-log: what logutil-service execs
	// StopHandler is s6-svscan's SIGTERM handler: an execline script of
	// the tarball that tells s6-svscan to exec stage3 (s6-svscanctl -b).
	StopHandler string
	// Stage3 is s6-svscan's finish and crash: an execline script of the
	// tarball that execs ignity stage3 with GOMAXPROCS=1, so that its Go
	// runtime starts the fewest threads (each takes a pid).
	Stage3 string
}

// Self is where the tarball installs ignity's binary, and Manifest the
// list of the skaware packages the release was built from, with their
// checksums (in-image paths).
const (
	Self     = "/usr/bin/ignity"
	Manifest = "/usr/lib/ignity/MANIFEST"
)

// CommandDir is s6-overlay v3's directory of its programs, /command, where
// the tarball links each helper and applet to ignity's program.
const CommandDir = "/command"

// ExeclineBin holds execline's programs (foreground, wait, eltest, ...).
const ExeclineBin = "/usr/lib/execline/bin"

// DefaultPrograms are the programs at the paths the tarball installs.
var DefaultPrograms = Programs{
	Svscan:      "/usr/bin/s6-svscan",
	Svwait:      "/usr/bin/s6-svwait",
	Svstat:      "/usr/bin/s6-svstat",
	Foreground:  ExeclineBin + "/foreground",
	Withstdinas: ExeclineBin + "/withstdinas",
	Execlineb:   "/usr/bin/execlineb",
	S6Log:       "/usr/bin/s6-log",
	StopHandler: "/usr/lib/ignity/SIGTERM",
	Stage3:      "/usr/lib/ignity/stage3",
}

// DefaultPath is the PATH given to everything ignity starts when the
// container has none.
const DefaultPath = proc.DefaultPath

// ProgramPath is the PATH the init, finalize and service scripts get
// (and with-env's programs), from the container's (path, empty when it
// has none): DefaultPath when empty, then execline's directory appended
// unless it is there, so that sh scripts can call eltest and friends as
// execline scripts do. The CMD is not among them: it gets the PATH the
// image and the init scripts set, unchanged (see ImageEnv).
func ProgramPath(path string) string {
	if path == "" {
		path = DefaultPath
	}
	if !strings.Contains(":"+path+":", ":"+ExeclineBin+":") {
		path += ":" + ExeclineBin
	}
	return path
}

// ChildEnv is env with its PATH (the last one) replaced by ProgramPath's,
// as the last entry: the environment of the scripts ignity starts.
func ChildEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+ProgramPath(path))
}

// ImageEnv undoes ChildEnv: env with execline's directory taken off the
// end of its PATH, where ChildEnv appends it.
func ImageEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + strings.TrimSuffix(v, ":"+ExeclineBin)
		}
		out = append(out, kv)
	}
	return out
}
