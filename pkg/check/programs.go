package check

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/ignity/ignity/pkg/layout"
)

// binprmBufSize is how much of a file the kernel reads to decide how to
// execute it (BINPRM_BUF_SIZE): a #! line longer than that is cut.
const binprmBufSize = 256

// scripts checks the init or finalize scripts of the in-image dir dir:
// ignity executes every entry but dot files, in name order.
func (c *checker) scripts(dir string) {
	for _, e := range c.entries(dir) {
		c.program(e)
	}
}

// program checks that the existing in-image file e can be executed: a
// regular, executable file, either a #! script whose interpreter is in the
// image or an ELF binary whose dynamic loader is.
func (c *checker) program(e entry) {
	p := e.path
	switch {
	case e.resolved == "":
		c.add(Error, p, 0, "dangling symlink to %q: the program it names is not in the image", e.link)
		return
	case e.info.IsDir():
		c.add(Error, p, 0, "is a directory, not a program")
		return
	case !e.info.Mode().IsRegular():
		c.add(Error, p, 0, "not a regular file, so it cannot be executed")
		return
	case e.info.Mode().Perm()&0o111 == 0:
		c.add(Error, p, 0, notExecutable)
	}
	f, err := c.im.open(e.resolved)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // its path is the host's
		}
		c.add(Warning, p, 0, "cannot read it to check how it runs: %v", err)
		return
	}
	defer f.Close()
	head := make([]byte, binprmBufSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		c.add(Warning, p, 0, "cannot read it to check how it runs: %v", err)
		return
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		c.shebang(p, head[2:])
		if !c.errorsOnly {
			c.calls(p, e.resolved)
		}
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		c.loader(p, f)
	default:
		c.add(Error, p, 0, "no #! line and not an ELF binary: start it with an interpreter line like #!/bin/sh")
	}
}

// shebang checks the #! line of the script p; line is what follows "#!"
// in the first binprmBufSize bytes. The kernel splits it once: the
// interpreter up to the first blank, then at most one argument, the rest
// of the line with its blanks.
func (c *checker) shebang(p string, line []byte) {
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if bytes.HasSuffix(line, []byte("\r")) {
		c.add(Error, p, 1, "the #! line ends with a carriage return (Windows line ends), which the kernel takes as part of the interpreter's name: convert the file to LF line ends (dos2unix)")
		return
	}
	s := strings.TrimLeft(string(line), " \t")
	interp, arg := s, ""
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		interp, arg = s[:i], strings.Trim(s[i:], " \t")
	}
	switch {
	case interp == "":
		c.add(Error, p, 1, "empty #! line: name an interpreter, like #!/bin/sh")
		return
	case !path.IsAbs(interp):
		c.add(Error, p, 1, "#! interpreter %q is not an absolute path", interp)
		return
	}
	if interp == "/bin/execlineb" && c.missingBinExeclineb(p) {
		return
	}
	if !c.executable(p, 1, Error, "#! interpreter "+interp, interp) {
		return
	}
	if base := path.Base(interp); base == "env" || base == "with-env" || base == "with-contenv" {
		c.envShebang(p, interp, arg)
	}
}

// missingBinExeclineb reports, for the script p whose #! line names
// /bin/execlineb, whether it is missing from an image that has ignity's
// /usr/bin/execlineb, and says what that means. The tarball cannot ship
// /bin/execlineb (see stages' execlineb step): /init makes it at boot when
// the root is writable, so at build time this is a Warning; at boot, after
// that step, it is an Error: the root is read-only.
func (c *checker) missingBinExeclineb(p string) bool {
	if _, ok, _ := c.im.look("/bin/execlineb"); ok {
		return false
	}
	if e, ok, err := c.im.look(layout.DefaultPrograms.Execlineb); !ok || err != nil || e.resolved == "" {
		return false
	}
	const fix = "run /usr/src/install-ignity.sh at build time (it copies it there), or write #!/usr/bin/execlineb"
	if c.atBuild {
		c.add(Warning, p, 1, "#! interpreter /bin/execlineb is not in the image: /init creates it at boot when the root filesystem is writable; for a read-only root, %s", fix)
	} else {
		c.add(Error, p, 1, "#! interpreter /bin/execlineb is not in the image, and /init could not create it (read-only root, or not root): %s", fix)
	}
	return true
}

// envShebang checks the program that `#!/usr/bin/env arg` (or ignity's
// `#!/usr/bin/with-env arg`) asks to be found in PATH. A missing one is
// only a Warning: PATH may differ when the script runs.
func (c *checker) envShebang(p, env, arg string) {
	name := path.Base(env)
	var words []string
	switch {
	case arg == "":
		c.add(Error, p, 1, "#!%s names no program for %s to run", env, name)
		return
	case name == "env" && strings.HasPrefix(arg, "-S"):
		words = strings.Fields(arg[2:])
	case strings.ContainsAny(arg, " \t"):
		fix := "write #!" + env + " -S " + arg + ", or name the interpreter by its path"
		if name != "env" {
			fix = "name the interpreter by its path, like #!/bin/sh -e"
		}
		c.add(Error, p, 1, "#!%s %s: the kernel passes %q to %s as one argument, and no program has that name: %s", env, arg, arg, name, fix)
		return
	default:
		words = []string{arg}
	}
	prog := ""
	for _, w := range words {
		if !strings.HasPrefix(w, "-") && !strings.Contains(w, "=") {
			prog = w
			break
		}
	}
	switch {
	case prog == "":
		return // options only: nothing to look for
	case strings.Contains(prog, "/"):
		c.executable(p, 1, Warning, "#!"+env+" program "+prog, prog)
		return
	}
	for _, dir := range c.pathDirs {
		if !path.IsAbs(dir) {
			continue
		}
		if e, ok, err := c.im.look(path.Join(dir, prog)); ok && err == nil && e.resolved != "" &&
			e.info.Mode().IsRegular() && e.info.Mode().Perm()&0o111 != 0 {
			return
		}
	}
	c.add(Warning, p, 1, "#!%s %s: no executable %s in any directory of %s: install it, or name the interpreter by its path", env, arg, prog, c.pathFrom)
}

// executable reports whether the in-image program prog, which the file p
// needs (what says how), exists and can be executed; when not, it says so
// as a problem of p with severity sev.
func (c *checker) executable(p string, line int, sev Severity, what, prog string) bool {
	e, exists, err := c.im.look(prog)
	switch {
	case err != nil:
		c.add(sev, p, line, "%s: %v", what, err)
	case !exists:
		c.add(sev, p, line, "%s not found in the image", what)
	case e.resolved == "":
		c.add(sev, p, line, "%s is a dangling symlink to %q", what, e.link)
	case !e.info.Mode().IsRegular():
		c.add(sev, p, line, "%s is not a regular file", what)
	case e.info.Mode().Perm()&0o111 == 0:
		c.add(sev, p, line, "%s is not executable", what)
	default:
		return true
	}
	return false
}

// loader checks that the dynamic loader (PT_INTERP) of the ELF binary p,
// open as f, is in the image: a binary built against another libc fails
// with a bare "not found" otherwise.
func (c *checker) loader(p string, f io.ReaderAt) {
	interp, err := elfInterp(f)
	if err != nil {
		c.add(Warning, p, 0, "cannot read it as an ELF binary (%v): its dynamic loader is not checked", err)
		return
	}
	if interp == "" {
		return
	}
	if e, ok, err := c.im.look(interp); !ok || err != nil || e.resolved == "" || !e.info.Mode().IsRegular() {
		c.add(Error, p, 0, "its dynamic loader %s is not in the image: the binary was built for another libc or distribution (install that libc, or use a static build)", interp)
	}
}

// elfInterp returns the PT_INTERP path of an ELF binary, "" for a static
// one. It reads just the headers it needs (debug/elf would add ~300 KB of
// DWARF and compression code to the binary for this one field).
func elfInterp(f io.ReaderAt) (string, error) {
	var ident [16]byte
	if _, err := f.ReadAt(ident[:], 0); err != nil {
		return "", err
	}
	if string(ident[:4]) != "\x7fELF" {
		return "", errors.New("no ELF magic")
	}
	var order binary.ByteOrder
	switch ident[5] {
	case 1:
		order = binary.LittleEndian
	case 2:
		order = binary.BigEndian
	default:
		return "", fmt.Errorf("unknown ELF data encoding %d", ident[5])
	}
	// Offsets of e_phoff, e_phentsize, e_phnum and, in a program header,
	// of p_offset and p_filesz, for the two ELF classes.
	var phoff, phentsize, phnum, poff, pfilesz, wordsize int64
	switch ident[4] {
	case 1:
		phoff, phentsize, phnum, poff, pfilesz, wordsize = 28, 42, 44, 4, 16, 4
	case 2:
		phoff, phentsize, phnum, poff, pfilesz, wordsize = 32, 54, 56, 8, 32, 8
	default:
		return "", fmt.Errorf("unknown ELF class %d", ident[4])
	}
	word := func(off, size int64) (uint64, error) {
		b := make([]byte, size)
		if _, err := f.ReadAt(b, off); err != nil {
			return 0, err
		}
		switch size {
		case 2:
			return uint64(order.Uint16(b)), nil
		case 4:
			return uint64(order.Uint32(b)), nil
		}
		return order.Uint64(b), nil
	}
	table, err := word(phoff, wordsize)
	if err != nil {
		return "", err
	}
	entsize, err := word(phentsize, 2)
	if err != nil {
		return "", err
	}
	n, err := word(phnum, 2)
	if err != nil {
		return "", err
	}
	const ptInterp = 3
	for i := uint64(0); i < n; i++ {
		ph := int64(table + i*entsize)
		typ, err := word(ph, 4)
		if err != nil {
			return "", err
		}
		if typ != ptInterp {
			continue
		}
		off, err := word(ph+poff, wordsize)
		if err != nil {
			return "", err
		}
		size, err := word(ph+pfilesz, wordsize)
		if err != nil {
			return "", err
		}
		if size == 0 || size > 4096 {
			return "", fmt.Errorf("PT_INTERP of %d bytes", size)
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, int64(off)); err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}
