package applets

// The command lines of the skarnet programs ignity stands in for
// (s6-rc, s6-portable-utils): skalibs' getopt rules, and its messages.

import (
	"fmt"
	"io"
	"strings"
)

// opts is one parsed command line: the options seen, by letter, with
// their argument ("" for a flag), in order, and the operands after them.
type opts struct {
	seen []opt
	rest []string
}

type opt struct {
	c   byte
	arg string
}

// parseOpts reads argv as skalibs' subgetopt does: options first,
// clustered ("-np") or not, an option's argument attached ("-m755") or
// the next word; "--" ends them, as does the first word that does not
// start with '-' (or is "-" alone). flags take no argument, withArg one.
// An option of unsupported (documented by the original, not by ignity)
// or of neither set is a usage error naming it.
func parseOpts(argv []string, flags, withArg, unsupported string) (opts, error) {
	var o opts
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(flags, c) >= 0:
				o.seen = append(o.seen, opt{c: c})
			case strings.IndexByte(withArg, c) >= 0:
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(argv) {
						return o, UsageError(fmt.Sprintf("option -%c needs an argument", c))
					}
					i++
					v = argv[i]
				}
				o.seen = append(o.seen, opt{c: c, arg: v})
				j = len(a)
			case strings.IndexByte(unsupported, c) >= 0:
				return o, UsageError(fmt.Sprintf("option -%c is not supported by ignity's version", c))
			default:
				return o, UsageError(fmt.Sprintf("unknown option -%c", c))
			}
		}
	}
	o.rest = argv[i:]
	return o, nil
}

// has reports whether the flag c was given.
func (o opts) has(c byte) bool {
	for _, s := range o.seen {
		if s.c == c {
			return true
		}
	}
	return false
}

// last is the argument of the last -c, and whether there was one.
func (o opts) last(c byte) (string, bool) {
	v, ok := "", false
	for _, s := range o.seen {
		if s.c == c {
			v, ok = s.arg, true
		}
	}
	return v, ok
}

// The exit codes of skarnet's programs.
const (
	exitUsage  = 100 // bad usage
	exitSystem = 111 // a system call failed
)

// usage prints skalibs' usage line ("PROG: usage: USAGE"), with the
// reason first, and returns exit 100.
func usage(w io.Writer, prog, use string, why error) error {
	if why != nil {
		fmt.Fprintf(w, "%s: fatal: %v\n", prog, why)
	}
	fmt.Fprintf(w, "%s: usage: %s\n", prog, use)
	return ExitCode(exitUsage)
}

// fatal prints "PROG: fatal: MSG" and returns code.
func fatal(w io.Writer, prog string, code int, format string, args ...any) error {
	fmt.Fprintf(w, "%s: fatal: %s\n", prog, fmt.Sprintf(format, args...))
	return ExitCode(code)
}
