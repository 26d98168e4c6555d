package envload

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/joho/godotenv"
)

// leakMarker is planted in fuzz input: after every '=', after every
// quote, at the start of every line (also behind a digit, which no name
// may start with). Its '-' keeps it from being a valid
// name, the only file text an error may quote.
const leakMarker = "LEAK-7f3a"

// FuzzParse: Parse never panics, returns only valid names at lines that
// exist, reports errors as a list of *fileerr.Error at lines that exist, and
// never quotes file text other than a valid name.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, src string) {
		planted := []string{
			src,
			strings.ReplaceAll(src, "=", "="+leakMarker),
			strings.NewReplacer(`"`, `"`+leakMarker, "'", "'"+leakMarker).Replace(src),
			leakMarker + strings.ReplaceAll(src, "\n", "\n"+leakMarker),
			"7" + leakMarker + strings.ReplaceAll(src, "\n", "\n7"+leakMarker),
		}
		for _, in := range planted {
			vars, err := Parse("f.env", strings.NewReader(in))
			norm := strings.ReplaceAll(strings.TrimPrefix(in, "\uFEFF"), "\r\n", "\n")
			lines := strings.Count(norm, "\n") + 1
			for _, v := range vars {
				if badNameByte(v.Name) >= 0 || v.Name == "" {
					t.Errorf("invalid name %q accepted", v.Name)
				}
				if v.Line < 1 || v.Line > lines || v.File != "f.env" {
					t.Errorf("Var %s at %s:%d, input has %d lines", v.Name, v.File, v.Line, lines)
				}
			}
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), leakMarker) {
				t.Errorf("error quotes value text:\n%v", err)
			}
			for _, le := range lineErrors(t, err) {
				if le.Line < 1 || le.Line > lines || le.File != "f.env" {
					t.Errorf("error at %s:%d, input has %d lines: %v", le.File, le.Line, lines, le)
				}
			}
		}
	})
}

// godotenvExcluded reports why godotenv v1.5.1 and Parse may both accept
// src yet read it differently, or "" when they must agree:
//
//   - '$': godotenv expands variables in unquoted and double-quoted values;
//     here values are literal.
//   - '\': godotenv ends a quoted value at any quote preceded by a
//     backslash, even an escaped one, and then trims every quote character
//     off both ends of the raw value; see TestGodotenvExclusions.
//   - a CR not followed by LF: godotenv ends an unquoted value there and
//     reads the rest of the line as a new statement; here it is a blank.
//   - U+0085 and U+00A0: godotenv trims them as blanks around values.
//   - invalid UTF-8: godotenv turns it into U+FFFD in unquoted values.
func godotenvExcluded(src string) string {
	switch {
	case strings.Contains(src, "$"):
		return "dollar"
	case strings.Contains(src, `\`):
		return "backslash"
	case strings.Contains(strings.ReplaceAll(src, "\r\n", ""), "\r"):
		return "lone CR"
	case strings.ContainsAny(src, "\u0085\u00a0"):
		return "NEL or NBSP"
	case !utf8.ValidString(src):
		return "invalid UTF-8"
	}
	return ""
}

// FuzzDifferential: where godotenv and Parse both accept an input they do
// not exclude, they read the same variables (a later duplicate winning).
func FuzzDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, src string) {
		if godotenvExcluded(src) != "" {
			return
		}
		want, gerr := godotenv.Unmarshal(src)
		vars, err := Parse("f.env", strings.NewReader(src))
		if gerr != nil || err != nil {
			return
		}
		got := make(map[string]string)
		for _, v := range vars {
			got[v.Name] = v.Value
		}
		if !maps.Equal(got, want) {
			t.Errorf("input %q\nParse    %q\ngodotenv %q", src, got, want)
		}
	})
}

// FuzzEnvdirRoundTrip: entries Check accepts come back byte for byte from
// WriteDir and ReadDir, first into a new envdir, then replacing it, and
// nothing appears outside the envdir.
func FuzzEnvdirRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, name1, value1, name2, value2 string) {
		ok, _ := Check([]string{name1 + "=" + value1, name2 + "=" + value2})
		if len(ok) == 0 {
			return
		}
		// What Merge would pass on: one entry per name, the later winning.
		want := Merge(nil, ok)
		parent := t.TempDir()
		dir := filepath.Join(parent, "envs")
		for _, env := range [][]string{{"OLD=x", "B=y"}, ok} {
			if err := WriteDir(dir, env); err != nil {
				t.Fatalf("WriteDir(%q): %v", env, err)
			}
		}
		got, err := ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ReadDir = %q, want %q", got, want)
		}
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "envs" {
			t.Errorf("parent of the envdir holds %v", entries)
		}
		entries, err = os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(want) {
			t.Errorf("envdir holds %d entries, want %d", len(entries), len(want))
		}
	})
}

// TestGodotenvExclusions keeps godotenvExcluded honest: each exclusion is
// a real difference, shown by an input both parsers accept.
func TestGodotenvExclusions(t *testing.T) {
	tests := []struct {
		name, src, reason string
		godotenv, parse   map[string]string
	}{
		{"expansion", "A=$0", "dollar", map[string]string{"A": ""}, map[string]string{"A": "$0"}},
		{"escaped quote", `A="a\""`, "backslash", map[string]string{"A": `a\`}, map[string]string{"A": `a"`}},
		{"single-quoted escaped quote", `A='a\''`, "backslash", map[string]string{"A": `a\`}, map[string]string{"A": `a\'`}},
		{"lone CR", "A=x\ry", "lone CR", map[string]string{"A": "x", "": "y"}, map[string]string{"A": "x\ry"}},
		{"NBSP", "A=x\u00a0", "NEL or NBSP", map[string]string{"A": "x"}, map[string]string{"A": "x\u00a0"}},
		{"NEL", "A=\u0085x", "NEL or NBSP", map[string]string{"A": "x"}, map[string]string{"A": "\u0085x"}},
		{"invalid UTF-8", "A=\xff", "invalid UTF-8", map[string]string{"A": "\uFFFD"}, map[string]string{"A": "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := godotenvExcluded(tt.src); got != tt.reason {
				t.Errorf("godotenvExcluded = %q, want %q", got, tt.reason)
			}
			g, err := godotenv.Unmarshal(tt.src)
			if err != nil || !maps.Equal(g, tt.godotenv) {
				t.Errorf("godotenv = %q, %v; want %q", g, err, tt.godotenv)
			}
			vars, err := Parse("f.env", strings.NewReader(tt.src))
			got := make(map[string]string)
			for _, v := range vars {
				got[v.Name] = v.Value
			}
			if err != nil || !maps.Equal(got, tt.parse) {
				t.Errorf("Parse = %q, %v; want %q", got, err, tt.parse)
			}
		})
	}
}
