// Package confdir lists a directory of configuration the way every ignity
// program reads one (env files, perms files, init and finalize scripts,
// service dirs, a scandir): its entries in byte-wise name order, without
// the names that start with "." (editors' and package managers'
// leftovers, s6-svscan's own .s6-svscan). It is the one place that rule
// is written.
package confdir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Hidden reports whether name is left out of a listing: it starts with
// "." (or is empty, which no directory entry is).
func Hidden(name string) bool { return name == "" || name[0] == '.' }

// Visible is entries without the hidden ones, sorted by name (os.ReadDir
// sorts already; an *os.File's ReadDir does not).
func Visible(entries []os.DirEntry) []os.DirEntry {
	out := make([]os.DirEntry, 0, len(entries))
	for _, e := range entries {
		if !Hidden(e.Name()) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// Read lists dir: its visible entries in name order. Its error is
// os.ReadDir's, unwrapped (a missing dir is fs.ErrNotExist).
func Read(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return Visible(entries), nil
}

// Names lists the names of dir's visible entries in name order, with
// Read's error.
func Names(dir string) ([]string, error) {
	entries, err := Read(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Paths lists the paths of dir's visible entries in name order; none
// when dir cannot be read (most often: it does not exist).
func Paths(dir string) []string {
	names, err := Names(dir)
	if err != nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}
