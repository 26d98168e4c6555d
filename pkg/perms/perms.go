// Package perms fixes ownership and permissions the way /etc/ignity/perms asks,
// and creates the container user that such fixes usually name.
//
// The contract, in the order ignity uses it:
//
//   - Parse and LoadDir read perms files. A line is either ignity's
//     `path account fmode dmode` (always recursive) or s6-overlay's fix-attrs
//     `path recurse account fmode dmode`; `{{NAME}}` is replaced from a map
//     the caller gives (USERMAP_UID, USERMAP_GID). Every bad line is reported,
//     each as a *fileerr.Error "file:line: message".
//   - ReadUsers reads the image's /etc/passwd and /etc/group; Users.Resolve
//     turns an Account into numeric ids, with s6-overlay's per-side fallback.
//   - Fixer.Run applies rules to the tree, changing only what differs, and
//     reports each change as a value that prints like a shell command;
//     Plan is the same walk as a dry run that lists the changes.
//   - EnsureUser appends the container user to /etc/passwd and /etc/group.
//   - Apply runs a Fixer for the stages and the applets, saying what it
//     changes and what a non-root uid may not; a failure to make the changes
//     is an *ApplyError, which IGNITY_BEHAVIOUR_IF_STAGE2_FAILS may pass
//     over. Preboot is /etc/ignity/perms at boot and at build time: the
//     container user, /run/ignity given to it, then Apply.
//
// Everything works against a root directory ("/" in production, a temporary
// directory in tests). Paths in rules are paths inside the image, resolved
// under root as if root were chroot'ed to, so no rule reaches outside it.
//
// Rules are applied as root over trees other uids may own and change while
// ignity walks them, so every change is made through file descriptors
// (see fix.go): a symlink in a rule's own path is followed only when root
// owns it and the directory holding it, and no group or other may write
// that directory; any other symlink there refuses the rule, with a warning
// naming its file:line and the link. Below a rule's path nothing is
// followed: symlinks met are re-owned themselves, never chmod'ed, never
// entered, even one swapped in during the walk.
//
// Recursion covers hidden files too (s6-overlay's S6_FIX_ATTRS_HIDDEN=1)
// unless a rule says SkipHidden (fix-attrs.d's default), and crosses mount
// points: a mounted volume is the usual reason for a rule. The walk streams:
// memory stays flat in the number of files.
//
// Later rules win: when two rules cover the same path, the path ends with
// what the last one (in file name order, then line order) asks, is changed
// once, and only where it differs from that. Running again therefore finds
// nothing to do.
package perms

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/fileerr"
)

// Rule is one parsed line of a perms file.
type Rule struct {
	Path    string // absolute, clean path inside the image
	Recurse bool   // fix everything below Path too; ignity's form always does
	// SkipHidden leaves out, when recursing, what is named with a leading
	// "." below Path: s6-overlay's fix-attrs.d without S6_FIX_ATTRS_HIDDEN=1.
	SkipHidden bool
	Account    Account     // owner and group to set
	FileMode   os.FileMode // mode for everything but directories and symlinks
	DirMode    os.FileMode // mode for directories
	File       string      // the perms file the rule came from
	Line       int         // its line in File, from 1
}

// String renders the rule as a perms line that parses back to the same rule:
// ignity's form when it recurses, s6-overlay's otherwise.
func (r Rule) String() string {
	if r.Recurse {
		return fmt.Sprintf("%s %s %04o %04o", r.Path, r.Account, unixMode(r.FileMode), unixMode(r.DirMode))
	}
	return fmt.Sprintf("%s false %s %04o %04o", r.Path, r.Account, unixMode(r.FileMode), unixMode(r.DirMode))
}

// Account names an owner and a group. Each side is a number (HasUID, HasGID)
// or a name looked up in the image. With no group side at all, the group is
// the user's primary group from /etc/passwd. A fallback (s6-overlay's
// `ACCOUNT,uid:gid`) is used side by side: an unknown user takes FallbackUID
// while a known group still resolves, and the other way round.
type Account struct {
	User   string // user name; "" when HasUID
	UID    int
	HasUID bool

	Group  string // group name; "" when HasGID or when the user's primary group is meant
	GID    int
	HasGID bool

	FallbackUID int
	FallbackGID int
	HasFallback bool
}

// String renders the account in the syntax Parse reads.
func (a Account) String() string {
	var b strings.Builder
	if a.HasUID {
		b.WriteString(strconv.Itoa(a.UID))
	} else {
		b.WriteString(a.User)
	}
	if a.HasGID {
		b.WriteString(":" + strconv.Itoa(a.GID))
	} else if a.Group != "" {
		b.WriteString(":" + a.Group)
	}
	if a.HasFallback {
		fmt.Fprintf(&b, ",%d:%d", a.FallbackUID, a.FallbackGID)
	}
	return b.String()
}

// Parse reads the perms file called name from r. vars supplies the values of
// {{NAME}} placeholders; a placeholder missing from vars is an error naming
// it. Blank lines and lines starting with # are ignored. On any bad line, it
// returns no rules and an error joining one *fileerr.Error per bad line.
func Parse(name string, r io.Reader, vars map[string]string) ([]Rule, error) {
	br := bufio.NewReader(r)
	var rules []Rule
	var errs []error
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if line != "" {
			rule, skip, msg := parseLine(line, vars)
			switch {
			case msg != "":
				errs = append(errs, fileerr.Errorf(name, n, "%s", msg))
			case !skip:
				rule.File, rule.Line = name, n
				rules = append(rules, rule)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

// parseLine parses one line; skip is set for blank and comment lines, msg
// describes what is wrong with a bad one.
func parseLine(line string, vars map[string]string) (r Rule, skip bool, msg string) {
	fields := strings.Fields(line)
	if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
		return Rule{}, true, ""
	}
	if len(fields) != 4 && len(fields) != 5 {
		return Rule{}, false, fmt.Sprintf("want \"path account fmode dmode\" or \"path recurse account fmode dmode\", got %d fields", len(fields))
	}
	for i, f := range fields {
		v, err := expand(f, vars)
		if err != nil {
			return Rule{}, false, err.Error()
		}
		fields[i] = v
	}

	r.Recurse = true
	if len(fields) == 5 {
		switch fields[1] {
		case "true":
		case "false":
			r.Recurse = false
		default:
			return Rule{}, false, fmt.Sprintf("bad recurse %q (want true or false)", fields[1])
		}
		fields = append(fields[:1], fields[2:]...)
	}

	p := fields[0]
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return Rule{}, false, fmt.Sprintf("bad path %q (want an absolute path)", p)
	}
	r.Path = path.Clean(p)

	a, err := parseAccount(fields[1])
	if err != nil {
		return Rule{}, false, err.Error()
	}
	r.Account = a

	var ok bool
	if r.FileMode, ok = parseMode(fields[2]); !ok {
		return Rule{}, false, fmt.Sprintf("bad file mode %q (want octal like 0644)", fields[2])
	}
	if r.DirMode, ok = parseMode(fields[3]); !ok {
		return Rule{}, false, fmt.Sprintf("bad dir mode %q (want octal like 0755)", fields[3])
	}
	return r, false, ""
}

// expand replaces every {{NAME}} in s with vars[NAME]. Values may not hold
// whitespace: they land inside one field, and a space would silently change
// what the line means.
func expand(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return "", fmt.Errorf("unterminated \"{{\" in %q", s)
		}
		name := rest[i+2 : i+2+j]
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("unknown variable %q in %q", name, s)
		}
		if strings.ContainsFunc(v, unicode.IsSpace) {
			return "", fmt.Errorf("variable %q expands to %q, which holds whitespace", name, v)
		}
		b.WriteString(rest[:i])
		b.WriteString(v)
		rest = rest[i+2+j+2:]
	}
}

// parseAccount reads `user[:group][,uid:gid]`, each side a name or a number.
func parseAccount(s string) (Account, error) {
	bad := func(why string) (Account, error) {
		return Account{}, fmt.Errorf("bad account %q: %s (want uid:gid, user, user:group, each optionally followed by ,uid:gid)", s, why)
	}
	var a Account
	main, fallback, hasFallback := strings.Cut(s, ",")
	if hasFallback {
		fu, fg, ok := strings.Cut(fallback, ":")
		if !ok || strings.ContainsAny(fg, ":,") {
			return bad(fmt.Sprintf("fallback %q is not uid:gid", fallback))
		}
		var uok, gok bool
		a.FallbackUID, uok = parseID(fu)
		a.FallbackGID, gok = parseID(fg)
		if !uok || !gok {
			return bad(fmt.Sprintf("fallback %q is not numeric uid:gid", fallback))
		}
		a.HasFallback = true
	}
	user, group, hasGroup := strings.Cut(main, ":")
	switch {
	case user == "":
		return bad("empty user")
	case hasGroup && group == "":
		return bad("empty group")
	case strings.Contains(group, ":"):
		return bad("more than one \":\"")
	}
	if isDigits(user) {
		id, ok := parseID(user)
		if !ok {
			return bad(fmt.Sprintf("uid %s out of range", user))
		}
		a.UID, a.HasUID = id, true
	} else {
		a.User = user
	}
	if hasGroup {
		if isDigits(group) {
			id, ok := parseID(group)
			if !ok {
				return bad(fmt.Sprintf("gid %s out of range", group))
			}
			a.GID, a.HasGID = id, true
		} else {
			a.Group = group
		}
	}
	return a, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseID reads a decimal uid or gid. 2^32-1 is excluded: chown(2) reads it
// as "leave unchanged".
func parseID(s string) (int, bool) {
	if !isDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return int(n), true
}

// parseMode reads 3 or 4 octal digits (644, 0644, 2700).
func parseMode(s string) (os.FileMode, bool) {
	if len(s) != 3 && len(s) != 4 {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, false
	}
	return FileMode(uint32(n)), true
}

// FileMode converts Unix mode bits (07777) to an os.FileMode, whose
// setuid, setgid and sticky bits live elsewhere.
func FileMode(m uint32) os.FileMode {
	fm := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		fm |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// unixMode is the inverse of fileMode; other os.FileMode bits are dropped.
func unixMode(fm os.FileMode) uint32 {
	m := uint32(fm.Perm())
	if fm&os.ModeSetuid != 0 {
		m |= 0o4000
	}
	if fm&os.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fm&os.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// LoadDir parses every regular file of dir in name order (a symlink to a
// regular file counts), skipping names that start with "." as editors' and
// package managers' leftovers. A missing dir holds no rules. Problems in all
// files are reported together.
func LoadDir(dir string, vars map[string]string) ([]Rule, error) {
	entries, err := confdir.Read(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rules []Rule
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		rs, err := parseFile(p, vars)
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...) // one flat list of *fileerr.Error
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, rs...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

func parseFile(p string, vars map[string]string) ([]Rule, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(p, f, vars)
}
