// Package layout names every path ignity reads or writes. All of them hang
// off one root, "/" in a container, so tests can run against a temporary
// directory.
package layout

import "path/filepath"

// Layout is the set of ignity's paths under Root.
type Layout struct {
	Root string
}

// Default is the layout of a real container.
var Default = Layout{Root: "/"}

func (l Layout) path(p ...string) string {
	return filepath.Join(append([]string{l.Root}, p...)...)
}

// Configuration written by the image author; ignity never modifies it.
func (l Layout) Etc() string         { return l.path("etc/ignity") }
func (l Layout) EtcEnvs() string     { return l.path("etc/ignity/envs") }
func (l Layout) EtcPerms() string    { return l.path("etc/ignity/perms") }
func (l Layout) EtcInit() string     { return l.path("etc/ignity/init") }
func (l Layout) EtcFinalize() string { return l.path("etc/ignity/finalize") }
func (l Layout) EtcServices() string { return l.path("etc/ignity/services") }

// Runtime state, rebuilt on every boot.
func (l Layout) Run() string         { return l.path("run/ignity") }
func (l Layout) RunEnvs() string     { return l.path("run/ignity/envs") }
func (l Layout) RunInit() string     { return l.path("run/ignity/init") }
func (l Layout) RunFinalize() string { return l.path("run/ignity/finalize") }
func (l Layout) RunServices() string { return l.path("run/ignity/services") }

// Scandir is the directory s6-svscan supervises: the live service dirs.
func (l Layout) Scandir() string { return l.path("run/ignity/services-state") }

// SvscanDir holds s6-svscan's own control files (signal handlers, finish).
func (l Layout) SvscanDir() string { return l.path("run/ignity/services-state/.s6-svscan") }

// State holds what the stages tell each other: the CMD's process group,
// the exit status, why the container is stopping. The files are hidden
// ones in /run/ignity itself: a directory for them would be one more
// inode to create on every boot.
func (l Layout) State(name string) string { return l.path("run/ignity", "."+name) }

// Skaware binaries keep Debian's paths: s6 hard-codes them.
const (
	ExeclineBin = "/usr/lib/execline/bin"
	Wait        = ExeclineBin + "/wait"
	Svscan      = "/usr/bin/s6-svscan"
	Svwait      = "/usr/bin/s6-svwait"
)

// DefaultPath is the PATH given to everything ignity starts when the
// container has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
