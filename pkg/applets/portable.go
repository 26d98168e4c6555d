package applets

// s6-portable-utils' programs that images made for s6-overlay call
// (its syslogd overlay, behance's finish scripts and build gates,
// shinsenter's detection of s6 by /command/s6-env): each with the
// options those images use, the original's exit codes (0, 1 for
// s6-false, 100 usage, 111 system failure) and its messages. An option
// the original has and ignity's does not is a usage error naming it.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/perms"
)

// Portable is one of s6-portable-utils' programs.
type Portable struct {
	Name  string
	Usage string // the synopsis, as the original prints it
	run   func(p Portable, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// Run runs p with args (argv without argv[0]).
func (p Portable) Run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return p.run(p, args, stdin, stdout, stderr)
}

// PortableUtils are the programs ignity ships, by name.
var PortableUtils = []Portable{
	{"s6-echo", "s6-echo [ -n ] [ -s sep ] args...", s6Echo},
	{"s6-mkdir", "s6-mkdir [ -p ] [ -v ] [ -m mode ] dir...", s6Mkdir},
	{"s6-chown", "s6-chown [ -U ] [ -u uid ] [ -g gid ] file", s6Chown},
	{"s6-chmod", "s6-chmod mode file", s6Chmod},
	{"s6-rmrf", "s6-rmrf file...", s6Rmrf},
	{"s6-true", "s6-true", func(Portable, []string, io.Reader, io.Writer, io.Writer) error { return nil }},
	{"s6-false", "s6-false", func(Portable, []string, io.Reader, io.Writer, io.Writer) error { return ExitCode(1) }},
	{"s6-env", "s6-env [ -i ] [ NAME=VALUE... ] [ prog... ]", s6Env},
	{"s6-format-filter", "s6-format-filter format [ args... ]", s6FormatFilter},
	{"s6-test", "s6-test expression... (execline's eltest)", s6Test},
}

func s6Echo(p Portable, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	o, err := parseOpts(args, "n", "s", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	sep, ok := o.last('s')
	if !ok {
		sep = " "
	}
	out := strings.Join(o.rest, sep)
	if !o.has('n') {
		out += "\n"
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		return fatal(stderr, p.Name, exitSystem, "unable to write to stdout: %v", err)
	}
	return nil
}

// octal parses an octal mode as the originals do: digits 0-7 only.
func octal(s string) (os.FileMode, bool) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, false
	}
	return perms.FileMode(uint32(n)), true
}

func s6Mkdir(p Portable, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	o, err := parseOpts(args, "pv", "m", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	if len(o.rest) == 0 {
		return usage(stderr, p.Name, p.Usage, errors.New("no directory given"))
	}
	mode := os.FileMode(0o777)
	if s, ok := o.last('m'); ok {
		if mode, ok = octal(s); !ok {
			return usage(stderr, p.Name, p.Usage, fmt.Errorf("bad mode %q: want an octal number", s))
		}
	}
	for _, dir := range o.rest {
		if o.has('p') {
			err = os.MkdirAll(dir, mode)
		} else {
			err = os.Mkdir(dir, mode)
		}
		if err != nil {
			return fatal(stderr, p.Name, exitSystem, "unable to mkdir %s: %v", dir, unwrapPath(err))
		}
		if o.has('v') {
			fmt.Fprintf(stdout, "%s: created directory %s\n", p.Name, dir)
		}
	}
	return nil
}

func s6Chown(p Portable, args []string, _ io.Reader, _, stderr io.Writer) error {
	o, err := parseOpts(args, "U", "ug", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	if len(o.rest) != 1 {
		return usage(stderr, p.Name, p.Usage, errors.New("want one file"))
	}
	uid, gid := -1, -1
	id := func(s, what string) (int, error) {
		n, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return 0, fmt.Errorf("bad %s %q: want a number", what, s)
		}
		return int(n), nil
	}
	for _, s := range o.seen {
		var err error
		switch s.c {
		case 'U':
			for _, v := range []struct {
				name string
				to   *int
			}{{"UID", &uid}, {"GID", &gid}} {
				val, ok := os.LookupEnv(v.name)
				if !ok {
					return fatal(stderr, p.Name, exitUsage, "-U: %s not set", v.name)
				}
				if *v.to, err = id(val, v.name); err != nil {
					break
				}
			}
		case 'u':
			uid, err = id(s.arg, "uid")
		case 'g':
			gid, err = id(s.arg, "gid")
		}
		if err != nil {
			return usage(stderr, p.Name, p.Usage, err)
		}
	}
	if err := os.Chown(o.rest[0], uid, gid); err != nil {
		return fatal(stderr, p.Name, exitSystem, "unable to chown %s: %v", o.rest[0], unwrapPath(err))
	}
	return nil
}

func s6Chmod(p Portable, args []string, _ io.Reader, _, stderr io.Writer) error {
	o, err := parseOpts(args, "", "", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	if len(o.rest) != 2 {
		return usage(stderr, p.Name, p.Usage, errors.New("want a mode and one file"))
	}
	mode, ok := octal(o.rest[0])
	if !ok {
		return usage(stderr, p.Name, p.Usage, fmt.Errorf("bad mode %q: want an octal number", o.rest[0]))
	}
	if err := os.Chmod(o.rest[1], mode); err != nil {
		return fatal(stderr, p.Name, exitSystem, "unable to chmod %s: %v", o.rest[1], unwrapPath(err))
	}
	return nil
}

func s6Rmrf(p Portable, args []string, _ io.Reader, _, stderr io.Writer) error {
	o, err := parseOpts(args, "", "", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	for _, f := range o.rest {
		if err := os.RemoveAll(f); err != nil {
			return fatal(stderr, p.Name, exitSystem, "unable to remove %s: %v", f, unwrapPath(err))
		}
	}
	return nil
}

// s6Env is env: with -i an empty environment, then the NAME=VALUE words;
// it execs prog, or without one prints the environment.
func s6Env(p Portable, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	o, err := parseOpts(args, "i", "", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	env := os.Environ()
	if o.has('i') {
		env = nil
	}
	rest := o.rest
	for len(rest) > 0 && strings.Contains(rest[0], "=") {
		name, _, _ := strings.Cut(rest[0], "=")
		kept := env[:0:0]
		for _, kv := range env {
			if !strings.HasPrefix(kv, name+"=") {
				kept = append(kept, kv)
			}
		}
		env = append(kept, rest[0])
		rest = rest[1:]
	}
	if len(rest) == 0 {
		w := bufio.NewWriter(stdout)
		for _, kv := range env {
			fmt.Fprintln(w, kv)
		}
		if err := w.Flush(); err != nil {
			return fatal(stderr, p.Name, exitSystem, "unable to write to stdout: %v", err)
		}
		return nil
	}
	return execReport(stderr, p.Name, Exec(rest, env))
}

// s6FormatFilter prints format for every line of stdin: %s is the line,
// %0 the program's name, %1 to %9 its arguments, %% a %.
func s6FormatFilter(p Portable, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseOpts(args, "", "", "")
	if err != nil {
		return usage(stderr, p.Name, p.Usage, err)
	}
	if len(o.rest) == 0 {
		return usage(stderr, p.Name, p.Usage, errors.New("no format given"))
	}
	format, params := o.rest[0], append([]string{p.Name}, o.rest[1:]...)
	in := bufio.NewReader(stdin)
	out := bufio.NewWriter(stdout)
	for {
		line, rerr := in.ReadString('\n')
		if line != "" {
			out.WriteString(expandFormat(format, strings.TrimSuffix(line, "\n"), params))
			out.WriteByte('\n')
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fatal(stderr, p.Name, exitSystem, "unable to read stdin: %v", rerr)
		}
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return fatal(stderr, p.Name, exitSystem, "unable to write to stdout: %v", err)
			}
		}
	}
	if err := out.Flush(); err != nil {
		return fatal(stderr, p.Name, exitSystem, "unable to write to stdout: %v", err)
	}
	return nil
}

// expandFormat expands format for line; an unknown % sequence stays as
// it is, and %N beyond the arguments is empty.
func expandFormat(format, line string, params []string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch d := format[i]; {
		case d == '%':
			b.WriteByte('%')
		case d == 's':
			b.WriteString(line)
		case d >= '0' && d <= '9':
			if n := int(d - '0'); n < len(params) {
				b.WriteString(params[n])
			}
		default:
			b.WriteByte('%')
			b.WriteByte(d)
		}
	}
	return b.String()
}

// s6Test is s6-test, whose language execline's eltest speaks: it execs
// eltest with the same arguments.
func s6Test(p Portable, args []string, _ io.Reader, _, stderr io.Writer) error {
	return execReport(stderr, p.Name, Exec(append([]string{layout.ExeclineBin + "/eltest"}, args...), os.Environ()))
}

// execReport turns a failed Exec into the original's message and exit
// code (126 cannot exec, 127 not found, 100 no program).
func execReport(stderr io.Writer, prog string, err error) error {
	var ee *ExecError
	if errors.As(err, &ee) {
		return fatal(stderr, prog, ee.Code, "unable to exec %s: %v", ee.Name, unwrapPath(ee.Err))
	}
	if err != nil {
		return fatal(stderr, prog, exitUsage, "%v", err)
	}
	return nil
}

// unwrapPath is the cause of a *PathError, whose path the message names
// already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
