package layout

// s6-overlay's paths: the directories a v2 (or behance docker-base) image
// configures, and the runtime paths its scripts call. Every runtime one
// outside /run/ignity is a symlink into it (see CompatLinks).

import "os"

// The in-image directories of s6-overlay's service definitions: v3's
// s6-rc source dirs and its user bundles' contents, v2's services.d; and
// s6-overlay's own source tree, where some images add definitions (Home
// Assistant's add-on base: oneshots in its base bundle),
// AdminDir/s6-overlay-VERSION/AdminSources.
const (
	S6rcDir        = "/etc/s6-overlay/s6-rc.d"
	UserBundlesDir = "/etc/s6-overlay/user-bundles.d"
	ServicesDDir   = "/etc/services.d"
	AdminDir       = "/package/admin"
	AdminSources   = "etc/s6-rc/sources"
)

// s6-overlay v2's configuration, read as it is.
func (l Layout) EtcFixAttrs() string   { return l.path("etc/fix-attrs.d") }
func (l Layout) EtcContInit() string   { return l.path("etc/cont-init.d") }
func (l Layout) EtcContFinish() string { return l.path("etc/cont-finish.d") }
func (l Layout) EtcServicesD() string  { return l.path(ServicesDDir) }
func (l Layout) EtcS6RcD() string      { return l.path(S6rcDir) }

// OverlayDirs are the directories whose presence means the image uses
// s6-overlay's layout, which changes two defaults (see config.ParseFor).
func (l Layout) OverlayDirs() []string {
	return []string{l.EtcS6RcD(), l.EtcServicesD(), l.EtcContInit(), l.EtcFixAttrs()}
}

// Overlay reports whether the image under l uses s6-overlay's layout:
// one of OverlayDirs exists.
func (l Layout) Overlay() bool {
	for _, d := range l.OverlayDirs() {
		if _, err := os.Stat(d); err == nil {
			return true
		}
	}
	return false
}

// HaltProgram is s6-overlay's halt command, inside /run/ignity (rebuilt
// at every boot) where the compatibility paths lead.
func (l Layout) HaltProgram() string { return l.path("run/ignity/s6/basedir/bin/halt") }

// Link is a symlink ignity makes, Path -> Target, both in-image paths
// (Path absolute; Target as the link holds it).
type Link struct{ Path, Target string }

func (k Link) String() string { return "ln -s " + k.Target + " " + k.Path }

// CompatLinks are s6-overlay's runtime paths outside /run/ignity, made at
// boot where the root is writable and by the installer for read-only
// roots. /var/run/s6 is needed only where /var/run is not Debian's
// symlink to /run (Compat leaves it out then).
var CompatLinks = []Link{
	{"/run/s6", "/run/ignity/s6"},
	{"/run/s6-linux-init-container-results", "/run/ignity/s6-linux-init-container-results"},
	{"/run/service", "/run/ignity/services-state"},
	{VarRunS6, "/run/ignity/s6"},
}

// VarRunS6 is s6-overlay v2's runtime directory. Its tarball made it a
// directory of its own; where an image still has one, VarRunS6Links are
// made in it (relative to it), leading into /run/ignity.
const VarRunS6 = "/var/run/s6"

// VarRunS6Links are v2's paths in a VarRunS6 directory: services (the
// scandir), container_environment (the merged envdir) and basedir.
var VarRunS6Links = []Link{
	{"services", "/run/ignity/services-state"},
	{"container_environment", "/run/ignity/envs"},
	{"basedir", "/run/ignity/s6/basedir"},
}

// OverlayPwd is the working directory an s6-overlay service name is
// shown: s6-overlay's own path to its service dir, which /run/s6/services
// leads to here (see RunLinks). linuxserver's with-contenv applies UMASK
// only when pwd prints /run/s6/services/*, /run/s6/legacy-services/* or
// /run/s6-rc*/servicedirs/svc-*.
func OverlayPwd(name string) string { return "/run/s6/services/" + name }

// RunLinks are the symlinks inside /run/ignity (relative to it) that
// complete s6-overlay's tree: /run/s6/container_environment is the
// merged envdir, /run/s6/services (and so /var/run/s6/services, v2's
// scandir) the live scandir.
var RunLinks = []Link{
	{"s6/container_environment", "../envs"},
	{"s6/services", "../services-state"},
}
