package bench_test

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"testing"
)

// sizes is what the release costs on disk: the tarball, and the regular
// files it installs (symlinks cost nothing), by part.
type sizes struct {
	gzip, installed int64
	tini            int64 // the static tini, for comparison
	parts           []part
}

type part struct {
	name  string
	files int
	bytes int64
	each  []file // listed for the libraries, the biggest part after Go
}

type file struct {
	name  string
	bytes int64
}

// The parts of the tarball, in report order.
const (
	partGo       = "Go binary (usr/bin/ignity; /init and the helpers are symlinks)"
	partS6       = "s6 (usr/bin/s6-*, ucspilogd)"
	partExecline = "execline (usr/lib/execline/bin/*, execlineb twice)"
	partLibs     = "libraries (usr/lib/ignity/lib: glibc, its loader, skalibs, libs6, libexecline)"
	partOther    = "other (MANIFEST, install-ignity.sh)"
)

var partOrder = []string{partGo, partS6, partExecline, partLibs, partOther}

func partOf(name string) string {
	switch {
	case name == "usr/bin/ignity":
		return partGo
	case strings.HasPrefix(name, "usr/lib/ignity/lib/"):
		return partLibs
	case strings.HasPrefix(name, "usr/lib/execline/"), path.Base(name) == "execlineb":
		return partExecline
	case strings.HasPrefix(name, "usr/bin/s6"), name == "usr/bin/ucspilogd":
		return partS6
	}
	return partOther
}

func tarballSizes(t *testing.T, tarball string) sizes {
	t.Helper()
	var s sizes
	fi, err := os.Stat(tarball)
	if err != nil {
		t.Fatal(err)
	}
	s.gzip = fi.Size()
	if fi, err := os.Stat(hostTini); err == nil {
		s.tini = fi.Size()
	}

	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", tarball, err)
	}
	byName := map[string]*part{}
	for _, name := range partOrder {
		byName[name] = &part{name: name}
	}
	tr := tar.NewReader(z)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", tarball, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(h.Name, "./")
		p := byName[partOf(name)]
		p.files++
		p.bytes += h.Size
		s.installed += h.Size
		if p.name == partLibs {
			p.each = append(p.each, file{path.Base(name), h.Size})
		}
	}
	for _, name := range partOrder {
		s.parts = append(s.parts, *byName[name])
	}
	return s
}
