package docgen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/config"
)

// TestKnobReference: docs/reference/knobs.md is what pkg/config's knob table generates.
func TestKnobReference(t *testing.T) {
	Check(t, "docs/reference/knobs.md", Knobs(config.Reference()))
}

// TestKnobsPage: the page has one row per knob, each knob named once, its default and its
// s6-overlay name in it, and a '|' in a description escaped.
func TestKnobsPage(t *testing.T) {
	ks := config.Reference()
	page := Knobs(ks)
	for _, k := range ks {
		if n := strings.Count(page, "| `"+k.Name+"` |"); n != 1 {
			t.Errorf("%s: %d rows, want one", k.Name, n)
		}
	}
	row := Knobs([]config.KnobDoc{{Name: "IGNITY_X", Default: "2", OverlayDefault: "0", Alias: "S6_X", Unit: "flag", Range: "0 or 1", Doc: "a | b"}})
	want := "| `IGNITY_X` | `2` (`0` in the s6-overlay layout) | flag | 0 or 1 | a \\| b | — | `S6_X` |\n"
	if !strings.Contains(row, want) {
		t.Errorf("row:\n%s\nwant %q", row, want)
	}
}

// TestAppletsPage: a usage line's synopsis and description go to their columns.
func TestAppletsPage(t *testing.T) {
	page := Applets([]Applet{{"health", "health: exit 0 when all is well"}, {"odd", "odd"}})
	for _, want := range []string{"| `health` | `health` | exit 0 when all is well |\n", "| `odd` | `odd` |  |\n"} {
		if !strings.Contains(page, want) {
			t.Errorf("page:\n%s\nwant %q", page, want)
		}
	}
}

// TestCheckStale: Check fails on a page that differs from what is generated, and passes on
// the same bytes.
func TestCheckStale(t *testing.T) {
	t.Setenv("IGNITY_DOCS_WRITE", "")
	var ft fakeT
	ft.TB = t
	Check(&ft, "internal/docgen/testdata/page.md", "one\ntwo\n")
	if ft.failed {
		t.Errorf("Check failed on a page equal to its generation: %s", ft.msg)
	}
	ft = fakeT{TB: t}
	Check(&ft, "internal/docgen/testdata/page.md", "one\nthree\n")
	if !ft.failed || !strings.Contains(ft.msg, "stale") || !strings.Contains(ft.msg, `"three"`) {
		t.Errorf("Check on a stale page: failed %v, %q", ft.failed, ft.msg)
	}
}

// fakeT records Errorf instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Errorf(format string, a ...any) {
	f.failed = true
	f.msg += fmtS(format, a...)
}

func (f *fakeT) Helper() {}

func fmtS(format string, a ...any) string { return fmt.Sprintf(format, a...) }
