package envload

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ignity/ignity/pkg/fileerr"
)

// secret marks value text in error tests: it must never reach an error.
// The '-' keeps it from ever being a valid variable name.
const secret = "hunter2-SECRET"

type nv struct {
	name, value string
	line        int
}

func parseString(t *testing.T, src string) ([]nv, error) {
	t.Helper()
	vars, err := Parse("test.env", strings.NewReader(src))
	var got []nv
	for _, v := range vars {
		if v.File != "test.env" {
			t.Errorf("Var %s: File = %q, want test.env", v.Name, v.File)
		}
		got = append(got, nv{v.Name, v.Value, v.Line})
	}
	return got, err
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []nv
	}{
		{name: "empty", src: ""},
		{name: "blank and comment lines", src: "\n  \n# A=1\n\t# B=2\n", want: nil},
		{name: "plain", src: "A=1\nB=two words\n", want: []nv{{"A", "1", 1}, {"B", "two words", 2}}},
		{name: "no final newline", src: "A=1", want: []nv{{"A", "1", 1}}},
		{name: "export prefix", src: "export A=1\nexport\tB=2\n  export   C = 3\n",
			want: []nv{{"A", "1", 1}, {"B", "2", 2}, {"C", "3", 3}}},
		{name: "export as a name", src: "export=1\nexport:2\nexported=3\n",
			want: []nv{{"export", "1", 1}, {"export", "2", 2}, {"exported", "3", 3}}},
		{name: "colon form", src: "A: 1\nB:2\nURL: http://x:80/\n",
			want: []nv{{"A", "1", 1}, {"B", "2", 2}, {"URL", "http://x:80/", 3}}},
		{name: "first separator wins", src: "A=b:c\nB:c=d\nC==e\n",
			want: []nv{{"A", "b:c", 1}, {"B", "c=d", 2}, {"C", "=e", 3}}},
		{name: "blanks around name and value", src: "  A  =  1  \n\tB\t=\tx y\t\n",
			want: []nv{{"A", "1", 1}, {"B", "x y", 2}}},
		{name: "name charset", src: "_a.b_9=1\nA.B=2\n",
			want: []nv{{"_a.b_9", "1", 1}, {"A.B", "2", 2}}},
		{name: "empty values", src: "A=\nB=\"\"\nC=''\nD=   \n",
			want: []nv{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}, {"D", "", 4}}},
		{name: "inline comment", src: "A=x # note\nB=x\t#note\nC=p#ss\nD=#hash\nE= #hash\n",
			want: []nv{{"A", "x", 1}, {"B", "x", 2}, {"C", "p#ss", 3}, {"D", "#hash", 4}, {"E", "#hash", 5}}},
		{name: "rightmost comment wins as in godotenv", src: "A=x # y # z\n",
			want: []nv{{"A", "x # y", 1}}},
		{name: "quotes inside unquoted value", src: `A=a"b'c` + "\n" + `B=x "y"` + "\n",
			want: []nv{{"A", `a"b'c`, 1}, {"B", `x "y"`, 2}}},
		{name: "single quoted is literal", src: `A='a # b \n "c" $X'` + "\n",
			want: []nv{{"A", `a # b \n "c" $X`, 1}}},
		{name: "single quoted escaped quote kept", src: `A='it\'s'` + "\n",
			want: []nv{{"A", `it\'s`, 1}}},
		{name: "double quoted escapes", src: `A="a\nb\rc\\d\"e\$f\tg"` + "\n",
			want: []nv{{"A", "a\nb\rc\\d\"e$ftg", 1}}},
		{name: "double quoted keeps blanks and hash", src: `A="  x # y  "` + "\n",
			want: []nv{{"A", "  x # y  ", 1}}},
		{name: "escaped backslash before closing quote", src: `A="x\\"` + "\nB=1\n",
			want: []nv{{"A", `x\`, 1}, {"B", "1", 2}}},
		{name: "comment after closing quote", src: "A=\"x\" # c\nB='y'#c\nC=\"z\"  \n",
			want: []nv{{"A", "x", 1}, {"B", "y", 2}, {"C", "z", 3}}},
		{name: "blanks before opening quote", src: "A=  \"x\"\n", want: []nv{{"A", "x", 1}}},
		{name: "multi-line double quoted", src: "A=\"line1\nline2\n\" \nB=after\n",
			want: []nv{{"A", "line1\nline2\n", 1}, {"B", "after", 4}}},
		{name: "multi-line single quoted", src: "X=1\nKEY='-----BEGIN\nabc\n-----END'\nY=2\n",
			want: []nv{{"X", "1", 1}, {"KEY", "-----BEGIN\nabc\n-----END", 2}, {"Y", "2", 5}}},
		{name: "CRLF", src: "A=1\r\nB=\"x\r\ny\"\r\n", want: []nv{{"A", "1", 1}, {"B", "x\ny", 2}}},
		{name: "byte order mark", src: "\uFEFFA=1\n", want: []nv{{"A", "1", 1}}},
		{name: "duplicates all returned", src: "A=1\nA=2\n", want: []nv{{"A", "1", 1}, {"A", "2", 2}}},
		{name: "non-ASCII value", src: "A=héllo wörld ✓\n", want: []nv{{"A", "héllo wörld ✓", 1}}},
		{name: "lone CR is a blank", src: "A=x\r\r\nB=\r\"y\"\r\n", want: []nv{{"A", "x", 1}, {"B", "y", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(t, tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.src, got, tt.want)
			}
		})
	}
}

// TestParseDollarLiteral: "$" is never expanded, in any quoting form.
func TestParseDollarLiteral(t *testing.T) {
	const pw = `P@$$w0rd$HOME`
	tests := []struct {
		name, src string
	}{
		{"unquoted", "PW=" + pw},
		{"export", "export PW=" + pw},
		{"colon", "PW: " + pw},
		{"single", "PW='" + pw + "'"},
		{"double", `PW="` + pw + `"`},
		{"double with braces", `PW="${HOME}$(id)"`},
	}
	t.Setenv("HOME", "/root")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(t, tt.src+"\n")
			if err != nil {
				t.Fatal(err)
			}
			want := pw
			if tt.name == "double with braces" {
				want = "${HOME}$(id)"
			}
			if len(got) != 1 || got[0].value != want {
				t.Errorf("got %+v, want value %q", got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantLines []int
		wantMsgs  []string // one substring per error
		wantVars  []string
	}{
		{
			name: "every bad line",
			src: "GOOD=1\n" + // 1
				"just text " + secret + "\n" + // 2
				"1BAD=" + secret + "\n" + // 3
				"BAD-NAME=" + secret + "\n" + // 4
				`Q="` + secret + `" ` + secret + "\n" + // 5
				"=" + secret + "\n" + // 6
				"OK2='x'\n" + // 7
				"S P=" + secret + "\n" + // 8
				`Q2='` + secret + `'x` + "\n", // 9
			wantLines: []int{2, 3, 4, 5, 6, 8, 9},
			wantMsgs: []string{
				"missing '='",
				"invalid variable name at column 1",
				"invalid variable name at column 4",
				"after the closing quote of Q",
				"missing variable name",
				"invalid variable name at column 2",
				"after the closing quote of Q2",
			},
			wantVars: []string{"GOOD", "OK2"},
		},
		{
			name:      "unterminated double quote reports its first line",
			src:       "A=1\nB=2\nPW=\"" + secret + "\nC=3\n" + secret + "\n",
			wantLines: []int{3},
			wantMsgs:  []string{"unterminated double-quoted value of PW"},
			wantVars:  []string{"A", "B"},
		},
		{
			name:      "unterminated single quote after other errors",
			src:       "x\nK='" + secret + "\n",
			wantLines: []int{1, 2},
			wantMsgs:  []string{"missing '='", "unterminated single-quoted value of K"},
		},
		{
			name:      "garbage after a multi-line value reports the closing line",
			src:       "A=\"1\n2\n3\" " + secret + "\nB=1\n",
			wantLines: []int{3},
			wantMsgs:  []string{"after the closing quote of A"},
			wantVars:  []string{"B"},
		},
		{
			name:      "export without assignment",
			src:       "export " + secret + "\n",
			wantLines: []int{1},
			wantMsgs:  []string{"missing '='"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(t, tt.src)
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error text leaks the value:\n%v", err)
			}
			lerrs := lineErrors(t, err)
			var lines []int
			for i, le := range lerrs {
				lines = append(lines, le.Line)
				if le.File != "test.env" {
					t.Errorf("error %d: File = %q", i, le.File)
				}
				if i < len(tt.wantMsgs) && !strings.Contains(le.Err.Error(), tt.wantMsgs[i]) {
					t.Errorf("error %d = %q, want it to hold %q", i, le.Err, tt.wantMsgs[i])
				}
				if want := "test.env:" + strconv.Itoa(le.Line) + ": " + le.Err.Error(); le.Error() != want {
					t.Errorf("Error() = %q, want %q", le.Error(), want)
				}
			}
			if !slices.Equal(lines, tt.wantLines) {
				t.Errorf("error lines = %v, want %v\n%v", lines, tt.wantLines, err)
			}
			var names []string
			for _, v := range got {
				names = append(names, v.name)
			}
			if !slices.Equal(names, tt.wantVars) {
				t.Errorf("good vars = %v, want %v", names, tt.wantVars)
			}
		})
	}
}

// lineErrors unpacks Parse's joined error, failing unless every part is a
// *fileerr.Error.
func lineErrors(t testing.TB, err error) []*fileerr.Error {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not a list: %v", err, err)
	}
	var out []*fileerr.Error
	for _, e := range joined.Unwrap() {
		le, ok := e.(*fileerr.Error)
		if !ok {
			t.Fatalf("error %T is not a *fileerr.Error: %v", e, e)
		}
		out = append(out, le)
	}
	return out
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDir(t *testing.T) {
	t.Run("missing dir", func(t *testing.T) {
		vars, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
		if vars != nil || err != nil {
			t.Errorf("LoadDir = %v, %v; want nil, nil", vars, err)
		}
	})

	t.Run("name order and later file wins", func(t *testing.T) {
		dir := t.TempDir()
		outside := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"20-app":      "A=from-20\nC=c\n",
			"10-base":     "A=from-10\nB=b\n",
			"B-upper":     "ORDER=B-upper\n", // 'B' < '_' < 'a' byte-wise
			"_under":      "ORDER=_under\n",
			"a-lower":     "ORDER=a-lower\n",
			".hidden":     "A=hidden\n",
			"sub/nested":  "A=nested\n",
			"99-link.tgt": "",
		})
		writeFiles(t, outside, map[string]string{"target": "L=linked\n"})
		if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, "30-link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "40-dirlink")); err != nil {
			t.Fatal(err)
		}
		vars, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, v := range vars {
			files = append(files, filepath.Base(v.File)+":"+v.Name)
		}
		want := []string{"10-base:A", "10-base:B", "20-app:A", "20-app:C", "30-link:L",
			"B-upper:ORDER", "_under:ORDER", "a-lower:ORDER"}
		if !slices.Equal(files, want) {
			t.Errorf("load order = %v\nwant %v", files, want)
		}
		got := Merge(vars, nil)
		wantEnv := []string{"A=from-20", "B=b", "C=c", "L=linked", "ORDER=a-lower"}
		if !slices.Equal(got, wantEnv) {
			t.Errorf("Merge = %q, want %q", got, wantEnv)
		}
	})

	t.Run("errors of every file", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"10-a": "A=1\nbad " + secret + "\n",
			"20-b": "B=2\nC=\"" + secret + "\n",
		})
		if err := os.Symlink("missing", filepath.Join(dir, "30-dangling")); err != nil {
			t.Fatal(err)
		}
		vars, err := LoadDir(dir)
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		for _, want := range []string{
			filepath.Join(dir, "10-a") + ":2: ",
			filepath.Join(dir, "20-b") + ":2: unterminated",
			"30-dangling",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, secret) {
			t.Errorf("error leaks the value:\n%s", msg)
		}
		if len(vars) != 2 {
			t.Errorf("good vars = %v, want A and B", vars)
		}
	})
}

func TestMerge(t *testing.T) {
	files := []Var{{Name: "A", Value: "file-a"}, {Name: "B", Value: "file-b1"}, {Name: "B", Value: "file-b2"}, {Name: "A.B", Value: "dot"}}
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{"files only, later wins, sorted by name", nil,
			[]string{"A=file-a", "A.B=dot", "B=file-b2"}},
		{"environ overrides", []string{"B=env", "PATH=/bin"},
			[]string{"A=file-a", "A.B=dot", "B=env", "PATH=/bin"}},
		{"environ empty value overrides", []string{"A="},
			[]string{"A=", "A.B=dot", "B=file-b2"}},
		{"later environ duplicate wins", []string{"A=1", "A=2"},
			[]string{"A=2", "A.B=dot", "B=file-b2"}},
		{"value with '=' and newline", []string{"X=a=b\nc"},
			[]string{"A=file-a", "A.B=dot", "B=file-b2", "X=a=b\nc"}},
		{"entry without '=' kept for Check", []string{"ODD"},
			[]string{"A=file-a", "A.B=dot", "B=file-b2", "ODD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Merge(files, tt.environ); !slices.Equal(got, tt.want) {
				t.Errorf("Merge = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	name := "BIG"
	limit := MaxArgStrlen - len(name) - 2
	tests := []struct {
		name    string
		entry   string
		wantErr string // "" = accepted
	}{
		{"plain", "A=1", ""},
		{"odd but envdir-safe name", "my-var x=1", ""},
		{"empty value", "A=", ""},
		{"newline in value", "A=a\nb", ""},
		{"no '='", "NOEQ", `"NOEQ": no '='`},
		{"empty name", "=" + secret, "empty name"},
		{"slash", "A/B=" + secret, `"A/B"`},
		{"NUL in name", "A\x00B=" + secret, `"A\x00B"`},
		{"leading dot", ".A=" + secret, `".A"`},
		{"dot dot", "..=" + secret, `".."`},
		{"name too long", strings.Repeat("N", 256) + "=" + secret, "file name limit"},
		{"name at NAME_MAX", strings.Repeat("N", 255) + "=1", ""},
		{"NUL in value", "NV=" + secret + "\x00x", `"NV": value holds a NUL`},
		{"value at the exec limit", name + "=" + strings.Repeat("s", limit), ""},
		{"value over the exec limit", name + "=" + strings.Repeat("s", limit+1), `"BIG": value of 131068 bytes`},
		{"MaxValue with a one-byte name", "N=" + strings.Repeat("s", MaxValue), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, problems := Check([]string{"BEFORE=1", tt.entry, "AFTER=2"})
			if tt.wantErr == "" {
				if len(problems) != 0 || len(ok) != 3 {
					t.Errorf("Check rejected it: %v", problems)
				}
				return
			}
			if !slices.Equal(ok, []string{"BEFORE=1", "AFTER=2"}) {
				t.Errorf("ok = %q", ok)
			}
			if len(problems) != 1 {
				t.Fatalf("problems = %v, want one", problems)
			}
			msg := problems[0].Error()
			if !strings.Contains(msg, tt.wantErr) {
				t.Errorf("problem %q, want it to hold %q", msg, tt.wantErr)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "sss") {
				t.Errorf("problem leaks the value: %q", msg)
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name         string
		environ, env []string
		want         []string
	}{
		{"empty envdir", []string{"PATH=/bin", "HOME=/"}, nil, []string{"PATH=/bin", "HOME=/"}},
		{"override keeps position", []string{"PATH=/bin", "HOME=/"}, []string{"PATH=/usr/bin"},
			[]string{"PATH=/usr/bin", "HOME=/"}},
		{"new names appended in env order", []string{"PATH=/bin"}, []string{"Z=1", "A=2"},
			[]string{"PATH=/bin", "Z=1", "A=2"}},
		{"duplicates in environ collapse", []string{"A=1", "B=x", "A=2"}, []string{"A=3"},
			[]string{"A=3", "B=x"}},
		{"later duplicate in env wins", nil, []string{"A=1", "A=2"}, []string{"A=2"}},
		{"odd environ entry kept", []string{"ODD", "A=1"}, []string{"A=2"}, []string{"ODD", "A=2"}},
		{"empty value overrides", []string{"A=1"}, []string{"A="}, []string{"A="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Apply(tt.environ, tt.env); !slices.Equal(got, tt.want) {
				t.Errorf("Apply = %q, want %q", got, tt.want)
			}
		})
	}
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestWriteDir(t *testing.T) {
	t.Run("modes and exact bytes", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "envs")
		env := []string{"A=1", "EMPTY=", "ML=line1\nline2\n", "SP= x "}
		if err := WriteDir(dir, env); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, dir); m != fs.ModeDir|0o700 {
			t.Errorf("dir mode = %v, want drwx------", m)
		}
		for _, kv := range env {
			name, value, _ := strings.Cut(kv, "=")
			path := filepath.Join(dir, name)
			if m := mode(t, path); m != 0o600 {
				t.Errorf("%s mode = %v, want -rw-------", name, m)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != value {
				t.Errorf("%s holds %q, want %q", name, b, value)
			}
		}
		if got := listDir(t, parent); !slices.Equal(got, []string{"envs"}) {
			t.Errorf("parent holds %q, want only envs", got)
		}
		got, err := ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, env) {
			t.Errorf("ReadDir = %q, want %q", got, env)
		}
	})

	t.Run("modes despite a strict umask", func(t *testing.T) {
		old := syscall.Umask(0o277)
		defer syscall.Umask(old)
		dir := filepath.Join(t.TempDir(), "envs")
		if err := WriteDir(dir, []string{"A=1"}); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, dir); m != fs.ModeDir|0o700 {
			t.Errorf("dir mode = %v", m)
		}
		if m := mode(t, filepath.Join(dir, "A")); m != 0o600 {
			t.Errorf("file mode = %v", m)
		}
	})

	for _, fallback := range []bool{false, true} {
		name := "replaces an old envdir"
		if fallback {
			name += " without RENAME_EXCHANGE"
		}
		t.Run(name, func(t *testing.T) {
			w := host
			exchanges := 0
			w.exchange = func(a, b string) error {
				exchanges++
				if fallback {
					return errors.ErrUnsupported
				}
				return exchange(a, b)
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "envs")
			if err := w.writeDir(dir, []string{"OLD=1", "KEEP=old"}); err != nil {
				t.Fatal(err)
			}
			if err := w.writeDir(dir, []string{"KEEP=new", "NEW=2"}); err != nil {
				t.Fatal(err)
			}
			got, err := ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"KEEP=new", "NEW=2"}; !slices.Equal(got, want) {
				t.Errorf("ReadDir = %q, want %q", got, want)
			}
			if got := listDir(t, parent); !slices.Equal(got, []string{"envs"}) {
				t.Errorf("parent holds %q, want only envs", got)
			}
			if m := mode(t, dir); m != fs.ModeDir|0o700 {
				t.Errorf("dir mode = %v", m)
			}
			if exchanges != 1 {
				t.Errorf("%d exchanges, want 1 (none for the first write)", exchanges)
			}
		})
	}

	t.Run("failed exchange keeps the old envdir", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "envs")
		if err := WriteDir(dir, []string{"OLD=1"}); err != nil {
			t.Fatal(err)
		}
		w := host
		w.exchange = func(a, b string) error { return syscall.EBUSY }
		if err := w.writeDir(dir, []string{"NEW=2"}); !errors.Is(err, syscall.EBUSY) {
			t.Fatalf("writeDir error = %v, want EBUSY", err)
		}
		if got, _ := ReadDir(dir); !slices.Equal(got, []string{"OLD=1"}) {
			t.Errorf("envdir now %q", got)
		}
		if got := listDir(t, parent); !slices.Equal(got, []string{"envs"}) {
			t.Errorf("parent holds %q", got)
		}
	})

	t.Run("empty existing dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "envs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteDir(dir, []string{"A=1"}); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, dir); m != fs.ModeDir|0o700 {
			t.Errorf("dir mode = %v", m)
		}
	})

	t.Run("later duplicate wins", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "envs")
		if err := WriteDir(dir, []string{"A=1", "A=2"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := ReadDir(dir); !slices.Equal(got, []string{"A=2"}) {
			t.Errorf("ReadDir = %q", got)
		}
	})

	refuse := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"a subdirectory", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"sub/x": "1"})
		}, `"sub" is not a variable file`},
		{"a dot file", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{".keep": ""})
		}, `".keep" is not a variable file`},
		{"a symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "L")); err != nil {
				t.Fatal(err)
			}
		}, `"L" is not a variable file`},
	}
	for _, tt := range refuse {
		t.Run("refuses a dir holding "+tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "envs")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			before := listDir(t, dir)
			err := WriteDir(dir, []string{"A=1"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteDir error = %v, want %q", err, tt.want)
			}
			if got := listDir(t, dir); !slices.Equal(got, before) {
				t.Errorf("dir changed to %q", got)
			}
			if got := listDir(t, parent); !slices.Equal(got, []string{"envs"}) {
				t.Errorf("parent holds %q", got)
			}
		})
	}

	t.Run("refuses a file at dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "envs")
		writeFiles(t, filepath.Dir(dir), map[string]string{"envs": "x"})
		if err := WriteDir(dir, []string{"A=1"}); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("WriteDir error = %v", err)
		}
	})

	t.Run("refuses an entry Check rejects", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "envs")
		for _, kv := range []string{"../x=" + secret, ".x=1", "A/B=1", "NOEQ"} {
			err := WriteDir(dir, []string{"A=1", kv})
			if err == nil {
				t.Errorf("WriteDir accepted %q", kv)
			} else if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the value: %v", err)
			}
		}
		if got := listDir(t, parent); len(got) != 0 {
			t.Errorf("parent holds %q", got)
		}
	})
}

// TestWriteDirFullDisk: a write failing midway (ENOSPC on a full tmpfs)
// leaves no partial envdir: a new one is not created, an old one is kept.
func TestWriteDirFullDisk(t *testing.T) {
	full := host
	full.writeValue = func(f *os.File, value string) error {
		if filepath.Base(f.Name()) == "B" {
			// A short write, then the disk is full.
			f.WriteString(value[:1])
			return &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		return host.writeValue(f, value)
	}
	env := []string{"A=1", "B=" + secret, "C=3"}

	tests := []struct {
		name string
		old  []string // nil: no envdir before
	}{
		{"new envdir", nil},
		{"replacing an envdir", []string{"OLD=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "envs")
			if tt.old != nil {
				if err := WriteDir(dir, tt.old); err != nil {
					t.Fatal(err)
				}
			}
			err := full.writeDir(dir, env)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("error %v is not ENOSPC", err)
			}
			if !strings.Contains(err.Error(), "variable B:") {
				t.Errorf("error %q does not name the variable", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the value: %v", err)
			}
			var want []string
			if tt.old != nil {
				want = []string{"envs"}
			}
			if got := listDir(t, parent); !slices.Equal(got, want) {
				t.Errorf("parent holds %q, want %q", got, want)
			}
			if tt.old != nil {
				if got, err := ReadDir(dir); err != nil || !slices.Equal(got, tt.old) {
					t.Errorf("old envdir now %q, %v; want %q", got, err, tt.old)
				}
			}
		})
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"B":        "two\nlines\n",
		"A":        "",
		".hidden":  "x",
		"sub/C":    "nested",
		"SPACE":    " x ",
		"a.lower":  "1",
		"_UNDER":   "2",
		"TRAILING": "nl\n",
	})
	if err := os.Symlink("A", filepath.Join(dir, "LINK")); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=", "B=two\nlines\n", "SPACE= x ", "TRAILING=nl\n", "_UNDER=2", "a.lower=1"}
	if !slices.Equal(got, want) {
		t.Errorf("ReadDir = %q\nwant %q", got, want)
	}

	t.Run("missing dir", func(t *testing.T) {
		if _, err := ReadDir(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error = %v, want ErrNotExist", err)
		}
	})
	t.Run("file name with '='", func(t *testing.T) {
		d := t.TempDir()
		writeFiles(t, d, map[string]string{"A=B": "x"})
		if _, err := ReadDir(d); err == nil || !strings.Contains(err.Error(), `"A=B"`) {
			t.Errorf("error = %v", err)
		}
	})
}

// TestRoundTrip runs a big and a multi-line value from an env file through
// the whole boot path and back as with-env sees it.
func TestRoundTrip(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 100*1024/16) // 100 KiB
	tests := []struct {
		name, src, value string
	}{
		{"100 KiB unquoted", "V=" + big + "\n", big},
		{"100 KiB double-quoted", `V="` + big + `"` + "\n", big},
		{"multi-line", "V=\"-----BEGIN KEY-----\nMIIB$x\n-----END KEY-----\n\"\n", "-----BEGIN KEY-----\nMIIB$x\n-----END KEY-----\n"},
		{"escaped newlines", `V="a\nb"` + "\n", "a\nb"},
		{"literal dollars", "V='P@$$w0rd$HOME'\n", "P@$$w0rd$HOME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, err := Parse("test.env", strings.NewReader(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			env, problems := Check(Merge(vars, []string{"PATH=/bin"}))
			if len(problems) != 0 {
				t.Fatal(problems)
			}
			dir := filepath.Join(t.TempDir(), "envs")
			if err := WriteDir(dir, env); err != nil {
				t.Fatal(err)
			}
			got, err := ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"PATH=/bin", "V=" + tt.value}
			if !slices.Equal(got, want) {
				t.Errorf("round trip lost bytes: got %d entries, V of %d bytes, want %d", len(got), len(got[len(got)-1]), len(want[1]))
			}
			final := Apply([]string{"PATH=/usr/bin", "TERM=xterm"}, got)
			if !slices.Equal(final, []string{"PATH=/bin", "TERM=xterm", "V=" + tt.value}) {
				t.Errorf("Apply result differs")
			}
		})
	}
}
