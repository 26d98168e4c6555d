// Command ignity is ignity's one binary. It is installed as /init (the
// container's PID 1), as /usr/bin/ignity, and under the names of its
// helpers (with-env, load-envfile, fix-perms, preboot, with-retries); it
// runs the applet named by argv[0], or by argv[1] when called as ignity.
//
// Exit codes: 0 ok; 100 usage or configuration error; 111 system failure;
// 126/127 a program cannot be executed / is not found; 128+n killed by
// signal n. As /init, the container's exit status (see the README).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/stages"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

// commit is the git commit of the build, set like version (-X main.commit=...).
var commit = "unknown"

// manifest lists the skaware packages the release was built from.
const manifest = "/usr/lib/ignity/MANIFEST"

type applet struct {
	name   string
	usage  string
	hidden bool // internal: run by ignity itself, not by users
	run    func(args []string) error
}

// exitCode carries an applet's exit status through the error path.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

var l = layout.Default

func applets() []applet {
	return []applet{
		{name: "init", usage: "init [CMD...]: boot the container (PID 1)", run: func(a []string) error {
			return exitCode(stages.Stage1(l, self(), a))
		}},
		{name: "with-env", usage: "with-env PROG...: run PROG with the merged environment of /run/ignity/envs", run: func(a []string) error {
			return stages.WithEnv(l, a)
		}},
		{name: "load-envfile", usage: "load-envfile PROG... < FILE: run PROG with the dotenv FILE applied", run: func(a []string) error {
			return stages.LoadEnvfile(os.Stdin, a)
		}},
		{name: "fix-perms", usage: "fix-perms < FILE: apply perms lines (path account fmode dmode)", run: func(a []string) error {
			if len(a) > 0 {
				return usageError("fix-perms takes no arguments; it reads perms lines on stdin")
			}
			return stages.FixPermsCmd(l, os.Stdin)
		}},
		{name: "preboot", usage: "preboot: create the USER account and apply /etc/ignity/perms (RUN preboot)", run: func(a []string) error {
			if len(a) > 0 {
				return usageError("preboot takes no arguments")
			}
			return stages.PrebootCmd(l)
		}},
		{name: "check", usage: "check [--root DIR]: validate the image's ignity configuration without running it; exit 1 on problems", run: checkImage},
		{name: "with-retries", usage: "with-retries [-n N] [-t MS] PROG...: run PROG until it succeeds, at most N+1 times, each for at most MS ms", run: withRetries},
		{name: "stage2", hidden: true, run: func(a []string) error { return exitCode(stages.Stage2(l, self(), dashdash(a))) }},
		{name: "stage3", hidden: true, run: func(a []string) error { return exitCode(stages.Stage3(l)) }},
		{name: "cmd-exit", hidden: true, run: func(a []string) error { return exitCode(stages.CmdExit(l, dashdash(a))) }},
	}
}

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	if h := stages.Handler(argv[0]); h != nil {
		return h(l)
	}
	name := filepath.Base(argv[0])
	args := argv[1:]
	if name == "ignity" || name == "ignity-init" {
		if len(args) == 0 {
			help(os.Stderr)
			return 100
		}
		switch args[0] {
		case "--version", "version":
			printVersion(os.Stdout)
			return 0
		case "--help", "-h", "help":
			help(os.Stdout)
			return 0
		}
		name, args = args[0], args[1:]
	}
	for _, a := range applets() {
		if a.name != name {
			continue
		}
		err := a.run(args)
		var code exitCode
		var execErr *stages.ExecError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &code):
			return int(code)
		case errors.As(err, &execErr):
			fmt.Fprintf(os.Stderr, "ignity: %s: %v\n", name, err)
			return execErr.Code
		case errors.As(err, new(usageError)):
			fmt.Fprintf(os.Stderr, "ignity: %s: %v\nusage: %s\n", name, err, a.usage)
			return 100
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(os.Stderr, "ignity: %s: %s\n", name, line)
		}
		return 100
	}
	fmt.Fprintf(os.Stderr, "ignity: unknown applet %q\n", name)
	help(os.Stderr)
	return 100
}

type usageError string

func (e usageError) Error() string { return string(e) }

func withRetries(args []string) error {
	fs := flag.NewFlagSet("with-retries", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 3, "retries")
	t := fs.Int("t", 500, "milliseconds per attempt")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() == 0 || *n < 0 || *t < 0 {
		return usageError("want a program, -n >= 0 and -t >= 0")
	}
	return exitCode(proc.Retry(fs.Args(), os.Environ(), *n, time.Duration(*t)*time.Millisecond, os.Stderr))
}

// checkImage is `ignity check`: every problem, one per line; exit 0 when
// clean (warnings alone pass), 1 with errors, 100 on usage errors.
func checkImage(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root", "/", "root of the image to check")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument " + fs.Arg(0))
	}
	if st, err := os.Stat(*root); err != nil || !st.IsDir() {
		return usageError("--root " + *root + ": not a directory")
	}
	problems := check.Run(layout.Layout{Root: *root}, os.Environ(), true)
	for _, p := range problems {
		fmt.Println(p)
	}
	if check.HasError(problems) {
		return exitCode(1)
	}
	return nil
}

// self is this binary's path, for the scripts and children that run it.
func self() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "/usr/bin/ignity"
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
	b, err := os.ReadFile(manifest)
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
	for _, a := range applets() {
		if !a.hidden {
			fmt.Fprintf(w, "  %s\n", a.usage)
		}
	}
	fmt.Fprintln(w, "  ignity --version: print the version and the skaware it ships")
}
