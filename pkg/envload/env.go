package envload

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ignity/ignity/pkg/confdir"
)

// MaxArgStrlen is Linux's MAX_ARG_STRLEN, 32 pages of 4 KiB: execve fails
// with E2BIG when one string of its environment, "NAME=value" with its
// terminating NUL, is longer.
const MaxArgStrlen = 32 * 4096

// MaxValue is the longest value any variable can carry: the one of a
// one-byte name ("N=" + value + NUL fills MaxArgStrlen). The limit of a
// given variable is MaxArgStrlen - len(name) - 2; see Check.
const MaxValue = MaxArgStrlen - 3

// maxName is Linux's NAME_MAX: the longest file name, so the longest name
// an envdir can hold.
const maxName = 255

// Merge returns the environment ignity exports: the file vars in order, a
// later one overriding an earlier one of the same name, then every
// NAME=value of environ overriding them (a later duplicate in environ wins
// too). The result is in NAME=value form, one entry per name, sorted
// byte-wise by name. An environ entry without '=' (possible in a raw
// execve environment, never from Docker) is kept as is, so Check reports it.
func Merge(files []Var, environ []string) []string {
	vals := make(map[string]string, len(files)+len(environ))
	for _, v := range files {
		vals[v.Name] = v.Value
	}
	odd := make(map[string]bool)
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			vals[name] = value
		} else {
			odd[kv] = true
		}
	}
	type entry struct{ name, kv string }
	out := make([]entry, 0, len(vals)+len(odd))
	for name, value := range vals {
		out = append(out, entry{name, name + "=" + value})
	}
	for kv := range odd {
		out = append(out, entry{kv, kv})
	}
	slices.SortFunc(out, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.kv, b.kv))
	})
	env := make([]string, len(out))
	for i, e := range out {
		env[i] = e.kv
	}
	return env
}

// Check splits env (NAME=value entries) into the entries an envdir and
// exec can carry and one error per other entry. Errors name the variable,
// never its value. Rejected: an entry without '='; a name that cannot be a
// file of the envdir (empty, holding '/' or NUL, starting with '.', which
// ReadDir would skip, or longer than NAME_MAX, 255 bytes; a name cannot
// hold '=' since the first '=' ends it); a value holding NUL (execve would
// cut it there); and an entry longer than the kernel takes:
// len(name)+1+len(value)+1 > MaxArgStrlen. ok keeps the order of env.
func Check(env []string) (ok []string, problems []error) {
	for _, kv := range env {
		if err := checkEntry(kv); err != nil {
			problems = append(problems, err)
			continue
		}
		ok = append(ok, kv)
	}
	return ok, problems
}

// checkEntry returns why kv cannot go into an envdir, or nil.
func checkEntry(kv string) error {
	name, value, found := strings.Cut(kv, "=")
	switch {
	case !found:
		return fmt.Errorf("environment entry %q: no '=' (want NAME=value)", kv)
	case name == "":
		return fmt.Errorf("environment entry with an empty name")
	case confdir.Hidden(name): // ReadDir would skip it
		return fmt.Errorf("variable %q: a name starting with '.' cannot go into the envdir", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("variable %q: a name holding '/' or NUL cannot go into the envdir", name)
	case len(name) > maxName:
		return fmt.Errorf("variable %q: a name of %d bytes is over the file name limit of %d", name, len(name), maxName)
	case strings.IndexByte(value, 0) >= 0:
		return fmt.Errorf("variable %q: value holds a NUL byte", name)
	case len(name)+1+len(value)+1 > MaxArgStrlen:
		return fmt.Errorf("variable %q: value of %d bytes is over the exec limit of %d for this name",
			name, len(value), MaxArgStrlen-len(name)-2)
	}
	return nil
}

// Apply returns environ with every NAME=value of env set, the way with-env
// builds the environment of its program. The order is stable, not sorted: a
// name already in environ keeps the place of its first occurrence and takes
// env's value (later duplicates are dropped), names new to environ follow
// in env's order. Within env a later duplicate wins. Entries of environ
// without '=' are kept.
func Apply(environ, env []string) []string {
	set := make(map[string]string, len(env))
	var added []string // names new to environ, in env's order
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if _, dup := set[name]; !dup {
			added = append(added, name)
		}
		set[name] = value
	}
	out := make([]string, 0, len(environ)+len(added))
	done := make(map[string]bool, len(set))
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		value, override := set[name]
		switch {
		case !ok || !override:
			out = append(out, kv)
		case !done[name]:
			out = append(out, name+"="+value)
			done[name] = true
		}
	}
	for _, name := range added {
		if !done[name] {
			out = append(out, name+"="+set[name])
		}
	}
	return out
}
