package perms

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Users is the image's account database: /etc/passwd and /etc/group as
// files, read directly because the image may have no NSS and the Go binary
// is static. When a name or id appears twice, the first entry wins, as with
// getpwnam(3).
type Users struct {
	byName  map[string]passwdEntry
	byUID   map[int]passwdEntry
	groups  map[string]int // name -> gid
	byGID   map[int]string // gid -> name
	passwd  []byte         // raw files, kept for EnsureUser
	group   []byte
	pHost   string
	gHost   string
	pExists bool
	gExists bool
}

type passwdEntry struct {
	name     string
	uid, gid int
}

// ReadUsers reads <root>/etc/passwd and <root>/etc/group, resolving symlinks
// inside root. A missing file is an empty database, not an error.
func ReadUsers(root string) (*Users, error) {
	u := &Users{
		byName: map[string]passwdEntry{},
		byUID:  map[int]passwdEntry{},
		groups: map[string]int{},
		byGID:  map[int]string{},
	}
	var err error
	if u.pHost, u.pExists, u.passwd, err = readEtc(root, "/etc/passwd"); err != nil {
		return nil, err
	}
	if u.gHost, u.gExists, u.group, err = readEtc(root, "/etc/group"); err != nil {
		return nil, err
	}
	for _, f := range dbLines(u.passwd, 4) {
		uid, uok := parseID(f[2])
		gid, gok := parseID(f[3])
		if !uok || !gok {
			continue
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid}
		if _, dup := u.byName[e.name]; !dup {
			u.byName[e.name] = e
		}
		if _, dup := u.byUID[uid]; !dup {
			u.byUID[uid] = e
		}
	}
	for _, f := range dbLines(u.group, 3) {
		gid, ok := parseID(f[2])
		if !ok {
			continue
		}
		if _, dup := u.groups[f[0]]; !dup {
			u.groups[f[0]] = gid
		}
		if _, dup := u.byGID[gid]; !dup {
			u.byGID[gid] = f[0]
		}
	}
	return u, nil
}

func readEtc(root, p string) (host string, exists bool, data []byte, err error) {
	host, exists, err = hostFile(root, p)
	if err != nil || !exists {
		return host, exists, nil, err
	}
	data, err = os.ReadFile(host)
	return host, true, data, err
}

// dbLines splits a passwd-style file into the fields of its usable lines:
// at least min fields and a name; comments and NIS "+"/"-" lines are skipped.
func dbLines(data []byte, min int) [][]string {
	var out [][]string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < min || f[0] == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Resolve turns a into numeric ids. Each side stands alone: a numeric side
// is taken as is, a named side is looked up, and an unknown name takes the
// fallback's id for that side when a has one. A user with no group side
// gives its primary group. Without a fallback, an unknown name is an error
// naming it.
func (u *Users) Resolve(a Account) (uid, gid int, err error) {
	if u == nil {
		u = &Users{}
	}
	var problems []string
	var entry passwdEntry
	var known bool
	if a.HasUID {
		uid = a.UID
		entry, known = u.byUID[a.UID]
	} else {
		entry, known = u.byName[a.User]
		switch {
		case known:
			uid = entry.uid
		case a.HasFallback:
			uid = a.FallbackUID
		default:
			problems = append(problems, fmt.Sprintf("user %q not found in /etc/passwd", a.User))
		}
	}
	switch {
	case a.HasGID:
		gid = a.GID
	case a.Group != "":
		g, ok := u.groups[a.Group]
		switch {
		case ok:
			gid = g
		case a.HasFallback:
			gid = a.FallbackGID
		default:
			problems = append(problems, fmt.Sprintf("group %q not found in /etc/group", a.Group))
		}
	default: // the user's primary group
		switch {
		case known:
			gid = entry.gid
		case a.HasFallback:
			gid = a.FallbackGID
		case a.HasUID:
			problems = append(problems, fmt.Sprintf("uid %d has no /etc/passwd entry to give its primary group (write %d:GID)", a.UID, a.UID))
		}
	}
	if len(problems) > 0 {
		return 0, 0, errors.New(strings.Join(problems, "; "))
	}
	return uid, gid, nil
}

// EnsureUser makes sure the image has user name with uid, and a group with
// gid, appending lines to <root>/etc/passwd and <root>/etc/group itself
// because images may lack useradd (busybox, distroless). Files (and /etc)
// are created when missing. Nothing is written when both already exist with
// these ids.
//
// The group is named name unless a group with gid already exists, which is
// then kept. Another user may already own uid (node images ship "node" with
// 1000): the new name is added beside it, as `useradd -o` would. A user name
// that exists with another uid or primary gid is an error naming both; so is
// a group called name with another gid when none has gid. Nothing is written
// on error.
//
// The new user's home is /home/<name>, which is not created: an image that
// wants a home creates it and lets a perms rule own it. The shell is /bin/sh.
// No /etc/shadow entry is made; the container user does not log in.
func EnsureUser(root, name string, uid, gid int) error {
	if err := checkName(name); err != nil {
		return err
	}
	for _, id := range []int{uid, gid} {
		if id < 0 || id >= math.MaxUint32 {
			return fmt.Errorf("ensure user %q: id %d out of range", name, id)
		}
	}
	u, err := ReadUsers(root)
	if err != nil {
		return fmt.Errorf("ensure user %q: %w", name, err)
	}

	needUser := true
	if e, ok := u.byName[name]; ok {
		if e.uid != uid {
			return fmt.Errorf("ensure user %q: it exists with uid %d, want %d", name, e.uid, uid)
		}
		if e.gid != gid {
			return fmt.Errorf("ensure user %q: it exists with primary group %d, want %d", name, e.gid, gid)
		}
		needUser = false
	}
	_, haveGID := u.byGID[gid]
	needGroup := !haveGID
	if g, ok := u.groups[name]; ok && needGroup {
		return fmt.Errorf("ensure user %q: group %q exists with gid %d, want %d", name, name, g, gid)
	}

	// The group first: a passwd line never names a gid missing from /etc/group.
	if needGroup {
		if err := appendLine(u.gHost, u.group, fmt.Sprintf("%s:x:%d:", name, gid)); err != nil {
			return fmt.Errorf("ensure user %q: %w", name, err)
		}
	}
	if needUser {
		line := fmt.Sprintf("%s:x:%d:%d::/home/%s:/bin/sh", name, uid, gid, name)
		if err := appendLine(u.pHost, u.passwd, line); err != nil {
			return fmt.Errorf("ensure user %q: %w", name, err)
		}
	}
	return nil
}

// checkName refuses names that would corrupt passwd/group lines or read as
// options or NIS entries.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("ensure user: empty user name")
	case strings.ContainsAny(name, ":,/\n\r\t \x00"), name[0] == '-', name[0] == '+', isDigits(name):
		return fmt.Errorf("ensure user: bad user name %q", name)
	}
	return nil
}

// appendLine appends line to host, whose current content is old, adding the
// newline old may lack. Appending, rather than writing a new file and
// renaming it, keeps a bind-mounted /etc/passwd working.
func appendLine(host string, old []byte, line string) error {
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(host, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if len(old) > 0 && old[len(old)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString(line + "\n")
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// HasUID reports whether an account of /etc/passwd has uid.
func (u *Users) HasUID(uid int) bool {
	if u == nil {
		return false
	}
	_, ok := u.byUID[uid]
	return ok
}

// User returns the uid and primary gid of user name.
func (u *Users) User(name string) (uid, gid int, ok bool) {
	if u == nil {
		return 0, 0, false
	}
	e, ok := u.byName[name]
	return e.uid, e.gid, ok
}
