package check

import (
	"testing"
)

// FuzzShebang runs the #! line parser on arbitrary lines: whatever the
// line, it must not panic, and every problem must be about line 1 of the
// script and say something.
func FuzzShebang(f *testing.F) {
	for _, seed := range []string{
		"/bin/sh", "/bin/sh -e", "/usr/bin/env sh", "/usr/bin/env -S sh -e", "/usr/bin/env sh -e",
		"/usr/bin/with-env sh", "", " \t", "/bin/sh\r", "bin/sh", "/../../bin/sh", "/usr/bin/env -i A=1",
	} {
		f.Add(seed)
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, line string) {
		c := &checker{im: image{root: root}, pathDirs: []string{"/usr/bin"}, pathFrom: "PATH /usr/bin"}
		c.shebang("/s", []byte(line))
		for _, p := range c.out {
			if p.Path != "/s" || p.Line != 1 || p.Msg == "" {
				t.Errorf("shebang(%q) reported %+v", line, p)
			}
		}
	})
}
