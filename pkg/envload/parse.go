// Package envload reads env files and writes and reads the envdir.
//
// At boot ignity merges the container's environment with every file of
// /etc/ignity/envs (LoadDir, Merge: files in name order, a later file
// overriding an earlier one, the container's environment overriding them
// all), drops what exec or an envdir cannot carry (Check), and writes the
// result to /run/ignity/envs as an envdir (WriteDir): one file per variable,
// the file's bytes being the value. The with-env helper reads it back
// (ReadDir) and execs its program with it (Apply).
//
// The envdir and the env files hold secrets. No error of this package ever
// quotes a value or any text of an env file other than a valid variable
// name: errors give the file, the line, the name and what was expected.
//
// # Env file syntax
//
// The syntax is the subset of godotenv v1.5.1's that a line-based parser can
// check line by line, with one deliberate difference: values are literal,
// "$" is never expanded (Docker's --env-file and the original ignity do not
// expand either).
//
//   - A UTF-8 byte order mark at the start is ignored, and CRLF line ends
//     are read as LF (also inside quoted values), as godotenv does.
//   - Blank lines and lines whose first non-blank character is '#' are
//     skipped. Blanks are space, tab, VT, FF and a CR that ends no line.
//   - A statement is [export ]NAME=value or NAME: value, with blanks allowed
//     around the name and after the separator; the separator is the first
//     '=' or ':' of the line.
//   - NAME matches [A-Za-z_][A-Za-z0-9_.]*: godotenv also takes names that
//     start with a digit, hold Latin-1 letters or inner spaces, or are empty;
//     those cannot be exported by a shell and are errors here.
//   - An unquoted value runs to the end of the line and is trimmed of
//     blanks. Like godotenv, the rightmost '#' preceded by a blank starts a
//     comment: "A=x # note" is "x", "A=p#ss" is "p#ss". Quote a value that
//     must keep " #".
//   - A single-quoted value is literal up to the next ' that does not follow
//     a backslash (godotenv's rule: 'it\'s' is it\'s, backslash kept).
//   - A double-quoted value ends at the next unescaped ". In it \n is a
//     newline, \r a carriage return and a backslash before any other
//     character stands for that character (\\ \" \$ \t give \ " $ t), as in
//     godotenv. Unlike godotenv an escaped backslash does not escape the
//     quote after it: "a\\" is a\.
//   - Quoted values may span lines. After the closing quote only blanks and
//     a '#' comment may follow on that line.
//
// Errors: a line without '=' or ':', an invalid name, an unterminated quote
// (reported at the line where the value began; it swallows the rest of the
// file, so it is the last error of its file) and text after a closing
// quote. Every bad line is reported, not only the first.
package envload

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/fileerr"
)

// Var is one assignment read from an env file.
type Var struct {
	Name, Value string
	File        string // the name given to Parse: a path for LoadDir
	Line        int    // where the assignment starts (1-based)
}

// Parse reads dotenv text (see the package documentation). name is used in
// errors and in Var.File. The error, if any, joins one *fileerr.Error per
// bad line (errors.Join), in line order, whose problem holds positions,
// names and what was expected, never a value; the Vars of the good lines are returned
// alongside so a caller may choose to warn and go on.
func Parse(name string, r io.Reader) ([]Var, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	src := strings.TrimPrefix(string(b), "\uFEFF")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	p := parser{file: name, src: src, line: 1}
	for p.pos < len(p.src) && p.statement() {
	}
	return p.vars, errors.Join(p.errs...)
}

// LoadDir parses the env files of dir: regular files and symlinks to them,
// in byte-wise name order, skipping names that start with '.' and entries
// of other types. A missing dir holds no variables. Errors of all files are
// joined; the Vars of every good line are returned alongside.
func LoadDir(dir string) ([]Var, error) {
	entries, err := confdir.Read(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load env files: %w", err)
	}
	var vars []Var
	var errs []error
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows a symlink
		if err != nil {
			errs = append(errs, fmt.Errorf("load env file: %w", err))
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		vs, err := parseFile(path)
		vars = append(vars, vs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return vars, errors.Join(errs...)
}

func parseFile(path string) ([]Var, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load env file: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// parser walks src statement by statement. Every statement starts at the
// beginning of a line; a quoted value may carry it over several lines.
type parser struct {
	file string
	src  string
	pos  int // offset of the next unread byte, always at a line start
	line int // line number of src[pos]
	vars []Var
	errs []error
}

// blanks are the characters trimmed around names and unquoted values.
// godotenv also trims U+0085 and U+00A0; they are kept here, as value bytes.
const blanks = " \t\v\f\r"

func isBlank(c byte) bool { return strings.IndexByte(blanks, c) >= 0 }

func skipBlanks(s string, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

// eol returns the offset of the '\n' ending the line holding src[i], or
// len(src) for the last line.
func (p *parser) eol(i int) int {
	if n := strings.IndexByte(p.src[i:], '\n'); n >= 0 {
		return i + n
	}
	return len(p.src)
}

// skipTo moves past the line end at eol, counting the lines crossed.
func (p *parser) skipTo(eol int) {
	if eol < len(p.src) {
		eol++
	}
	p.line += strings.Count(p.src[p.pos:eol], "\n")
	p.pos = eol
}

func (p *parser) fail(line int, format string, args ...any) {
	p.errs = append(p.errs, fileerr.Errorf(p.file, line, format, args...))
}

// statement parses the statement at p.pos and moves to the next line. It
// returns false when the statement swallowed the rest of src.
func (p *parser) statement() bool {
	start := p.line
	eol := p.eol(p.pos)
	line := p.src[p.pos:eol]
	i := skipBlanks(line, 0)
	if i == len(line) || line[i] == '#' {
		p.skipTo(eol)
		return true
	}
	if strings.HasPrefix(line[i:], "export") && i+6 < len(line) && isBlank(line[i+6]) {
		i = skipBlanks(line, i+6)
	}
	sep := strings.IndexAny(line[i:], "=:")
	if sep < 0 {
		p.fail(start, "missing '=' (want NAME=value)")
		p.skipTo(eol)
		return true
	}
	sep += i
	name := strings.TrimRight(line[i:sep], blanks)
	if name == "" {
		p.fail(start, "missing variable name before %q", line[sep])
		p.skipTo(eol)
		return true
	}
	if bad := badNameByte(name); bad >= 0 {
		if bad == 0 {
			p.fail(start, "invalid variable name at column %d: want a letter or '_'", i+1)
		} else {
			p.fail(start, "invalid variable name at column %d: want a letter, a digit, '_' or '.'", i+bad+1)
		}
		p.skipTo(eol)
		return true
	}
	v := skipBlanks(line, sep+1)
	if v < len(line) && (line[v] == '"' || line[v] == '\'') {
		return p.quoted(name, start, p.pos+v)
	}
	p.vars = append(p.vars, Var{Name: name, Value: unquoted(line[v:]), File: p.file, Line: start})
	p.skipTo(eol)
	return true
}

// badNameByte returns the index of the first byte of name that breaks
// [A-Za-z_][A-Za-z0-9_.]*, or -1.
func badNameByte(name string) int {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.'):
		default:
			return i
		}
	}
	return -1
}

// unquoted returns the value of an unquoted assignment, s being the rest of
// its line after the leading blanks: godotenv cuts at the rightmost '#'
// that follows a blank, then trims.
func unquoted(s string) string {
	for k := len(s) - 1; k > 0; k-- {
		if s[k] == '#' && isBlank(s[k-1]) {
			s = s[:k]
			break
		}
	}
	return strings.Trim(s, blanks)
}

// quoted parses a quoted value whose opening quote is at src[open], for
// the statement of name that started at line start.
func (p *parser) quoted(name string, start, open int) bool {
	q := p.src[open]
	var value strings.Builder
	closing := -1
	for j := open + 1; j < len(p.src) && closing < 0; j++ {
		c := p.src[j]
		switch {
		case q == '\'' && c == '\'' && p.src[j-1] != '\\':
			closing = j
		case q == '\'':
			value.WriteByte(c)
		case c == '"':
			closing = j
		case c == '\\' && j+1 < len(p.src):
			j++
			switch e := p.src[j]; e {
			case 'n':
				value.WriteByte('\n')
			case 'r':
				value.WriteByte('\r')
			default:
				value.WriteByte(e)
			}
		default:
			value.WriteByte(c)
		}
	}
	if closing < 0 {
		kind := "double"
		if q == '\'' {
			kind = "single"
		}
		p.fail(start, "unterminated %s-quoted value of %s", kind, name)
		p.skipTo(len(p.src))
		return false
	}
	eol := p.eol(closing)
	rest := skipBlanks(p.src[:eol], closing+1)
	if rest < eol && p.src[rest] != '#' {
		p.fail(p.line+strings.Count(p.src[p.pos:closing], "\n"),
			"unexpected text after the closing quote of %s", name)
	} else {
		p.vars = append(p.vars, Var{Name: name, Value: value.String(), File: p.file, Line: start})
	}
	p.skipTo(eol)
	return true
}
