// Command ignity is ignity's one binary. It is installed as /init (the
// container's PID 1), as /usr/bin/ignity, and under the names of its
// helpers (with-env, with-contenv, printcontenv, load-envfile, fix-perms,
// preboot, with-retries, logutil-service, and halt at s6-overlay's
// /run/s6/basedir/bin/halt), under /command for s6-overlay's scripts, and as the run of services whose output it prefixes; it
// runs the applet named by argv[0], or by argv[1] when called as ignity.
//
// Exit codes: 0 ok; 100 usage or configuration error; 111 system failure;
// 126/127 a program cannot be executed / is not found; 128+n killed by
// signal n. As /init, the container's exit status (see the README).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ignity/ignity/pkg/applets"
	"github.com/ignity/ignity/pkg/cmdrun"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/logprefix"
	"github.com/ignity/ignity/pkg/restart"
	"github.com/ignity/ignity/pkg/sighandler"
	"github.com/ignity/ignity/pkg/signals"
	"github.com/ignity/ignity/pkg/stages"
	"golang.org/x/sys/unix"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

// commit is the git commit of the build, set like version (-X main.commit=...).
var commit = "unknown"

type applet struct {
	name   string
	usage  string
	hidden bool // internal: run by ignity itself, not by users
	run    func(args []string) error
}

var l = layout.Default

func table() []applet {
	sys := func() container.System { return container.Default(self()) }
	list := []applet{
		{name: "init", usage: "init [CMD...]: boot the container (PID 1)", run: func(a []string) error {
			return applets.ExitCode(stages.Stage1(sys(), a))
		}},
		{name: "with-env", usage: "with-env PROG...: run PROG with the merged environment of /run/ignity/envs", run: func(a []string) error {
			return applets.WithEnv(l, a)
		}},
		{name: "with-contenv", usage: "with-contenv PROG...: s6-overlay's name for with-env (#!/command/with-contenv bash)", run: func(a []string) error {
			return applets.WithContenv(l, a)
		}},
		{name: "printcontenv", usage: "printcontenv [NAME...]: print the value of each NAME in the merged environment (exit 1 if one is unset), or every NAME=value", run: func(a []string) error {
			return applets.Printcontenv(l, a, os.Stdout)
		}},
		{name: "halt", usage: "halt: stop the container (s6-overlay's /run/s6/basedir/bin/halt); a number in /run/s6-linux-init-container-results/exitcode becomes its exit status", run: func(a []string) error {
			return applets.Halt(l, a)
		}},
		{name: "load-envfile", usage: "load-envfile PROG... < FILE: run PROG with the dotenv FILE applied", run: func(a []string) error {
			return applets.LoadEnvfile(os.Stdin, a)
		}},
		{name: "fix-perms", usage: "fix-perms < FILE: apply perms lines (path account fmode dmode)", run: func(a []string) error {
			return applets.FixPermsCmd(l, a, os.Stdin)
		}},
		{name: "preboot", usage: "preboot: create the USER account and apply /etc/ignity/perms (RUN preboot)", run: func(a []string) error {
			return applets.PrebootCmd(l, a)
		}},
		{name: "check", usage: "check [--root DIR]: validate the image's ignity configuration without running it; exit 1 on problems", run: func(a []string) error {
			return applets.Check(a, os.Stdout)
		}},
		{name: "status", usage: "status [--json]: one line per service and for the CMD: state, pid, uptime, restarts, last exit, wanted up, essential", run: func(a []string) error {
			return applets.Status(l, a, os.Stdout)
		}},
		{name: "health", usage: "health: exit 0 when every service that should be up is up (and ready) and its health program passes; else name them, exit 1", run: func(a []string) error {
			return applets.Health(l, a, os.Stdout)
		}},
		{name: "logutil-service", usage: "logutil-service [-f FIFO] DIR: exec s6-log into DIR with IGNITY_LOGGING_SCRIPT, as nobody when root (for a one-line log/run)", run: func(a []string) error {
			return applets.LogutilService(l, a, unix.Exec)
		}},
		{name: "with-retries", usage: "with-retries [-n N] [-t MS] PROG...: run PROG until it succeeds, at most N+1 times, each for at most MS ms", run: applets.WithRetries},
		{name: "s6-rc", usage: "s6-rc [-v N] [-t MS] [-a] [-u|-d] list|listall|change [NAME...]: s6-rc's command line on ignity's services (README: Migrating from s6-overlay)", run: func(a []string) error {
			return applets.S6rc(l, a, os.Stdout, os.Stderr)
		}},
		{name: "s6-overlay-suexec", usage: "s6-overlay-suexec { PROG1... } PROG2...: run PROG1 as the caller (nothing setuid), then exec PROG2", run: func(a []string) error {
			return applets.Suexec(a, os.Stderr)
		}},
		{name: "stage2", hidden: true, run: func(a []string) error {
			return applets.ExitCode(stages.Stage2(sys(), dashdash(a), os.NewFile(3, "s6-svscan-ready")))
		}},
		{name: "log-prefixer", hidden: true, run: func(a []string) error {
			return logprefix.Main(dashdash(a), os.Stdout, os.Stderr)
		}},
		{name: "stage3", hidden: true, run: func(a []string) error { return applets.ExitCode(stages.Stage3(sys())) }},
		{name: "cmd-start", hidden: true, run: func(a []string) error { return applets.ExitCode(cmdrun.Start(sys(), a)) }},
		{name: "cmd-exit", hidden: true, run: func(a []string) error { return applets.ExitCode(cmdrun.Exit(sys(), a)) }},
		{name: "cmd-lost", hidden: true, run: func(a []string) error { return applets.ExitCode(cmdrun.Lost(sys(), a)) }},
	}
	for _, p := range applets.PortableUtils {
		list = append(list, applet{name: p.Name, usage: p.Usage + ": s6-portable-utils' " + p.Name, run: func(a []string) error {
			return p.Run(a, os.Stdin, os.Stdout, os.Stderr)
		}})
	}
	return list
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run dispatches argv to its applet: a control file of s6-svscan's by
// its path (stage3 for finish and crash, else a signal's handler), a
// service's run or finish by its directory (s6-supervise spawns them from
// a service dir of the scandir), else by argv[0]'s base name, or by
// argv[1] when called as ignity.
func run(argv []string, stdout, stderr io.Writer) int {
	if name := signals.Control(argv[0]); name != "" {
		if signals.RunsStage3(name) {
			return stages.Stage3(container.Default(self()))
		}
		if h := sighandler.Find(name); h != nil {
			return h(container.Default(self()))
		}
	}
	if p := restart.ServiceProgram(l, argv[0]); p != nil {
		return p(container.Default(self()), argv[1:])
	}
	name := filepath.Base(argv[0])
	args := argv[1:]
	if name == "ignity" || name == "ignity-init" {
		if len(args) == 0 {
			help(stderr)
			return 100
		}
		switch args[0] {
		case "--version", "version":
			printVersion(stdout)
			return 0
		case "--help", "-h", "help":
			help(stdout)
			return 0
		}
		name, args = args[0], args[1:]
	}
	for _, a := range table() {
		if a.name == name {
			return exitCode(stderr, a, a.run(args))
		}
	}
	fmt.Fprintf(stderr, "ignity: unknown applet %q\n", name)
	help(stderr)
	return 100
}

// exitCode maps an applet's error to its exit code, the documented
// contract (see the package comment), printing the error once.
func exitCode(stderr io.Writer, a applet, err error) int {
	var code applets.ExitCode
	var execErr *applets.ExecError
	var usage applets.UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &execErr):
		fmt.Fprintf(stderr, "ignity: %s: %v\n", a.name, err)
		return execErr.Code
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "ignity: %s: %v\nusage: %s\n", a.name, err, a.usage)
		return 100
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "ignity: %s: %s\n", a.name, line)
	}
	return 100
}

// self is this binary's path, for the scripts and children that run it.
func self() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return layout.Self
}

// dashdash drops the "--" that separates an internal applet's arguments.
func dashdash(a []string) []string {
	if len(a) > 0 && a[0] == "--" {
		return a[1:]
	}
	return a
}

// printVersion prints the version, the commit and architecture of the
// build, the s6 and execline versions shipped beside it, then the whole
// manifest of Debian packages with their checksums.
func printVersion(w io.Writer) {
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	fmt.Fprintf(w, "ignity %s (commit %s, %s)\n", version, commit, arch)
	b, err := os.ReadFile(layout.Manifest)
	if err != nil {
		fmt.Fprintf(w, "skaware: unknown (%v)\n", err)
		return
	}
	var skaware []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "s6" || f[0] == "execline") {
			skaware = append(skaware, f[0]+" "+f[1])
		}
	}
	fmt.Fprintf(w, "skaware: %s\nbuilt with:\n%s", strings.Join(skaware, ", "), b)
}

func help(w io.Writer) {
	fmt.Fprintf(w, "ignity %s: a container init around s6\n\nusage: ignity APPLET [ARGS...], or run an applet by its installed name\n\n", version)
	for _, a := range table() {
		if !a.hidden {
			fmt.Fprintf(w, "  %s\n", a.usage)
		}
	}
	fmt.Fprintln(w, "  ignity --version: print the version and the skaware it ships")
}
