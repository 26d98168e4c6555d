package perms

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Op is the kind of a Change.
type Op int

const (
	// OpChown sets owner and group, on a symlink itself (lchown).
	OpChown Op = iota + 1
	// OpChmod sets the mode bits, setuid/setgid/sticky included. It is
	// never made on a symlink.
	OpChmod
)

// Change is one step of a fix, as reported to Fixer.Change and by Plan.
// Path is the in-image path the walk reached the entry by.
type Change struct {
	Op   Op
	Path string
	UID  int         // OpChown
	GID  int         // OpChown
	Mode os.FileMode // OpChmod
}

// String prints the change as the shell command doing the same, so logs and
// tests read alike: "chown -h 1000:1000 /srv/x", "chmod 0640 /srv/x/a".
func (c Change) String() string {
	switch c.Op {
	case OpChown:
		return fmt.Sprintf("chown -h %d:%d %s", c.UID, c.GID, shellQuote(c.Path))
	case OpChmod:
		return fmt.Sprintf("chmod %04o %s", unixMode(c.Mode), shellQuote(c.Path))
	}
	return fmt.Sprintf("unknown op %d %s", int(c.Op), shellQuote(c.Path))
}

// shellQuote single-quotes s when a shell would split or expand it.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,@%=", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Plan lists, without making them, the changes Fixer.Run would make to the
// tree under root, in the order it would make them, and its warnings. It
// holds every change in memory: fine for tests and small trees; at boot,
// Run streams instead.
func Plan(root string, rules []Rule, users *Users) (changes []Change, warnings []string, err error) {
	f := &Fixer{Root: root, Users: users, DryRun: true,
		Change: func(c Change) { changes = append(changes, c) },
		Warn:   func(w string) { warnings = append(warnings, w) },
	}
	err = f.Run(rules)
	var fails *Failures
	if err != nil && !errors.As(err, &fails) {
		return nil, warnings, err
	}
	return changes, warnings, err
}

// Failures are the changes a Run could not make and the rules it refused.
// Only the first few are kept, so that a tree of a million files that all
// fail costs no more memory than one.
type Failures struct {
	Count  int     // every failure
	Errs   []error // the first maxKept of them
	denied int     // failures that are EPERM or EACCES
}

// maxKept bounds Failures.Errs.
const maxKept = 20

func (f *Failures) add(err error) {
	f.Count++
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		f.denied++
	}
	if len(f.Errs) < maxKept {
		f.Errs = append(f.Errs, err)
	}
}

func (f *Failures) Error() string {
	var b strings.Builder
	for i, e := range f.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	if more := f.Count - len(f.Errs); more > 0 {
		fmt.Fprintf(&b, "\n(and %d more)", more)
	}
	return b.String()
}

// Unwrap gives the failures kept, for errors.Is and errors.As.
func (f *Failures) Unwrap() []error { return f.Errs }

// OnlyDenied reports whether every failure was the kernel refusing a
// change to this uid (EPERM, EACCES): what a run as non-root expects.
func (f *Failures) OnlyDenied() bool { return f.Count > 0 && f.denied == f.Count }
